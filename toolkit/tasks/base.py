"""What every task shares: the hooks the runner calls that most tasks leave as they are."""

from __future__ import annotations

from typing import Any

import pandas as pd


class Task:
    """Base class: a task turns a backbone into a model and knows its data, loss and exports."""

    # Validation is carved out of train stratified by this column (None: a plain random split).
    stratify_column: str | None = "label"

    def feature_arguments(self) -> dict[str, Any]:
        """Constructor arguments the task gives its feature extractor or tokenizer."""
        return {}

    def adapt(self, features, train: pd.DataFrame) -> None:
        """Fit what the features learn from training data (e.g. a vocabulary); none by default."""

    def register_layers(self) -> None:
        """Import the modules of the task's own layers so saved models can be loaded."""

    def validation_callbacks(self, valid: pd.DataFrame, batch_size: int) -> list:
        """Callbacks that score the validation split beyond Keras metrics (span F1, WER)."""
        return []
