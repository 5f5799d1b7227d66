"""tf.data pipelines that decode audio files in parallel, augment waveforms and batch them."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from toolkit.audio import augment as waveform_augment
from toolkit.audio import signal
from toolkit.audio.io import read_audio
from toolkit.config import AudioAugmentConfig


def decode_files(paths: list[str], sample_rate: int) -> tf.data.Dataset:
    """A dataset of 1-D float32 waveforms at `sample_rate`, decoded in parallel by soundfile."""

    def load(path: bytes) -> np.ndarray:
        return read_audio(path.decode("utf-8"), sample_rate)

    def decode(path: tf.Tensor) -> tf.Tensor:
        waveform = tf.numpy_function(load, [path], tf.float32, stateful=False)
        waveform.set_shape([None])
        return waveform

    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(paths), dtype=tf.string))
    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def augment_waveform(
    waveform: tf.Tensor,
    augment: AudioAugmentConfig,
    sample_rate: int,
    noise_bank: tf.Tensor | None,
    seed: tf.Tensor | None = None,
    clip_samples: int | None = None,
) -> tf.Tensor:
    """Speed, gain, background noise and a time shift on one waveform (training only); `seed`
    (int [2]) makes every draw stateless, so a seeded run repeats exactly.

    The shift moves the clip inside the model's window of `clip_samples` (the clip is padded
    or cropped to it first) or, without a window, inside the clip extended by the largest
    shift on both sides. Either way no speech is cut off: shifting a short word inside its
    own length would drop up to the whole shift from one end of it.
    """
    speed_seed, shift_seed, gain_seed, noise_seed, apply_seed = waveform_augment.split_seed(seed, 5)
    speed_min, speed_max = augment.speed_range
    if speed_min != 1.0 or speed_max != 1.0:
        waveform = waveform_augment.random_speed(waveform, speed_min, speed_max, speed_seed)
    gain_min, gain_max = augment.gain_db_range
    if gain_min != 0.0 or gain_max != 0.0:
        waveform = waveform_augment.random_gain(waveform, gain_min, gain_max, gain_seed)
    if noise_bank is not None and augment.noise_probability > 0:
        snr_min, snr_max = augment.noise_snr_db_range
        noisy = waveform_augment.mix_noise(waveform, noise_bank, snr_min, snr_max, noise_seed)
        apply = waveform_augment.uniform_draw(0.0, 1.0, apply_seed) < augment.noise_probability
        waveform = tf.cond(apply, lambda: noisy, lambda: waveform)
    max_shift = int(round(augment.time_shift_ms * sample_rate / 1000))
    if max_shift > 0:
        if clip_samples is None:
            waveform = tf.pad(waveform, [[max_shift, max_shift]])
        else:
            waveform = signal.pad_or_crop(waveform, clip_samples)
        waveform = waveform_augment.random_time_shift(waveform, max_shift, shift_seed)
    return waveform


def example_seeds(seed: int) -> tf.data.Dataset:
    """An endless dataset of int64 [2] seeds, one per example, new each epoch but the same
    sequence in every run with this `seed`."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


def classification_dataset(
    paths: list[str],
    label_ids: np.ndarray,
    sample_rate: int,
    clip_samples: int,
    batch_size: int,
    training: bool,
    augment: AudioAugmentConfig | None = None,
    noise_bank: np.ndarray | None = None,
    cache: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """(waveform [batch, clip_samples], label id [batch]) batches for audio classification."""
    waveforms = decode_files(paths, sample_rate)
    labels = tf.data.Dataset.from_tensor_slices(np.asarray(label_ids, dtype=np.int32))
    dataset = tf.data.Dataset.zip((waveforms, labels))
    if cache:
        # Decoding and resampling happen once; augmentation stays random every epoch.
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)
        bank = None if noise_bank is None else tf.constant(noise_bank, dtype=tf.float32)
        if augment is not None:
            dataset = tf.data.Dataset.zip((dataset, example_seeds(seed))).map(
                lambda example, example_seed: (
                    augment_waveform(
                        example[0], augment, sample_rate, bank, example_seed, clip_samples
                    ),
                    example[1],
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
    dataset = dataset.map(
        lambda waveform, label: (signal.pad_or_crop(waveform, clip_samples), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
