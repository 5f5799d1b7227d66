"""What every task shares: the hooks the runner calls that most tasks leave as they are."""

from __future__ import annotations

from typing import Any

import pandas as pd


def single_label_loss(label_smoothing: float, classes: int):
    """Cross-entropy on label ids, with label smoothing when asked for."""
    import keras

    if label_smoothing <= 0:
        return keras.losses.SparseCategoricalCrossentropy()
    from toolkit.losses import SmoothedSparseCategoricalCrossentropy

    return SmoothedSparseCategoricalCrossentropy(classes, label_smoothing)


class Task:
    """Base class: a task turns a backbone into a model and knows its data, loss and exports."""

    # Validation is carved out of train stratified by this column (None: a plain random split).
    stratify_column: str | None = "label"
    # Whether the model always sees the same input shape (per batch size) in the exported
    # endpoints; only then is it worth compiling with XLA (`export.jit_compile`).
    fixed_input_shapes: bool = False
    # Whether the model's output is class probabilities that several trained models can
    # average (`train.ensemble`).
    averages_members: bool = False

    def feature_arguments(self) -> dict[str, Any]:
        """Constructor arguments the task gives its feature extractor or tokenizer."""
        return {}

    def check_augment(self, augment: dict[str, Any], features) -> None:
        """Raise ValueError for an `augment` setting the model could not be built with; runs
        before any data is read. Audio tasks build their feature augmentation layers from it."""
        from toolkit.config import AudioAugmentConfig

        if issubclass(self.augment_config, AudioAugmentConfig):
            from toolkit.audio.augment import feature_augmentation_layers

            feature_augmentation_layers(augment, features)

    def adapt(self, features, train: pd.DataFrame) -> None:
        """Fit what the features learn from training data (e.g. a vocabulary); none by default."""

    def prepare_training(
        self, splits: dict[str, pd.DataFrame], run_dir, augment: dict[str, Any]
    ) -> list[dict]:
        """Once the model is built: leave out rows it cannot learn from and write what
        training needs beside the model; returns the rows left out (for skipped.csv)."""
        return []

    def register_layers(self) -> None:
        """Import the modules of the task's own layers so saved models can be loaded."""

    def validation_callbacks(self, valid: pd.DataFrame, batch_size: int) -> list:
        """Callbacks that score the validation split beyond Keras metrics (span F1, WER)."""
        return []
