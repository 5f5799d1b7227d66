"""Reading audio files: formats, mix-down, resampling and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import soxr

from toolkit.audio.io import AudioInfo, audio_info, pad_or_crop, read_audio, write_wav
from toolkit.errors import DataError


def _sine(sample_rate: int, seconds: float = 0.5, frequency: float = 440.0) -> np.ndarray:
    time = np.arange(int(sample_rate * seconds)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * frequency * time)).astype(np.float32)


@pytest.mark.parametrize(
    ("extension", "subtype", "tolerance"),
    [(".wav", "PCM_16", 1e-4), (".flac", "PCM_16", 1e-4), (".ogg", "VORBIS", 0.05)],
)
def test_reads_each_supported_format(tmp_path, extension, subtype, tolerance):
    waveform = _sine(16000)
    path = tmp_path / f"tone{extension}"
    soundfile.write(path, waveform, 16000, subtype=subtype)

    samples = read_audio(path, 16000)

    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.shape == waveform.shape
    assert np.max(np.abs(samples - waveform)) < tolerance
    info = audio_info(path)
    assert info == AudioInfo(sample_rate=16000, channels=1, frames=waveform.size)
    assert info.duration == pytest.approx(0.5)


def test_stereo_is_mixed_down_by_mean(tmp_path):
    left = _sine(16000, frequency=440.0)
    right = _sine(16000, frequency=880.0)
    path = tmp_path / "stereo.wav"
    write_wav(path, np.stack([left, right], axis=1), 16000)

    samples = read_audio(path, 16000)

    assert audio_info(path).channels == 2
    assert samples.shape == left.shape
    np.testing.assert_allclose(samples, (left + right) / 2, atol=1e-4)


def test_resamples_8k_to_16k(tmp_path):
    waveform = _sine(8000, seconds=1.0)
    path = tmp_path / "narrowband.wav"
    write_wav(path, waveform, 8000)

    samples = read_audio(path, 16000)

    assert samples.shape == (16000,)
    expected = soxr.resample(soundfile.read(path, dtype="float32")[0], 8000, 16000, quality="HQ")
    np.testing.assert_allclose(samples, expected, atol=1e-6)
    # Away from the edges it is the same 440 Hz tone at the new rate.
    np.testing.assert_allclose(samples[800:-800], _sine(16000, 1.0)[800:-800], atol=0.01)


def _bad_file(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "missing.wav"
    if kind == "empty":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
    elif kind == "garbage":
        path = tmp_path / "garbage.wav"
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "mp3":
        path = tmp_path / "song.mp3"
        path.write_bytes(b"ID3" + bytes(100))
    elif kind == "no_frames":
        path = tmp_path / "no_frames.wav"
        soundfile.write(path, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage", "mp3", "no_frames"])
@pytest.mark.parametrize("reader", [audio_info, lambda path: read_audio(path, 16000)])
def test_bad_files_raise_data_error_naming_the_file(tmp_path, kind, reader):
    path = _bad_file(tmp_path, kind)

    with pytest.raises(DataError) as raised:
        reader(path)

    message = str(raised.value)
    assert path.name in message
    assert "\n" not in message


def test_non_finite_samples_raise_data_error(tmp_path):
    waveform = _sine(16000)
    waveform[100] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, waveform, 16000, subtype="FLOAT")

    with pytest.raises(DataError, match="nan.wav"):
        read_audio(path, 16000)


@pytest.mark.parametrize("length", [7, 8, 10, 13])
def test_pad_or_crop_centers(length):
    waveform = np.arange(1, 11, dtype=np.float32)

    result = pad_or_crop(waveform, length)

    assert result.shape == (length,)
    if length <= 10:
        start = (10 - length) // 2
        np.testing.assert_array_equal(result, waveform[start : start + length])
    else:
        before = (length - 10) // 2
        np.testing.assert_array_equal(result[before : before + 10], waveform)
        assert np.count_nonzero(result) == 10
