"""Backbones: output shapes, time stride, config round trip, .keras save/load, validation."""

from __future__ import annotations

import json
import math
from typing import Any

import keras
import numpy as np
import pytest
import yaml

from toolkit.models.crnn import CRNN
from toolkit.models.ds_cnn import DSCNN
from toolkit.models.resnet import ResNet

NUM_FEATURES = 40
FRAME_COUNTS = [1, 7, 98, 99, 100, 101]

# (class, kwargs, expected time_stride, expected output channels); small sizes keep tests fast.
BACKBONES = [
    pytest.param(DSCNN, {}, 2, 64, id="ds_cnn-default"),
    pytest.param(
        DSCNN,
        {"filters": 8, "num_blocks": 3, "block_strides": [[2, 1], 1, [3, 2]]},
        12,
        8,
        id="ds_cnn-strided",
    ),
    pytest.param(CRNN, {"rnn_units": 16, "conv_filters": [4, 8]}, 2, 32, id="crnn-gru"),
    pytest.param(
        CRNN,
        {
            "conv_filters": [4, 4, 8],
            "conv_strides": [[2, 2], [3, 1], 1],
            "rnn_type": "lstm",
            "rnn_units": 8,
            "rnn_layers": 1,
            "projection_units": 16,
        },
        6,
        16,
        id="crnn-lstm-projection",
    ),
    pytest.param(ResNet, {"filters": 8, "num_blocks": 2}, 4, 8, id="resnet-pooled"),
    pytest.param(
        ResNet,
        {"filters": 6, "num_blocks": 4, "pool_size": [1, 1], "dilation_every": 2},
        1,
        6,
        id="resnet-dilated",
    ),
]


def _features(batch: int, frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, frames, NUM_FEATURES)).astype("float32")


def _classifier(backbone: keras.layers.Layer) -> keras.Model:
    """The tiny functional wrapper a task would build: features → backbone → pool → dense."""
    inputs = keras.Input(shape=(None, NUM_FEATURES))
    sequence = backbone(inputs)
    pooled = keras.layers.GlobalAveragePooling1D()(sequence)
    return keras.Model(inputs, keras.layers.Dense(3)(pooled))


@pytest.mark.parametrize(("cls", "kwargs", "time_stride", "channels"), BACKBONES)
def test_output_shape_follows_time_stride(
    cls: type, kwargs: dict[str, Any], time_stride: int, channels: int
) -> None:
    backbone = cls(num_features=NUM_FEATURES, **kwargs)
    assert backbone.time_stride == time_stride
    assert backbone.output_channels == channels
    for frames in FRAME_COUNTS:
        outputs = backbone(_features(2, frames))
        expected = (2, math.ceil(frames / time_stride), channels)
        assert tuple(outputs.shape) == expected, f"frames={frames}"
        assert backbone.compute_output_shape((2, frames, NUM_FEATURES)) == expected


@pytest.mark.parametrize(("cls", "kwargs", "time_stride", "channels"), BACKBONES)
def test_dynamic_time_axis(
    cls: type, kwargs: dict[str, Any], time_stride: int, channels: int
) -> None:
    backbone = cls(num_features=NUM_FEATURES, **kwargs)
    inputs = keras.Input(shape=(None, NUM_FEATURES))
    outputs = backbone(inputs)
    assert tuple(outputs.shape) == (None, None, channels)
    model = keras.Model(inputs, outputs)
    # One model, several clip lengths, including odd ones.
    for frames in (13, 100, 101):
        predicted = model.predict(_features(2, frames), verbose=0)
        assert predicted.shape == (2, math.ceil(frames / time_stride), channels)


@pytest.mark.parametrize(("cls", "kwargs", "time_stride", "channels"), BACKBONES)
def test_config_round_trip(
    cls: type, kwargs: dict[str, Any], time_stride: int, channels: int
) -> None:
    backbone = cls(num_features=NUM_FEATURES, **kwargs)
    config = backbone.get_config()
    assert cls.from_config(config).get_config() == config
    # A resolved recipe stores the config as YAML and the .keras file as JSON; both must
    # give back an equal config (so the config holds lists, never tuples).
    assert cls.from_config(yaml.safe_load(yaml.safe_dump(config))).get_config() == config
    assert cls.from_config(json.loads(json.dumps(config))).get_config() == config


@pytest.mark.parametrize(("cls", "kwargs", "time_stride", "channels"), BACKBONES)
def test_keras_save_load_gives_same_predictions(
    cls: type, kwargs: dict[str, Any], time_stride: int, channels: int, tmp_path: Any
) -> None:
    model = _classifier(cls(num_features=NUM_FEATURES, **kwargs))
    features = _features(3, 37, seed=1)
    # One training step moves BatchNorm statistics off their initial values, so the check
    # covers non-trainable weights too.
    model.compile(optimizer="adam", loss="mse")
    model.fit(features, np.ones((3, 3), "float32"), epochs=1, verbose=0)
    expected = model.predict(features, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(features, verbose=0), expected)
    assert isinstance(restored.layers[1], cls)
    assert restored.layers[1].get_config() == model.layers[1].get_config()


