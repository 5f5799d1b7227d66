"""Losses and metrics for tagging (tags padded with -1)."""

from __future__ import annotations

import keras
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
