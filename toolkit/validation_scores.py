"""A callback that adds scores Keras metrics cannot compute (WER, span F1) to each epoch's logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras


class ValidationScores(keras.callbacks.Callback):
    """Calls `score(model)` after every epoch and adds what it returns ({"val_wer": ...}) to
    the logs. Checkpoints, early stopping and the CSV log read those, so it must come before
    them in the callback list."""

    def __init__(self, score: Callable[[Any], dict[str, float]]):
        super().__init__()
        self.score = score

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        scores = self.score(self.model)
        if logs is not None:
            logs.update(scores)
