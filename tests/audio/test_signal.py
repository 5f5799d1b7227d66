"""In-graph waveform ops agree with their NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
import tensorflow as tf

from toolkit.audio import io
from toolkit.audio.signal import mix_down, pad_or_crop, resample


@pytest.mark.parametrize("length", [16, 17])
@pytest.mark.parametrize("current", [5, 6, 16, 17, 30, 31])
def test_pad_or_crop_matches_numpy(current, length):
    waveform = np.arange(1, current + 1, dtype=np.float32)
    batch = np.stack([waveform, -waveform])
    expected = io.pad_or_crop(waveform, length)

    np.testing.assert_array_equal(pad_or_crop(tf.constant(waveform), length).numpy(), expected)
    np.testing.assert_array_equal(
        pad_or_crop(tf.constant(batch), length).numpy(), np.stack([expected, -expected])
    )


def test_pad_or_crop_in_graph_with_unknown_length():
    graph_op = tf.function(
        lambda waveforms: pad_or_crop(waveforms, 12),
        input_signature=[tf.TensorSpec([None, None], tf.float32)],
    )
    for current in (3, 12, 20):
        batch = np.random.default_rng(current).standard_normal((2, current)).astype(np.float32)
        result = graph_op(tf.constant(batch))
        np.testing.assert_array_equal(result.numpy(), io.pad_or_crop(batch, 12))
    assert graph_op.get_concrete_function().structured_outputs.shape.as_list() == [None, 12]


def _sine(sample_rate: int, samples: int, frequency: float = 440.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(samples) / sample_rate)).astype(
        np.float32
    )


@pytest.mark.parametrize("samples", [8000, 8001])
def test_resample_8k_to_16k_matches_soxr(samples):
    waveform = _sine(8000, samples)
    graph_op = tf.function(
        lambda waveform, input_rate: resample(waveform, input_rate, 16000),
        input_signature=[tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int32)],
    )

    result = graph_op(tf.constant(waveform), tf.constant(8000)).numpy()
    reference = soxr.resample(waveform, 8000, 16000, quality="HQ")

    assert result.shape == (round(samples * 16000 / 8000),)
    assert np.max(np.abs(result[800:-800] - reference[800:-800])) < 0.02


def test_resample_down_keeps_tone():
    waveform = _sine(16000, 16000)

    result = resample(tf.constant(waveform), 16000, 8000).numpy()

    assert result.shape == (8000,)
    reference = soxr.resample(waveform, 16000, 8000, quality="HQ")
    assert np.max(np.abs(result[400:-400] - reference[400:-400])) < 0.02


def test_resample_length_rounds_half_to_even():
    # Like Python's round(); the clip is stretched by under half a sample to fit.
    assert resample(tf.zeros([16001]), 16000, 8000).shape == (round(16001 / 2),)
    assert resample(tf.zeros([3]), 16000, 8000).shape == (2,)


def test_resample_equal_rates_is_identity():
    waveform = _sine(16000, 1000)
    np.testing.assert_array_equal(resample(tf.constant(waveform), 16000, 16000).numpy(), waveform)
    same_rate_at_run_time = resample(tf.constant(waveform), tf.constant(16000), 16000)
    np.testing.assert_array_equal(same_rate_at_run_time.numpy(), waveform)


def test_mix_down_averages_channels():
    stereo = np.array([[1.0, 3.0], [0.0, -2.0]], np.float32)
    np.testing.assert_array_equal(mix_down(tf.constant(stereo)).numpy(), [2.0, -1.0])
