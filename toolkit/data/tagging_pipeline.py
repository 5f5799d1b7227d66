"""tf.data pipeline for tagging: token strings padded with "", tag ids padded with -1."""

from __future__ import annotations

import tensorflow as tf


def tagging_dataset(
    sentences: list[list[str]],
    tag_ids: list[list[int]] | None,
    batch_size: int,
    training: bool,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `[batch, longest]` tokens (and tag ids); shuffled every epoch when training."""
    tokens = tf.ragged.constant(sentences, dtype=tf.string)
    if tag_ids is None:
        data = tf.data.Dataset.from_tensor_slices(tokens)
    else:
        data = tf.data.Dataset.from_tensor_slices(
            (tokens, tf.ragged.constant(tag_ids, dtype=tf.int32))
        )
    if training:
        data = data.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)

    def pad(tokens, tags=None):
        padded = tokens.to_tensor(default_value="")
        if tags is None:
            return padded
        return padded, tags.to_tensor(default_value=-1)

    return data.map(pad, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
