"""tf.data pipelines for speech recognition: utterances of any length with their label ids.

Training batches are drawn from length buckets (`bucket_by_sequence_length`) so an utterance
is padded only up to others of similar length; evaluation keeps the given order.

An utterance's bucket follows from its length as recorded, known before training, not from its
length after speed perturbation: the number of batches per epoch is then fixed and known to
Keras (steps shown as i/N, no "input ran out of data" warning after the last, shorter batches).
"""

from __future__ import annotations

from collections.abc import Sequence

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


def bucket_ids(lengths: Sequence[int], boundaries: list[int]) -> np.ndarray:
    """Each length's bucket as `bucket_by_sequence_length` assigns it: the number of boundaries
    at or below it."""
    return np.searchsorted(np.asarray(boundaries), np.asarray(lengths), side="right")


def bucketed_batches(lengths: Sequence[int], boundaries: list[int], batch_size: int) -> int:
    """Batches in one pass: every bucket ends with its own partial batch."""
    counts = np.bincount(bucket_ids(lengths, boundaries), minlength=len(boundaries) + 1)
    return int(sum(-(-int(count) // batch_size) for count in counts))


def recorded_lengths(paths: list[str], sample_rate: int) -> np.ndarray:
    """Lengths in samples at `sample_rate`, from the files' headers."""
    from toolkit.audio.io import audio_info

    lengths = []
    for path in paths:
        info = audio_info(path)
        lengths.append(round(info.frames * sample_rate / info.sample_rate))
    return np.asarray(lengths, dtype=np.int64)


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
    lengths: Sequence[int] | None = None,
) -> tf.data.Dataset:
    """({"waveforms": [batch, samples], "lengths": [batch]}, label ids [batch, labels]) batches.

    Labels are padded with 0, the CTC blank, which the loss reads as "no label". Training
    batches come from the length buckets that `boundaries` (in samples) delimit, by `lengths`
    (in samples at `sample_rate`; read from the files' headers when not given).
    """
    bucketing = training and bool(boundaries)
    if bucketing and lengths is None:
        lengths = recorded_lengths(paths, sample_rate)
    waveforms = decode_files(paths, sample_rate)
    labels = tf.data.Dataset.from_tensor_slices(
        tf.ragged.constant([list(ids) for ids in label_ids], dtype=tf.int32, ragged_rank=1)
    )
    # The bucketing key of each utterance travels with it through shuffling and augmentation.
    keys = tf.data.Dataset.from_tensor_slices(
        np.asarray(lengths if bucketing else np.zeros(len(paths)), dtype=np.int32)
    )
    dataset = tf.data.Dataset.zip((waveforms, labels, keys))
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)
        if augment is not None:
            bank = None if noise_bank is None else tf.constant(noise_bank, dtype=tf.float32)
            factors = [float(f) for f in augment.speed_factors]

            def perturb(example, example_seed):
                waveform, ids, key = example
                speed_seed, other_seed = waveform_augment.split_seed(example_seed, 2)
                if factors != [1.0]:
                    waveform = waveform_augment.random_speed_choice(waveform, factors, speed_seed)
                return augment_waveform(waveform, augment, sample_rate, bank, other_seed), ids, key

            dataset = tf.data.Dataset.zip((dataset, example_seeds(seed))).map(
                perturb, num_parallel_calls=tf.data.AUTOTUNE
            )
    dataset = dataset.map(
        lambda waveform, ids, key: (waveform, tf.shape(waveform)[0], ids, key),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if bucketing:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda waveform, length, ids, key: key,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padding_values=(0.0, 0, 0, 0),
        )
        dataset = dataset.apply(
            tf.data.experimental.assert_cardinality(
                bucketed_batches(lengths, boundaries, batch_size)
            )
        )
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=(0.0, 0, 0, 0))
    dataset = dataset.map(
        lambda waveform, length, ids, key: ({"waveforms": waveform, "lengths": length}, ids),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