def test_tuple_and_list_arguments_agree() -> None:
    from_tuples = DSCNN(
        NUM_FEATURES, first_kernel_size=(10, 4), block_strides=((1, 1),) * 4, name="backbone"
    )
    from_lists = DSCNN(
        NUM_FEATURES, first_kernel_size=[10, 4], block_strides=[[1, 1]] * 4, name="backbone"
    )
    assert from_tuples.get_config() == from_lists.get_config()


@pytest.mark.parametrize(
    ("cls", "kwargs", "bad_value"),
    [
        (DSCNN, {"filters": -8}, "-8"),
        (DSCNN, {"num_blocks": -1}, "-1"),
        (DSCNN, {"first_kernel_size": [10, 4, 1]}, "[10, 4, 1]"),
        (DSCNN, {"first_strides": [2, 0]}, "[2, 0]"),
        (DSCNN, {"block_strides": [[2, 2]]}, "[[2, 2]]"),
        (DSCNN, {"dropout_rate": 1.5}, "1.5"),
        (DSCNN, {"l2": -0.1}, "-0.1"),
        (CRNN, {"rnn_type": "xyz"}, "'xyz'"),
        (CRNN, {"rnn_units": 0}, "0"),
        (CRNN, {"rnn_layers": 0}, "0"),
        (CRNN, {"conv_filters": [32, -64]}, "-64"),
        (CRNN, {"conv_filters": []}, "[]"),
        (CRNN, {"conv_strides": [[2, 2]]}, "[[2, 2]]"),
        (CRNN, {"dropout_rate": -0.2}, "-0.2"),
        (CRNN, {"projection_units": 0}, "0"),
        (ResNet, {"filters": 0}, "0"),
        (ResNet, {"num_blocks": -2}, "-2"),
        (ResNet, {"pool_size": [4, 0]}, "[4, 0]"),
        (ResNet, {"dilation_every": 0}, "0"),
        (ResNet, {"dropout_rate": 1.0}, "1.0"),
    ],
)
def test_invalid_parameters_name_the_value(
    cls: type, kwargs: dict[str, Any], bad_value: str
) -> None:
    with pytest.raises(ValueError, match="received") as error:
        cls(num_features=NUM_FEATURES, **kwargs)
    assert bad_value in str(error.value)


@pytest.mark.parametrize("cls", [DSCNN, CRNN, ResNet])
def test_invalid_num_features_and_mismatched_input(cls: type) -> None:
    with pytest.raises(ValueError, match="-40"):
        cls(num_features=-40)
    backbone = cls(num_features=NUM_FEATURES)
    with pytest.raises(ValueError, match="received input shape"):
        backbone(np.zeros((1, 10, NUM_FEATURES + 1), "float32"))


def test_default_parameter_counts() -> None:
    ds_cnn = DSCNN(NUM_FEATURES)
    ds_cnn.build((None, None, NUM_FEATURES))
    crnn = CRNN(NUM_FEATURES)
    crnn.build((None, None, NUM_FEATURES))
    print(f"DSCNN(num_features={NUM_FEATURES}) parameters: {ds_cnn.count_params()}")
    print(f"CRNN(num_features={NUM_FEATURES}) parameters: {crnn.count_params()}")
    # Hello Edge's DS-CNN with 64 filters is in the tens of thousands of weights.
    assert 20_000 <= ds_cnn.count_params() <= 40_000
    assert 300_000 <= crnn.count_params() <= 2_000_000
    # The linear projection is there to shrink the first recurrent layer.
    projected = CRNN(NUM_FEATURES, projection_units=128)
    projected.build((None, None, NUM_FEATURES))
    assert projected.count_params() < crnn.count_params()
    # res8 (45 channels, 3 blocks) has about 110k weights in Tang & Lin's table.
    res8 = ResNet(NUM_FEATURES)
    res8.build((None, None, NUM_FEATURES))
    assert 100_000 <= res8.count_params() <= 120_000


def test_resnet_dilation_doubles_every_n_blocks() -> None:
    backbone = ResNet(NUM_FEATURES, filters=4, num_blocks=6, dilation_every=3)
    assert [backbone.dilation(block) for block in range(6)] == [1, 1, 1, 2, 2, 2]
    assert backbone.convs[-1].dilation_rate == (2, 2)
    assert ResNet(NUM_FEATURES, filters=4).convs[-1].dilation_rate == (1, 1)


def test_l2_adds_regularization_losses() -> None:
    backbone = DSCNN(NUM_FEATURES, filters=8, num_blocks=2, l2=1e-4)
    backbone(_features(1, 20))
    # First conv, then a depthwise and a pointwise kernel per block.
    assert len(backbone.losses) == 1 + 2 * 2


@pytest.mark.parametrize("rows", [7, 8, 9, 10])
@pytest.mark.parametrize("stride", [2, 3])
def test_same_padding_subsample_matches_a_strided_depthwise_convolution(rows, stride):
    # Unequal strides take this path; equal ones, which TensorFlow's kernel accepts, check it.
    from toolkit.models.ds_cnn import same_padding_subsample

    inputs = np.random.default_rng(rows).normal(size=(2, rows, rows + 3, 4)).astype("float32")
    dense = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)
    strided = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)
    dense.build(inputs.shape)
    strided.build(inputs.shape)
    strided.set_weights(dense.get_weights())
    expected = keras.ops.convert_to_numpy(strided(inputs))
    subsampled = same_padding_subsample(dense(inputs), (stride, stride), (3, 3))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(subsampled), expected, atol=1e-5)
