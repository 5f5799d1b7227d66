"""TensorFlow graph ops on waveforms, for tf.data pipelines and exported SavedModels.

Every op accepts dynamic lengths so that one traced graph serves clips of any duration.
"""

from __future__ import annotations

import tensorflow as tf


def pad_or_crop(waveforms: tf.Tensor, length: int) -> tf.Tensor:
    """Center-crop longer clips or zero-pad shorter ones (split evenly) to `length` samples.

    Works on the last axis of [n] or [batch, n]; same result as `toolkit.audio.io.pad_or_crop`.
    """
    waveforms = tf.convert_to_tensor(waveforms)
    current = tf.shape(waveforms)[-1]
    start = tf.maximum(current - length, 0) // 2
    cropped = waveforms[..., start : start + length]
    missing = tf.maximum(length - current, 0)
    before = missing // 2
    rank = tf.rank(waveforms)
    paddings = tf.concat([tf.zeros([rank - 1, 2], tf.int32), [[before, missing - before]]], axis=0)
    result = tf.pad(cropped, paddings)
    # The slice and pad hide the now-known length from shape inference; restore it.
    result.set_shape(waveforms.shape[:-1].concatenate([length]))
    return result


def mix_down(waveform: tf.Tensor) -> tf.Tensor:
    """Average the channels of a [n, channels] waveform into [n]."""
    return tf.reduce_mean(waveform, axis=-1)


def _fft_resample(waveform: tf.Tensor, input_rate: tf.Tensor, output_rate: tf.Tensor) -> tf.Tensor:
    """Band-limited resampling by truncating or zero-padding the spectrum (as scipy.signal.resample)."""
    input_length = tf.shape(waveform)[0]
    output_length = tf.cast(
        tf.round(
            tf.cast(input_length, tf.float64)
            * tf.cast(output_rate, tf.float64)
            / tf.cast(input_rate, tf.float64)
        ),
        tf.int32,
    )
    spectrum = tf.signal.rfft(waveform)
    shared_length = tf.minimum(input_length, output_length)
    kept_bins = shared_length // 2 + 1
    kept = spectrum[:kept_bins]
    # With an even shared length the last kept bin is a Nyquist bin on one side only: its
    # energy is split in two when upsampling and folded back when downsampling.
    nyquist_factor = tf.where(output_length < input_length, tf.constant(2.0), tf.constant(0.5))
    nyquist_factor = tf.where(
        tf.logical_and(shared_length % 2 == 0, output_length != input_length),
        nyquist_factor,
        1.0,
    )
    is_nyquist = tf.equal(tf.range(kept_bins), shared_length // 2)
    bin_scale = tf.where(is_nyquist, nyquist_factor, 1.0)
    kept = kept * tf.cast(bin_scale, spectrum.dtype)
    output_bins = output_length // 2 + 1
    kept = tf.pad(kept, [[0, output_bins - kept_bins]])
    resampled = tf.signal.irfft(kept, fft_length=[output_length])
    scale = tf.cast(output_length, tf.float32) / tf.cast(input_length, tf.float32)
    return resampled * scale


def resample(
    waveform: tf.Tensor, input_rate: int | tf.Tensor, output_rate: int | tf.Tensor
) -> tf.Tensor:
    """Resample a 1-D float32 waveform; `input_rate` may be a run-time scalar tensor.

    FFT resampling treats the clip as periodic, so the first and last few milliseconds
    can differ from a polyphase resampler such as soxr; the rest matches closely.
    """
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    if isinstance(input_rate, int) and isinstance(output_rate, int):
        if input_rate <= 0 or output_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {input_rate} and {output_rate}")
        if input_rate == output_rate:
            return waveform
    input_rate = tf.cast(input_rate, tf.int32)
    output_rate = tf.cast(output_rate, tf.int32)
    unchanged = tf.logical_or(tf.equal(input_rate, output_rate), tf.equal(tf.size(waveform), 0))
    return tf.cond(
        unchanged,
        lambda: waveform,
        lambda: _fft_resample(waveform, input_rate, output_rate),
    )
