"""Log-mel and MFCC feature layers computed inside the graph with tf.signal.

The filterbank follows librosa's formulas (written out here in NumPy, so the layer does not
depend on librosa) and the framing follows `librosa.stft(center=True, pad_mode="constant")`,
so features match the librosa reference in `toolkit.audio.reference`.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

MEL_SCALES = ("slaney", "htk")
# "utterance": each band standardised over the clip; "peak": the clip's loudest value subtracted
# from all, so features do not change with recording level or with how much silence pads the
# clip, and the spectral shape is kept; "none": log energies as they are.
NORMALIZATIONS = ("utterance", "peak", "none")

# Floor of the per-bin standard deviation (log units). Bands with almost no energy (silence, or
# above the Nyquist frequency of 8 kHz audio in a 16 kHz model) vary only by float round-off;
# dividing by their tiny spread would blow that noise up to unit-size features.
_MINIMUM_STD = 1.0
# librosa.power_to_db's default floor, so MFCCs agree on near-silent frames.
_POWER_FLOOR = 1e-10


def _limit_range(log_mel: tf.Tensor, log_range: float) -> tf.Tensor:
    """Raise every value of each [frames, bins] example to at least its maximum - `log_range`.

    Recordings differ most in their quietest parts (digital silence, hiss, dither), which log
    features magnify; a floor relative to each clip's peak hides those differences.
    """
    peak = tf.reduce_max(log_mel, axis=[-2, -1], keepdims=True)
    return tf.maximum(log_mel, peak - log_range)


def frame_lengths(
    sample_rate: int, window_ms: float, hop_ms: float, fft_length: int | None
) -> tuple[int, int, int]:
    """Return (window_length, hop_length, fft_length) in samples for the given settings."""
    window_length = int(round(sample_rate * window_ms / 1000.0))
    hop_length = int(round(sample_rate * hop_ms / 1000.0))
    if window_length < 1 or hop_length < 1:
        raise ValueError(
            f"window_ms={window_ms} and hop_ms={hop_ms} must each cover at least one sample "
            f"at {sample_rate} Hz"
        )
    if fft_length is None:
        fft_length = 1 << (window_length - 1).bit_length()
    if fft_length < window_length:
        raise ValueError(f"fft_length={fft_length} is shorter than the window ({window_length})")
    return window_length, hop_length, int(fft_length)


def _hz_to_mel(frequencies: np.ndarray, mel_scale: str) -> np.ndarray:
    frequencies = np.asarray(frequencies, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + frequencies / 700.0)
    # Slaney: linear below 1 kHz, logarithmic above.
    linear_step = 200.0 / 3
    log_start_hz = 1000.0
    log_start_mel = log_start_hz / linear_step
    log_step = math.log(6.4) / 27.0
    mels = frequencies / linear_step
    above = frequencies >= log_start_hz
    mels[above] = log_start_mel + np.log(frequencies[above] / log_start_hz) / log_step
    return mels


def _mel_to_hz(mels: np.ndarray, mel_scale: str) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    linear_step = 200.0 / 3
    log_start_hz = 1000.0
    log_start_mel = log_start_hz / linear_step
    log_step = math.log(6.4) / 27.0
    frequencies = mels * linear_step
    above = mels >= log_start_mel
    frequencies[above] = log_start_hz * np.exp(log_step * (mels[above] - log_start_mel))
    return frequencies


def mel_filterbank(
    sample_rate: int,
    fft_length: int,
    num_mel_bins: int,
    fmin: float,
    fmax: float,
    mel_scale: str,
) -> np.ndarray:
    """Triangular mel filters as a [fft_length // 2 + 1, num_mel_bins] float32 matrix.

    Same as `librosa.filters.mel(..., htk=mel_scale == "htk", norm="slaney" or None)`,
    transposed so that spectrogram @ filterbank gives mel energies.
    """
    fft_frequencies = np.fft.rfftfreq(fft_length, d=1.0 / sample_rate)
    edges = _mel_to_hz(
        np.linspace(
            _hz_to_mel(np.array([fmin]), mel_scale)[0],
            _hz_to_mel(np.array([fmax]), mel_scale)[0],
            num_mel_bins + 2,
        ),
        mel_scale,
    )
    widths = np.diff(edges)
    distances = edges[:, None] - fft_frequencies[None, :]
    weights = np.zeros((num_mel_bins, fft_frequencies.size), dtype=np.float64)
    for index in range(num_mel_bins):
        rising = -distances[index] / widths[index]
        falling = distances[index + 2] / widths[index + 1]
        weights[index] = np.maximum(0.0, np.minimum(rising, falling))
    if mel_scale == "slaney":
        # Area normalisation: each filter integrates to the same energy.
        weights *= (2.0 / (edges[2 : num_mel_bins + 2] - edges[:num_mel_bins]))[:, None]
    return weights.T.astype(np.float32)


def _periodic_hann(window_length: int, fft_length: int) -> np.ndarray:
    """Periodic Hann window centred in fft_length samples, as librosa's stft builds it."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window_length) / window_length)
    before = (fft_length - window_length) // 2
    return np.pad(window, (before, fft_length - window_length - before)).astype(np.float32)


@keras.saving.register_keras_serializable(package="toolkit")
class LogMelSpectrogram(keras.layers.Layer):
    """[batch, samples] waveforms to [batch, frames, num_mel_bins] log-mel features."""

    def __init__(
        self,
        sample_rate: int = 16000,
        window_ms: float = 25.0,
        hop_ms: float = 10.0,
        fft_length: int | None = None,
        num_mel_bins: int = 40,
        fmin: float = 20.0,
        fmax: float | None = None,
        mel_scale: str = "slaney",
        log_offset: float = 1e-6,
        center: bool = True,
        normalization: str = "utterance",
        top_db: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if top_db is not None and not top_db > 0:
            raise ValueError(f"top_db must be positive or None, got {top_db}")
        if mel_scale not in MEL_SCALES:
            raise ValueError(f"mel_scale must be one of {MEL_SCALES}, got {mel_scale!r}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}"
            )
        nyquist = sample_rate / 2.0
        upper = nyquist if fmax is None else fmax
        if not 0.0 <= fmin < upper <= nyquist:
            raise ValueError(
                f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}, "
                f"sample_rate={sample_rate}"
            )
        self.sample_rate = int(sample_rate)
        self.window_ms = float(window_ms)
        self.hop_ms = float(hop_ms)
        self.fft_length_setting = fft_length
        self.num_mel_bins = int(num_mel_bins)
        self.fmin = float(fmin)
        self.fmax = fmax
        self.mel_scale = mel_scale
        self.log_offset = float(log_offset)
        self.center = bool(center)
        self.normalization = normalization
        self.top_db = None if top_db is None else float(top_db)
        self.window_length, self.frame_step, self.fft_length = frame_lengths(
            self.sample_rate, self.window_ms, self.hop_ms, fft_length
        )
        # Constants derived from the config, rebuilt on load rather than saved as weights.
        self._window = _periodic_hann(self.window_length, self.fft_length)
        self._filterbank = mel_filterbank(
            self.sample_rate, self.fft_length, self.num_mel_bins, self.fmin, upper, mel_scale
        )

    @property
    def input_dtype(self) -> str:
        # Keep waveforms in float32 under mixed precision: float16 loses quiet samples.
        return "float32"

    @property
    def num_features(self) -> int:
        """Feature size of each output frame."""
        return self.num_mel_bins

    def derived_sizes(self) -> dict[str, int]:
        """What the backbone is built with: the size of each frame."""
        return {"num_features": self.num_features}

    def num_frames(self, num_samples: int) -> int:
        """Number of output frames for a clip of `num_samples` samples."""
        padded = num_samples + 2 * (self.fft_length // 2) if self.center else num_samples
        # Clips shorter than one window are zero-padded to one frame.
        return 1 + max(padded - self.fft_length, 0) // self.frame_step

    def _log_mel(self, mel: tf.Tensor) -> tf.Tensor:
        log_mel = tf.math.log(mel + self.log_offset)
        if self.top_db is None:
            return log_mel
        return _limit_range(log_mel, self.top_db * math.log(10.0) / 10.0)

    def _mel_energies(self, waveforms: tf.Tensor) -> tf.Tensor:
        if self.center:
            half = self.fft_length // 2
            waveforms = tf.pad(waveforms, [[0, 0], [half, half]])
        # Short clips: pad to one full window so every clip yields at least one frame.
        missing = tf.maximum(self.fft_length - tf.shape(waveforms)[1], 0)
        waveforms = tf.pad(waveforms, [[0, 0], [0, missing]])
        frames = tf.signal.frame(waveforms, self.fft_length, self.frame_step)
        spectrum = tf.signal.rfft(frames * self._window)
        # |X|^2 through ComplexAbs: the one consumer of an FFT that the ONNX converter
        # (tf2onnx) translates; LiteRT has it too. Same values as re^2 + im^2 to float
        # round-off.
        power = tf.math.square(tf.math.abs(spectrum))
        return tf.tensordot(power, self._filterbank, axes=1)

    def frame_lengths(self, lengths: tf.Tensor) -> tf.Tensor:
        """Frames of each utterance of `lengths` samples (the graph form of `num_frames`)."""
        lengths = tf.cast(lengths, tf.int32)
        padded = lengths + 2 * (self.fft_length // 2) if self.center else lengths
        return 1 + tf.maximum(padded - self.fft_length, 0) // self.frame_step

    def _normalize(self, features: tf.Tensor, valid: tf.Tensor | None) -> tf.Tensor:
        if self.normalization == "none":
            return features
        if self.normalization == "peak":
            # Zero padding sits at the floor, so the peak is the utterance's own.
            return features - tf.reduce_max(features, axis=[1, 2], keepdims=True)
        if valid is None:
            mean = tf.reduce_mean(features, axis=1, keepdims=True)
            std = tf.math.reduce_std(features, axis=1, keepdims=True)
        else:
            # Statistics over each utterance's own frames, not the batch padding.
            count = tf.maximum(tf.reduce_sum(valid, axis=1, keepdims=True), 1.0)
            mean = tf.reduce_sum(features * valid, axis=1, keepdims=True) / count
            variance = tf.reduce_sum(tf.square(features - mean) * valid, axis=1, keepdims=True)
            std = tf.sqrt(variance / count)
        return (features - mean) / tf.maximum(std, _MINIMUM_STD)

    def call(self, inputs: tf.Tensor, lengths: tf.Tensor | None = None):
        """Features; given `lengths` (samples per utterance of a padded batch), also each
        utterance's frame count, with statistics taken and padded frames zeroed per utterance."""
        waveforms = tf.cast(inputs, tf.float32)
        features = self._log_mel(self._mel_energies(waveforms))
        if lengths is None:
            return tf.cast(self._normalize(features, None), self.compute_dtype)
        frames = self.frame_lengths(lengths)
        valid = tf.sequence_mask(frames, tf.shape(features)[1], dtype=tf.float32)[..., None]
        features = self._normalize(features, valid) * valid
        return tf.cast(features, self.compute_dtype), frames

    def compute_output_shape(self, inputs_shape: tuple, lengths_shape: tuple | None = None):
        samples = inputs_shape[-1]
        frames = None if samples is None else self.num_frames(samples)
        shape = (inputs_shape[0], frames, self.num_features)
        return shape if lengths_shape is None else (shape, tuple(lengths_shape))

    def compute_output_spec(self, inputs, lengths=None):
        # Frame counts are int32 (compute_output_shape alone would give them the float dtype).
        features = keras.KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)
        if lengths is None:
            return features
        return features, keras.KerasTensor(lengths.shape, "int32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "window_ms": self.window_ms,
                "hop_ms": self.hop_ms,
                "fft_length": self.fft_length_setting,
                "num_mel_bins": self.num_mel_bins,
                "fmin": self.fmin,
                "fmax": self.fmax,
                "mel_scale": self.mel_scale,
                "log_offset": self.log_offset,
                "center": self.center,
                "normalization": self.normalization,
                "top_db": self.top_db,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="toolkit")
class MFCC(LogMelSpectrogram):
    """[batch, samples] waveforms to [batch, frames, num_coefficients] MFCCs.

    Mel energies in dB (as librosa.power_to_db with amin=1e-10), then an orthonormal DCT-II
    over the mel axis; `log_offset` is unused because the dB floor plays its role.
    """

    def __init__(self, num_coefficients: int = 13, **kwargs):
        super().__init__(**kwargs)
        if self.normalization == "peak":
            # A cepstrum has no peak to subtract: level sits in the first coefficient alone.
            raise ValueError(
                "normalization='peak' is for log-mel features; use 'utterance' or 'none'"
            )
        if not 1 <= num_coefficients <= self.num_mel_bins:
            raise ValueError(
                f"num_coefficients must be between 1 and num_mel_bins={self.num_mel_bins}, "
                f"got {num_coefficients}"
            )
        self.num_coefficients = int(num_coefficients)

    @property
    def num_features(self) -> int:
        return self.num_coefficients

    def _log_mel(self, mel: tf.Tensor) -> tf.Tensor:
        decibels = 10.0 * tf.math.log(tf.maximum(mel, _POWER_FLOOR)) / math.log(10.0)
        if self.top_db is not None:
            decibels = _limit_range(decibels, self.top_db)
        return tf.signal.dct(decibels, type=2, norm="ortho")[..., : self.num_coefficients]

    def get_config(self) -> dict:
        config = super().get_config()
        config["num_coefficients"] = self.num_coefficients
        return config
