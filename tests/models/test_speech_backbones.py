"""Speech backbones on padded batches: lengths, invariance to padding, configs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from toolkit.models.deepspeech2 import DeepSpeech2
from toolkit.models.quartznet import QuartzNet

BACKBONES = {
    "deepspeech2": lambda: DeepSpeech2(
        num_features=16,
        conv_filters=[4, 4],
        conv_kernel_sizes=[[5, 5], [3, 3]],
        conv_strides=[[2, 2], [2, 1]],
        rnn_units=8,
        rnn_layers=2,
    ),
    "quartznet": lambda: QuartzNet(
        num_features=16,
        prolog_channels=8,
        prolog_kernel_size=5,
        block_channels=[8, 12],
        block_kernel_sizes=[5, 7],
        block_repeats=2,
        epilog_channels=12,
        epilog_kernel_size=9,
        final_channels=16,
    ),
}


def padded_batch(lengths: list[int], width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    batch = np.zeros((len(lengths), max(lengths), width), dtype=np.float32)
    for row, length in enumerate(lengths):
        batch[row, :length] = rng.normal(size=(length, width))
    return batch


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_an_utterance_gives_the_same_output_alone_or_padded_in_a_batch(name):
    backbone = BACKBONES[name]()
    lengths = [9, 23, 16]
    batch = padded_batch(lengths, 16)
    outputs, out_lengths = backbone(tf.constant(batch), lengths=tf.constant(lengths))
    expected = [backbone.output_length(n) for n in lengths]
    assert out_lengths.numpy().tolist() == expected
    assert outputs.shape[1] == backbone.output_length(max(lengths))
    assert outputs.shape[2] == backbone.output_channels
    for row, length in enumerate(lengths):
        alone, _ = backbone(
            tf.constant(batch[row : row + 1, :length]), lengths=tf.constant([length])
        )
        np.testing.assert_allclose(outputs[row, : expected[row]], alone[0], atol=1e-5)
        assert np.all(outputs[row, expected[row] :].numpy() == 0)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_config_round_trip(name):
    backbone = BACKBONES[name]()
    rebuilt = type(backbone).from_config(backbone.get_config())
    assert rebuilt.get_config() == backbone.get_config()


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="odd"):
        QuartzNet(num_features=16, prolog_kernel_size=4)
    with pytest.raises(ValueError, match="one entry per convolution"):
        DeepSpeech2(
            num_features=16,
            conv_filters=[4],
            conv_kernel_sizes=[[3, 3], [3, 3]],
            conv_strides=[[1, 1]],
        )
    with pytest.raises(ValueError, match="rnn_type"):
        DeepSpeech2(num_features=16, rnn_type="rnn")
