"""Losses the tasks need that Keras does not ship in that form."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="toolkit")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer label ids with label smoothing, which Keras' sparse loss lacks.

    Per example, so class weights and sample weights apply as with Keras' own losses; a
    class (not a closure) so that checkpoints load with `compile=True`.
    """

    def __init__(
        self,
        classes: int,
        label_smoothing: float = 0.1,
        name: str = "smoothed_sparse_categorical_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.classes = int(classes)
        self.label_smoothing = float(label_smoothing)

    def call(self, true_ids, probabilities):
        one_hot = keras.ops.one_hot(
            keras.ops.cast(keras.ops.reshape(true_ids, [-1]), "int32"), self.classes
        )
        return keras.losses.categorical_crossentropy(
            one_hot, probabilities, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"classes": self.classes, "label_smoothing": self.label_smoothing})
        return config
