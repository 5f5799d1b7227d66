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


# Bytes of a canonical WAV header ("RIFF" size "WAVE" "fmt " ...); bits per sample at 34.
WAV_HEADER_BYTES = 44
PCM, EXTENSIBLE = 1, 0xFFFE


def decode_wav(contents: tf.Tensor, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """`tf.audio.decode_wav` of item `index` (from 0) of a `wav_bytes` batch, after checks whose
    failure names the item and what is wrong with it (decode_wav's own errors name neither):
    bytes that are not a WAV file, and samples other than 16-bit PCM, which it cannot read."""
    item = tf.strings.format("wav_bytes item {}", index + 1)
    padded = tf.strings.join([contents, tf.constant("\0" * WAV_HEADER_BYTES)])

    def field(start: int, length: int) -> tf.Tensor:
        return tf.strings.substr(padded, start, length)

    def number(start: int) -> tf.Tensor:
        return tf.cast(
            tf.io.decode_raw(field(start, 2), tf.uint16, little_endian=True)[0], tf.int32
        )

    # decode_wav takes the format chunk only right after the RIFF header, and its error for
    # anything else quotes the bytes it found, which Python then fails to decode as text
    # (a UnicodeDecodeError instead of the error): such bytes are refused here first.
    is_wav = tf.reduce_all(
        [
            tf.strings.length(contents) >= WAV_HEADER_BYTES,
            tf.equal(field(0, 4), "RIFF"),
            tf.equal(field(8, 4), "WAVE"),
            tf.equal(field(12, 4), "fmt "),
        ]
    )
    not_wav = tf.debugging.Assert(
        is_wav,
        [
            tf.strings.join(
                [
                    item,
                    ": not a WAV file (no RIFF/WAVE/fmt header: empty, cut short or other bytes)",
                ]
            )
        ],
    )
    with tf.control_dependencies([not_wav]):
        audio_format, bits = number(20), number(34)
        readable = tf.logical_and(
            tf.logical_or(tf.equal(audio_format, PCM), tf.equal(audio_format, EXTENSIBLE)),
            tf.equal(bits, 16),
        )
        message = tf.strings.join(
            [
                item,
                tf.strings.format(
                    ": {}-bit samples (WAV format {}); this signature reads 16-bit PCM WAV: convert "
                    "the file, or decode it and call serving_default with float waveforms",
                    [bits, audio_format],
                ),
            ]
        )
        not_16_bit = tf.debugging.Assert(readable, [message])
    with tf.control_dependencies([not_16_bit]):
        # A data chunk right after the format chunk (the usual layout) must hold the bytes it
        # declares: a file cut short says so (decode_wav: "Data too short ...").
        size = tf.strings.length(contents)
        start = 20 + tf.cast(long_number(field(16, 4)), tf.int32)
        within = start + 8 <= size
        chunk = tf.strings.substr(padded, tf.minimum(start, size), 8)
        declared = tf.cast(long_number(tf.strings.substr(chunk, 4, 4)), tf.int64)
        whole = tf.logical_or(
            tf.logical_not(
                tf.logical_and(within, tf.equal(tf.strings.substr(chunk, 0, 4), "data"))
            ),
            tf.cast(start + 8, tf.int64) + declared <= tf.cast(size, tf.int64),
        )
        cut_short = tf.debugging.Assert(
            whole,
            [
                tf.strings.join(
                    [
                        item,
                        tf.strings.format(
                            ": a WAV file cut short (its data chunk declares {} bytes; {} are there)",
                            [declared, tf.cast(size, tf.int64) - tf.cast(start + 8, tf.int64)],
                        ),
                    ]
                )
            ],
        )
    with tf.control_dependencies([cut_short]):
        audio, rate = tf.audio.decode_wav(contents)
    return audio, rate


def long_number(four_bytes: tf.Tensor) -> tf.Tensor:
    """A little-endian unsigned 32-bit field, as int64."""
    parts = tf.cast(tf.io.decode_raw(four_bytes, tf.uint8), tf.int64)
    return parts[0] + parts[1] * 256 + parts[2] * 65536 + parts[3] * 16777216
