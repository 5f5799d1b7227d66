"""Training-time augmentation: SpecAugment on features, and waveform ops for tf.data.

The waveform functions take ONE unbatched 1-D float32 waveform and use only TensorFlow
ops, so they run inside `Dataset.map` in graph mode. Given `seed` (an int [2] tensor, one
per example, e.g. from `tf.data.Dataset.random`), their draws are stateless and so the same
whatever order parallel map calls run in; without it they use TensorFlow's global generator.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from toolkit.audio.io import SUPPORTED_EXTENSIONS, read_audio
from toolkit.config import AudioAugmentConfig
from toolkit.errors import DataError

# Keeps RMS ratios finite for silent clips and silent noise.
_EPSILON = 1e-8


def _band_mask(
    batch: tf.Tensor, size: tf.Tensor, count: int, max_width: int, seed_generator
) -> tf.Tensor:
    """[batch, size] boolean mask, True inside `count` random bands per example."""
    if count == 0 or max_width == 0:
        return tf.zeros([batch, size], tf.bool)
    shape = tf.stack([batch, count])
    # Widths in [0, min(max_width, size)] and starts such that the band fits in `size`.
    limit = tf.cast(tf.minimum(max_width, size) + 1, tf.float32)
    draw = keras.random.uniform(shape, seed=seed_generator)
    widths = tf.minimum(tf.cast(tf.floor(draw * limit), tf.int32), tf.minimum(max_width, size))
    room = tf.cast(size - widths + 1, tf.float32)
    draw = keras.random.uniform(shape, seed=seed_generator)
    starts = tf.minimum(tf.cast(tf.floor(draw * room), tf.int32), size - widths)
    positions = tf.range(size)[None, None, :]
    inside = (positions >= starts[..., None]) & (positions < (starts + widths)[..., None])
    return tf.reduce_any(inside, axis=1)


@keras.saving.register_keras_serializable(package="toolkit")
class SpecAugment(keras.layers.Layer):
    """Zero random time and frequency bands of [batch, frames, features] during training.

    Zero is the mean of normalized features, so masked regions carry no information.
    Identity at inference, so it vanishes from exported models.
    """

    def __init__(
        self,
        time_masks: int = 2,
        time_mask_max: int = 10,
        frequency_masks: int = 2,
        frequency_mask_max: int = 5,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("time_masks", time_masks),
            ("time_mask_max", time_mask_max),
            ("frequency_masks", frequency_masks),
            ("frequency_mask_max", frequency_mask_max),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.time_masks = int(time_masks)
        self.time_mask_max = int(time_mask_max)
        self.frequency_masks = int(frequency_masks)
        self.frequency_mask_max = int(frequency_mask_max)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not training:
            return inputs
        shape = tf.shape(inputs)
        batch, frames, features = shape[0], shape[1], shape[2]
        time_mask = _band_mask(
            batch, frames, self.time_masks, self.time_mask_max, self.seed_generator
        )
        frequency_mask = _band_mask(
            batch, features, self.frequency_masks, self.frequency_mask_max, self.seed_generator
        )
        masked = time_mask[:, :, None] | frequency_mask[:, None, :]
        return tf.where(masked, tf.zeros_like(inputs), inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "time_masks": self.time_masks,
                "time_mask_max": self.time_mask_max,
                "frequency_masks": self.frequency_masks,
                "frequency_mask_max": self.frequency_mask_max,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="toolkit")
class FrequencyWarp(keras.layers.Layer):
    """Stretch or squeeze the mel axis of [batch, frames, bins] features during training.

    Each example draws a factor in [1 - max_warp, 1 + max_warp]. Bin positions below
    `boundary` of the axis scale by it, and a straight line joins the boundary to the top bin,
    so the whole axis stays covered: a tempo-free form of vocal tract length perturbation
    (Jaitly & Hinton 2013), which moves formants the way a longer or shorter vocal tract does.
    Values between bins are interpolated linearly. Identity at inference.
    """

    def __init__(
        self, max_warp: float = 0.1, boundary: float = 0.8, seed: int | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        if not 0.0 <= max_warp < 0.5:
            raise ValueError(f"frequency_warp must be in [0, 0.5), got {max_warp}")
        if not 0.0 < boundary < 1.0:
            raise ValueError(f"boundary must be in (0, 1), got {boundary}")
        self.max_warp = float(max_warp)
        self.boundary = float(boundary)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not training or self.max_warp == 0.0:
            return inputs
        batch, bins = tf.shape(inputs)[0], tf.shape(inputs)[2]
        top = tf.cast(bins - 1, tf.float32)
        factor = 1.0 + self.max_warp * (
            2.0 * keras.random.uniform([batch, 1], seed=self.seed_generator) - 1.0
        )
        # Output bin y reads the input at `source(y)`: y / factor up to the boundary, then
        # a line to the top bin. A factor above 1 moves content up the axis.
        output = tf.range(bins, dtype=tf.float32)[None, :]
        knee = self.boundary * top
        below = output / factor
        above = knee / factor + (output - knee) * (top - knee / factor) / tf.maximum(
            top - knee, 1e-6
        )
        source = tf.clip_by_value(tf.where(output <= knee, below, above), 0.0, top)
        lower = tf.cast(tf.floor(source), tf.int32)
        upper = tf.minimum(lower + 1, bins - 1)
        fraction = tf.cast(source - tf.floor(source), inputs.dtype)[:, None, :]
        low_values = tf.gather(inputs, lower, axis=2, batch_dims=1)
        high_values = tf.gather(inputs, upper, axis=2, batch_dims=1)
        return low_values + fraction * (high_values - low_values)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"max_warp": self.max_warp, "boundary": self.boundary, "seed": self.seed})
        return config


def feature_augmentation_layers(augment: AudioAugmentConfig, features) -> list[keras.layers.Layer]:
    """The recipe's training-only feature augmentations, in order: the mel-axis warp, then
    SpecAugment masks (so masked bands stay exactly zero). Raises ValueError naming the
    `augment` setting that cannot be used."""
    from toolkit.audio.features import MFCC

    layers = []
    try:
        if augment.frequency_warp:
            if isinstance(features, MFCC):
                raise ValueError(
                    "frequency_warp stretches the mel axis, so it needs log_mel features; "
                    "set it to 0 with mfcc"
                )
            layers.append(FrequencyWarp(augment.frequency_warp, name="frequency_warp"))
        if augment.time_masks or augment.frequency_masks:
            layers.append(
                SpecAugment(
                    time_masks=augment.time_masks,
                    time_mask_max=augment.time_mask_max,
                    frequency_masks=augment.frequency_masks,
                    frequency_mask_max=augment.frequency_mask_max,
                    name="spec_augment",
                )
            )
    except ValueError as error:
        raise ValueError(f"augment: {error}") from None
    return layers


def augment_features(hidden, augment: AudioAugmentConfig, features) -> tf.Tensor:
    """`feature_augmentation_layers` applied to a symbolic Keras tensor of features."""
    for layer in feature_augmentation_layers(augment, features):
        hidden = layer(hidden)
    return hidden


def uniform_draw(
    minval, maxval, seed: tf.Tensor | None, dtype: tf.DType = tf.float32, shape=()
) -> tf.Tensor:
    """A uniform draw in [minval, maxval): stateless given a seed."""
    if seed is None:
        return tf.random.uniform(shape, minval, maxval, dtype=dtype)
    return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)


def split_seed(seed: tf.Tensor | None, count: int) -> list[tf.Tensor | None]:
    """`count` independent seeds from one (or `count` Nones without one)."""
    if seed is None:
        return [None] * count
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=count))


def random_time_shift(
    waveform: tf.Tensor, max_shift: int, seed: tf.Tensor | None = None
) -> tf.Tensor:
    """Shift by a uniform integer in [-max_shift, max_shift] samples, filling with zeros."""
    if max_shift <= 0:
        return waveform
    shift = uniform_draw(-max_shift, max_shift + 1, seed, tf.int32)
    length = tf.shape(waveform)[0]
    padded = tf.pad(waveform, [[max_shift, max_shift]])
    # A positive shift delays the clip: read the padded copy from further left.
    start = max_shift - shift
    shifted = padded[start : start + length]
    shifted.set_shape(waveform.shape)
    return shifted


def random_speed(
    waveform: tf.Tensor, min_factor: float, max_factor: float, seed: tf.Tensor | None = None
) -> tf.Tensor:
    """Play faster or slower by a factor drawn uniformly in [min_factor, max_factor]."""
    if not 0 < min_factor <= max_factor:
        raise ValueError(f"need 0 < min_factor <= max_factor, got {min_factor}, {max_factor}")
    return change_speed(waveform, uniform_draw(min_factor, max_factor, seed, tf.float64))


def random_speed_choice(
    waveform: tf.Tensor, factors: list[float], seed: tf.Tensor | None = None
) -> tf.Tensor:
    """Play at one of `factors` (e.g. 0.9, 1.0, 1.1: Kaldi-style speed perturbation)."""
    if not factors or min(factors) <= 0:
        raise ValueError(f"speed factors must be positive, got {factors}")
    choice = uniform_draw(0, len(factors), seed, tf.int32)
    return change_speed(waveform, tf.gather(tf.constant(factors, tf.float64), choice))


def change_speed(waveform: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """Tempo and pitch together, by linear interpolation; output length is round(n / factor)."""
    factor = tf.cast(factor, tf.float64)
    length = tf.shape(waveform)[0]
    output_length = tf.maximum(tf.cast(tf.round(tf.cast(length, tf.float64) / factor), tf.int32), 1)
    # Positions span the whole input so the first and last samples are kept.
    positions = tf.cast(tf.range(output_length), tf.float64) * (
        tf.cast(length, tf.float64) / tf.cast(output_length, tf.float64)
    )
    positions = tf.minimum(positions, tf.cast(tf.maximum(length - 1, 0), tf.float64))
    lower = tf.cast(tf.floor(positions), tf.int32)
    upper = tf.minimum(lower + 1, length - 1)
    fraction = tf.cast(positions - tf.floor(positions), waveform.dtype)
    return (1.0 - fraction) * tf.gather(waveform, lower) + fraction * tf.gather(waveform, upper)


def random_gain(
    waveform: tf.Tensor, min_db: float, max_db: float, seed: tf.Tensor | None = None
) -> tf.Tensor:
    """Scale by a gain drawn uniformly in [min_db, max_db] decibels."""
    gain_db = uniform_draw(min_db, max_db, seed) if max_db > min_db else tf.constant(min_db)
    return waveform * tf.cast(tf.pow(10.0, gain_db / 20.0), waveform.dtype)


def _rms(waveform: tf.Tensor) -> tf.Tensor:
    return tf.sqrt(tf.reduce_mean(tf.square(waveform)))


def mix_noise(
    waveform: tf.Tensor,
    noise_bank: tf.Tensor,
    min_snr_db: float,
    max_snr_db: float,
    seed: tf.Tensor | None = None,
) -> tf.Tensor:
    """Add a random crop of `noise_bank` at an SNR drawn uniformly in [min_snr_db, max_snr_db].

    A silent clip gets (almost) no noise rather than NaN: the SNR is relative to its RMS.
    """
    noise_bank = tf.convert_to_tensor(noise_bank, waveform.dtype)
    if noise_bank.shape.rank != 1 or noise_bank.shape[0] == 0:
        raise ValueError(f"noise_bank must be a non-empty 1-D tensor, got shape {noise_bank.shape}")
    start_seed, snr_seed = split_seed(seed, 2)
    length = tf.shape(waveform)[0]
    bank_length = tf.shape(noise_bank)[0]
    # Tile a short bank so that every start position has `length` samples after it.
    tiled = tf.tile(noise_bank, [length // bank_length + 1])
    start = uniform_draw(0, tf.shape(tiled)[0] - length + 1, start_seed, tf.int32)
    noise = tiled[start : start + length]
    if max_snr_db > min_snr_db:
        snr_db = uniform_draw(min_snr_db, max_snr_db, snr_seed)
    else:
        snr_db = tf.constant(min_snr_db, tf.float32)
    target_rms = _rms(waveform) / tf.cast(tf.pow(10.0, snr_db / 20.0), waveform.dtype)
    return waveform + noise * (target_rms / (_rms(noise) + _EPSILON))


def _unit_rms(samples: np.ndarray) -> np.ndarray:
    return samples / np.sqrt(np.mean(np.square(samples), dtype=np.float64))


def _colored_noise(rng: np.random.Generator, length: int, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1 / f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.fft.rfftfreq(length)
    frequencies[0] = frequencies[1] if length > 1 else 1.0
    spectrum *= frequencies ** (-exponent / 2.0)
    spectrum[0] = 0.0  # no DC offset
    return _unit_rms(np.fft.irfft(spectrum, n=length))


def load_noise_bank(
    folder: str | os.PathLike | None, sample_rate: int, seconds: float = 60.0, seed: int = 0
) -> np.ndarray:
    """A 1-D float32 noise signal for `mix_noise`.

    With a folder: every supported audio file under it (sorted, recursive), each scaled to
    unit RMS, concatenated. Without: `seconds` of synthetic white, pink and brown noise in
    equal parts, each at unit RMS, deterministic given `seed`.
    """
    if folder is None:
        rng = np.random.default_rng(seed)
        part = max(int(round(seconds * sample_rate / 3)), 2)
        parts = [_colored_noise(rng, part, exponent) for exponent in (0.0, 1.0, 2.0)]
        return np.concatenate(parts).astype(np.float32)
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: noise folder not found")
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS
    )
    clips = []
    for path in paths:
        samples = read_audio(path, sample_rate)
        # Silent files would divide by zero and add nothing anyway.
        if np.sqrt(np.mean(np.square(samples))) > _EPSILON:
            clips.append(_unit_rms(samples))
    if not clips:
        extensions = ", ".join(SUPPORTED_EXTENSIONS)
        raise DataError(f"{folder}: no non-silent audio files ({extensions}) found for noise")
    return np.concatenate(clips).astype(np.float32)
