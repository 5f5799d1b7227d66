"""Reading and writing audio files on the NumPy side (no TensorFlow import here)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import soundfile
import soxr

from toolkit.errors import DataError

SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg")


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding the samples."""

    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def _check_path(path: str | os.PathLike) -> str:
    """Reject missing, unsupported and 0-byte files before libsndfile sees them."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: audio file not found")
    extension = os.path.splitext(path)[1].lower()
    if extension not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise DataError(f"{path}: unsupported audio format {extension!r} (use {supported})")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: empty audio file (0 bytes)")
    return path


def _one_line(error: Exception) -> str:
    # libsndfile messages sometimes span lines; the CLI prints one line per error.
    return " ".join(str(error).split())


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of an audio file."""
    path = _check_path(path)
    try:
        info = soundfile.info(path)
    except Exception as error:  # libsndfile raises several types for corrupt files
        raise DataError(f"{path}: cannot read audio header ({_one_line(error)})") from error
    if info.frames <= 0:
        raise DataError(f"{path}: empty audio file (0 frames)")
    if info.subtype in FLOAT_SUBTYPES:
        # Only float samples can be NaN, infinite or far outside [-1, 1]: read them all.
        try:
            samples, _ = soundfile.read(path, dtype="float64", always_2d=True)
        except Exception as error:
            raise DataError(f"{path}: cannot decode audio ({_one_line(error)})") from error
        check_samples(path, samples)
    return AudioInfo(
        sample_rate=int(info.samplerate), channels=int(info.channels), frames=int(info.frames)
    )


# Float WAVs hold samples in [-1, 1]; a peak this far above is unscaled data (PCM values
# written as floats, or garbage), whose squares overflow float32 in the features.
MAX_FLOAT_PEAK = 1000.0
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


def check_samples(path: str | os.PathLike, samples: np.ndarray) -> None:
    """DataError for samples that are NaN, infinite or far outside [-1, 1]."""
    if not np.all(np.isfinite(samples)):
        raise DataError(f"{path}: audio contains NaN or infinite samples")
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > MAX_FLOAT_PEAK:
        raise DataError(
            f"{path}: samples reach {peak:.3g}; float audio must lie within [-1, 1] "
            "(unscaled values written as float?)"
        )


def read_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Decode a file to a mono float32 waveform at `sample_rate`."""
    path = _check_path(path)
    try:
        samples, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as error:
        raise DataError(f"{path}: cannot decode audio ({_one_line(error)})") from error
    if samples.shape[0] == 0:
        raise DataError(f"{path}: empty audio file (0 frames)")
    check_samples(path, samples)
    waveform = samples.mean(axis=1, dtype=np.float32)
    if file_rate != sample_rate:
        waveform = soxr.resample(waveform, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(waveform, dtype=np.float32)


def pad_or_crop(waveform: np.ndarray, length: int) -> np.ndarray:
    """Center-crop a longer clip or zero-pad a shorter one (split evenly) to `length`.

    Reference for `toolkit.audio.signal.pad_or_crop`; works on the last axis.
    """
    waveform = np.asarray(waveform)
    current = waveform.shape[-1]
    if current >= length:
        start = (current - length) // 2
        return waveform[..., start : start + length]
    before = (length - current) // 2
    after = length - current - before
    padding = [(0, 0)] * (waveform.ndim - 1) + [(before, after)]
    return np.pad(waveform, padding)


def write_wav(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> None:
    """Write a mono [n] or multichannel [n, channels] waveform as 16-bit PCM WAV."""
    soundfile.write(os.fspath(path), np.asarray(waveform), sample_rate, subtype="PCM_16")
