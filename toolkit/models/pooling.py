"""Attention pooling: a learned weighted average over time.

Each frame is scored by a small feed-forward layer (tanh, then one linear unit); the softmax
of the scores over time weights the average. A clip padded with silence to a fixed length is
then summarised by the frames that carry the word, where a plain mean gives every padded frame
the same say as a spoken one.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from toolkit.models.validation import positive_int


@keras.saving.register_keras_serializable(package="toolkit")
class AttentionPooling(layers.Layer):
    """`[batch, time, channels]` → `[batch, channels]`: softmax-weighted average over time.

    Args:
        units: Width of the tanh layer that scores each frame.
    """

    def __init__(self, units: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = positive_int(units, "units")
        self.hidden = layers.Dense(
            self.units, activation="tanh", name="score_hidden", dtype=self.dtype_policy
        )
        self.score = layers.Dense(1, use_bias=False, name="score", dtype=self.dtype_policy)

    def build(self, input_shape) -> None:
        self.hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))
        self.built = True

    def call(self, sequence, mask=None):
        scores = ops.squeeze(self.score(self.hidden(sequence)), -1)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e4))
        # Softmax in float32 even under mixed precision: the scores of a long clip can overflow float16.
        weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        weights = ops.cast(ops.expand_dims(weights, -1), sequence.dtype)
        return ops.sum(weights * sequence, axis=1)

    def compute_output_shape(self, input_shape) -> tuple:
        return (input_shape[0], input_shape[-1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["units"] = self.units
        return config
