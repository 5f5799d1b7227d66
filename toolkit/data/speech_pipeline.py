"""tf.data pipelines for speech recognition: utterances of any length with their label ids.

Training batches are drawn from length buckets (`bucket_by_sequence_length`) so an utterance
is padded only up to others of similar length; evaluation keeps the given order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from toolkit.audio import augment as waveform_augment
from toolkit.config import SpeechAugmentConfig
from toolkit.data.audio_pipeline import augment_waveform, decode_files, example_seeds


def bucket_boundaries(lengths: np.ndarray, buckets: int) -> list[int]:
    """Boundaries (in samples) at quantiles of the training lengths, strictly increasing."""
    if len(lengths) == 0 or buckets < 2:
        return []
    quantiles = np.quantile(
        np.asarray(lengths, dtype=np.float64), np.linspace(0, 1, buckets + 1)[1:-1]
    )
    return sorted({int(value) + 1 for value in quantiles})


def speech_dataset(
    paths: list[str],
    label_ids: list[list[int]],
    sample_rate: int,
    batch_size: int,
    training: bool,
    augment: SpeechAugmentConfig | None = None,
    noise_bank: np.ndarray | None = None,
    cache: bool = True,
    seed: int = 0,
    boundaries: list[int] | None = None,
) -> tf.data.Dataset:
    """({"waveforms": [batch, samples], "lengths": [batch]}, label ids [batch, labels]) batches.

    Labels are padded with 0, the CTC blank, which the loss reads as "no label".
    """
    waveforms = decode_files(paths, sample_rate)
    labels = tf.data.Dataset.from_tensor_slices(
        tf.ragged.constant([list(ids) for ids in label_ids], dtype=tf.int32, ragged_rank=1)
    )
    dataset = tf.data.Dataset.zip((waveforms, labels))
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)
        if augment is not None:
            bank = None if noise_bank is None else tf.constant(noise_bank, dtype=tf.float32)
            factors = [float(f) for f in augment.speed_factors]

            def perturb(example, example_seed):
                waveform, ids = example
                speed_seed, other_seed = waveform_augment.split_seed(example_seed, 2)
                if factors != [1.0]:
                    waveform = waveform_augment.random_speed_choice(waveform, factors, speed_seed)
                return augment_waveform(waveform, augment, sample_rate, bank, other_seed), ids

            dataset = tf.data.Dataset.zip((dataset, example_seeds(seed))).map(
                perturb, num_parallel_calls=tf.data.AUTOTUNE
            )
    dataset = dataset.map(
        lambda waveform, ids: (waveform, tf.shape(waveform)[0], ids),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if training and boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda waveform, length, ids: length,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padding_values=(0.0, 0, 0),
        )
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=(0.0, 0, 0))
    dataset = dataset.map(
        lambda waveform, length, ids: ({"waveforms": waveform, "lengths": length}, ids),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
