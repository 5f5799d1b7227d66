"""Lengths through strided layers, and masks that keep batch padding out of convolutions.

Speech backbones read padded batches of utterances of different lengths. Convolutions pad
each side by half their (odd) kernel and padded frames are zeroed after every layer, so an
utterance gives the same output in any batch as on its own.
"""

from __future__ import annotations

import tensorflow as tf


class KeepsLengths:
    """Declares a backbone that takes `lengths=` (frames per utterance) and returns the
    lengths of its output: what speech recognition needs to align CTC labels."""

    def output_length(self, frames: int) -> int:
        """Output frames for an utterance of `frames` input frames."""
        raise NotImplementedError


def strided_length(length: int, stride: int) -> int:
    """Frames out of a symmetric-padded, odd-kernel convolution: ceil(length / stride)."""
    return (length - 1) // stride + 1 if length > 0 else 0


def strided_lengths(lengths: tf.Tensor, stride: int) -> tf.Tensor:
    """`strided_length` for a batch of lengths, in the graph."""
    return (lengths - 1) // stride + 1


def zero_padding(inputs: tf.Tensor, lengths: tf.Tensor | None) -> tf.Tensor:
    """`[batch, frames, ...]` with every frame at or past its utterance's length set to 0."""
    if lengths is None:
        return inputs
    mask = tf.sequence_mask(lengths, tf.shape(inputs)[1], dtype=inputs.dtype)
    return inputs * tf.reshape(
        mask, tf.concat([tf.shape(mask), tf.ones([inputs.shape.rank - 2], tf.int32)], 0)
    )


def odd_kernel(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer, received {value!r}")
    return value
