"""librosa versions of the feature layers, for parity tests and benchmarks.

They take the same settings as `LogMelSpectrogram` / `MFCC` (except normalization) and
return [frames, features] float32, one clip at a time.
"""

from __future__ import annotations

import librosa
import numpy as np

from toolkit.audio.features import frame_lengths


def _librosa_mel(
    waveform: np.ndarray,
    sample_rate: int,
    window_ms: float,
    hop_ms: float,
    fft_length: int | None,
    num_mel_bins: int,
    fmin: float,
    fmax: float | None,
    mel_scale: str,
    center: bool,
) -> np.ndarray:
    if mel_scale not in ("slaney", "htk"):
        raise ValueError(f"mel_scale must be 'slaney' or 'htk', got {mel_scale!r}")
    window_length, hop_length, fft_length = frame_lengths(
        sample_rate, window_ms, hop_ms, fft_length
    )
    return librosa.feature.melspectrogram(
        y=np.asarray(waveform, dtype=np.float32),
        sr=sample_rate,
        n_fft=fft_length,
        hop_length=hop_length,
        win_length=window_length,
        window="hann",
        center=center,
        pad_mode="constant",
        power=2.0,
        n_mels=num_mel_bins,
        fmin=fmin,
        fmax=fmax,
        htk=mel_scale == "htk",
        norm="slaney" if mel_scale == "slaney" else None,
    )


def librosa_log_mel(
    waveform: np.ndarray,
    sample_rate: int,
    window_ms: float = 25.0,
    hop_ms: float = 10.0,
    fft_length: int | None = None,
    num_mel_bins: int = 40,
    fmin: float = 20.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    log_offset: float = 1e-6,
    center: bool = True,
    top_db: float | None = None,
) -> np.ndarray:
    """Natural log of (mel power + log_offset), [frames, num_mel_bins]; with `top_db`, no value
    is more than that many decibels below the clip's maximum."""
    mel = _librosa_mel(
        waveform,
        sample_rate,
        window_ms,
        hop_ms,
        fft_length,
        num_mel_bins,
        fmin,
        fmax,
        mel_scale,
        center,
    )
    log_mel = np.log(mel + log_offset)
    if top_db is not None:
        log_mel = np.maximum(log_mel, log_mel.max() - top_db * np.log(10.0) / 10.0)
    return log_mel.T.astype(np.float32)


def librosa_mfcc(
    waveform: np.ndarray,
    sample_rate: int,
    num_coefficients: int = 13,
    window_ms: float = 25.0,
    hop_ms: float = 10.0,
    fft_length: int | None = None,
    num_mel_bins: int = 40,
    fmin: float = 20.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    log_offset: float = 1e-6,
    center: bool = True,
    top_db: float | None = None,
) -> np.ndarray:
    """MFCCs from mel power in dB (amin 1e-10, `top_db` below the peak), [frames, num_coefficients].

    `log_offset` is accepted so a layer's settings pass straight through; like in `MFCC`,
    the dB floor takes its place.
    """
    mel = _librosa_mel(
        waveform,
        sample_rate,
        window_ms,
        hop_ms,
        fft_length,
        num_mel_bins,
        fmin,
        fmax,
        mel_scale,
        center,
    )
    decibels = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=top_db)
    mfcc = librosa.feature.mfcc(S=decibels, n_mfcc=num_coefficients, dct_type=2, norm="ortho")
    return mfcc.T.astype(np.float32)
