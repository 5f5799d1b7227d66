"""Convolutional recurrent backbone: a small Conv2D front end, then bidirectional GRU/LSTM.

Features `[batch, frames, num_features]` are treated as a one-channel image. Each convolution
(Conv2D → BatchNorm → ReLU, "same" padding) may stride in time and frequency; the frequency and
channel axes are then flattened into one vector per frame (so the frequency size must be static,
which it is: `ceil(num_features / frequency_stride)`), optionally projected by a linear Dense
layer, and read by `rnn_layers` bidirectional recurrent layers that return sequences.

With "same" padding a stride `s` maps `n` frames to `ceil(n / s)`, and the strides compose
exactly: `frames_out = ceil(frames / time_stride)` with `time_stride = prod(conv_strides[i][0])`.
The output has `2 * rnn_units` channels (forward and backward states concatenated).

The recurrent layers keep Keras defaults (tanh/sigmoid, no recurrent dropout, GRU
`reset_after=True`), which is what lets Keras pick the cuDNN kernel on a GPU; on CPU they run
as an ordinary fused loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from toolkit.models.validation import (
    BATCH_NORM_MOMENTUM,
    check_input_features,
    pair,
    positive_int,
    rate,
)
from toolkit.models.validation import rnn_type as check_rnn_type


@keras.saving.register_keras_serializable(package="toolkit")
class CRNN(layers.Layer):
    """CRNN backbone: `[batch, frames, num_features]` → `[batch, ceil(frames / time_stride), 2 * rnn_units]`.

    Args:
        num_features: Feature bins per frame (from the feature extractor; must be static).
        conv_filters: Channels of each convolution, in order (at least one).
        conv_kernel_size: (time, frequency) kernel shared by every convolution.
        conv_strides: One (time, frequency) stride per convolution (an int means both).
        rnn_type: "gru" or "lstm".
        rnn_units: Units per direction of each recurrent layer.
        rnn_layers: Number of bidirectional recurrent layers (at least one).
        dropout_rate: Dropout between recurrent layers.
        projection_units: Width of a linear Dense layer between the convolutions and the
            recurrent layers; None goes straight from the flattened frame vector. A linear
            projection is a low-rank factorisation of the first recurrent input kernel, which
            is where most parameters sit when frequency × channels is large.
    """

    def __init__(
        self,
        num_features: int,
        conv_filters: Sequence[int] = (32, 64),
        conv_kernel_size: Sequence[int] = (3, 3),
        conv_strides: Sequence[Sequence[int] | int] = ((2, 2), (1, 2)),
        rnn_type: str = "gru",
        rnn_units: int = 128,
        rnn_layers: int = 2,
        dropout_rate: float = 0.1,
        projection_units: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = positive_int(num_features, "num_features")
        if not isinstance(conv_filters, list | tuple) or not conv_filters:
            raise ValueError(
                f"conv_filters must be a non-empty list of channel counts, received {conv_filters!r}"
            )
        self.conv_filters = [positive_int(filters, "conv_filters") for filters in conv_filters]
        self.conv_kernel_size = pair(conv_kernel_size, "conv_kernel_size")
        if not isinstance(conv_strides, list | tuple) or len(conv_strides) != len(conv_filters):
            raise ValueError(
                f"conv_strides must list one stride per convolution ({len(conv_filters)}), "
                f"received {conv_strides!r}"
            )
        self.conv_strides = [pair(stride, "conv_strides") for stride in conv_strides]
        self.rnn_type = check_rnn_type(rnn_type)
        self.rnn_units = positive_int(rnn_units, "rnn_units")
        self.rnn_layers = positive_int(rnn_layers, "rnn_layers")
        self.dropout_rate = rate(dropout_rate)
        if projection_units is not None:
            positive_int(projection_units, "projection_units")
        self.projection_units = projection_units

        # Layers. Convolutions leave out the bias because BatchNorm's beta does the same job.
        self.convs: list[layers.Layer] = []
        self.conv_norms: list[layers.Layer] = []
        for index, (filters, strides) in enumerate(
            zip(self.conv_filters, self.conv_strides, strict=True)
        ):
            self.convs.append(
                layers.Conv2D(
                    filters,
                    self.conv_kernel_size,
                    strides=strides,
                    padding="same",
                    use_bias=False,
                    name=f"conv{index}",
                    dtype=self.dtype_policy,
                )
            )
            self.conv_norms.append(
                layers.BatchNormalization(
                    momentum=BATCH_NORM_MOMENTUM, name=f"conv{index}_norm", dtype=self.dtype_policy
                )
            )
        self.flatten_frequency = layers.Reshape(
            (-1, self.frequency_bins_out * self.conv_filters[-1]),
            name="flatten_frequency",
            dtype=self.dtype_policy,
        )
        self.projection = (
            None
            if projection_units is None
            else layers.Dense(projection_units, name="projection", dtype=self.dtype_policy)
        )
        recurrent_class = layers.GRU if rnn_type == "gru" else layers.LSTM
        self.recurrents: list[layers.Layer] = []
        self.recurrent_dropouts: list[layers.Layer] = []
        for index in range(self.rnn_layers):
            self.recurrents.append(
                layers.Bidirectional(
                    recurrent_class(self.rnn_units, return_sequences=True, dtype=self.dtype_policy),
                    name=f"{rnn_type}{index}",
                    dtype=self.dtype_policy,
                )
            )
            if index < self.rnn_layers - 1:
                self.recurrent_dropouts.append(
                    layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)
                )

    @property
    def time_stride(self) -> int:
        """Frames in per frame out: `frames_out = ceil(frames / time_stride)`."""
        return math.prod(stride[0] for stride in self.conv_strides)

    @property
    def frequency_bins_out(self) -> int:
        """Frequency bins left after the convolutions (each stride rounds up)."""
        bins = self.num_features
        for stride in self.conv_strides:
            bins = math.ceil(bins / stride[1])
        return bins

    @property
    def output_channels(self) -> int:
        return 2 * self.rnn_units

    def build(self, input_shape: Sequence[int | None]) -> None:
        # Built explicitly so a standalone layer loaded from config has its weights at once.
        check_input_features("CRNN", self.num_features, input_shape)
        shape = (input_shape[0], input_shape[1], self.num_features, 1)
        for conv, norm in zip(self.convs, self.conv_norms, strict=True):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        shape = (shape[0], shape[1], self.frequency_bins_out * self.conv_filters[-1])
        if self.projection is not None:
            self.projection.build(shape)
            shape = self.projection.compute_output_shape(shape)
        for recurrent in self.recurrents:
            recurrent.build(shape)
            shape = recurrent.compute_output_shape(shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.expand_dims(inputs, axis=-1)
        for conv, norm in zip(self.convs, self.conv_norms, strict=True):
            x = conv(x)
            x = norm(x, training=training)
            x = ops.relu(x)
        x = self.flatten_frequency(x)
        if self.projection is not None:
            x = self.projection(x)
        for index, recurrent in enumerate(self.recurrents):
            x = recurrent(x, training=training)
            if index < len(self.recurrent_dropouts):
                x = self.recurrent_dropouts[index](x, training=training)
        return x

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        frames = input_shape[1]
        frames_out = None if frames is None else math.ceil(frames / self.time_stride)
        return (input_shape[0], frames_out, self.output_channels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        # Lists, not tuples: the config goes into YAML (safe_dump refuses tuples) and JSON.
        config.update(
            {
                "num_features": self.num_features,
                "conv_filters": list(self.conv_filters),
                "conv_kernel_size": list(self.conv_kernel_size),
                "conv_strides": [list(stride) for stride in self.conv_strides],
                "rnn_type": self.rnn_type,
                "rnn_units": self.rnn_units,
                "rnn_layers": self.rnn_layers,
                "dropout_rate": self.dropout_rate,
                "projection_units": self.projection_units,
            }
        )
        return config
