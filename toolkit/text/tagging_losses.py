"""Losses, metrics and the per-epoch validation score for tagging (tags padded with -1)."""

from __future__ import annotations

import keras
import pandas as pd
from keras import ops


def masked_sparse_crossentropy(tag_ids, probabilities):
    """Per sentence, the summed cross-entropy of its real tokens (padding, tag -1, adds
    nothing): the softmax counterpart of the CRF's sentence negative log-likelihood."""
    tag_ids = ops.cast(tag_ids, "int32")
    mask = ops.cast(ops.greater_equal(tag_ids, 0), probabilities.dtype)
    losses = keras.losses.sparse_categorical_crossentropy(ops.maximum(tag_ids, 0), probabilities)
    return ops.sum(losses * mask, axis=-1)


def token_accuracy(tag_ids, scores):
    """Per sentence, the share of real tokens whose best-scoring tag is right (before any
    CRF decoding; the validation F1 decodes properly)."""
    tag_ids = ops.cast(tag_ids, "int32")
    mask = ops.cast(ops.greater_equal(tag_ids, 0), "float32")
    right = ops.cast(ops.equal(ops.cast(ops.argmax(scores, axis=-1), "int32"), tag_ids), "float32")
    return ops.sum(right * mask, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1.0)


class ValidationScore(keras.callbacks.Callback):
    """Decodes the validation split after every epoch and adds `val_f1` (span F1, or token
    accuracy for tags without a scheme) to the logs, where checkpoints and early stopping
    read it. It must come before them in the callback list."""

    def __init__(self, task, valid: pd.DataFrame, batch_size: int):
        super().__init__()
        self.task = task
        self.sentences = list(valid["tokens"])
        self.truth = list(valid["tags"])
        self.batch_size = batch_size

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        predicted = self.task.predict_tags(self.model, self.sentences, self.batch_size)
        metrics = self.task.score(self.truth, predicted)
        if logs is not None:
            logs["val_f1"] = metrics["f1"]
