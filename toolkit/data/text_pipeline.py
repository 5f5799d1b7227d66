"""tf.data pipelines for text: strings go into the model as they are (it tokenizes them)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def text_dataset(
    texts: np.ndarray, targets: np.ndarray | None, batch_size: int, training: bool, seed: int = 0
) -> tf.data.Dataset:
    """Batches of raw strings (and targets); shuffled every epoch when training.

    Strings go through `from_tensor_slices`, since Keras cannot fit on NumPy string arrays.
    """
    strings = np.asarray(texts, dtype=object).astype(str)
    data = tf.data.Dataset.from_tensor_slices(strings if targets is None else (strings, targets))
    if training:
        data = data.shuffle(len(strings), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
