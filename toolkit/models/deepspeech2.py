"""DeepSpeech2-style backbone: strided 2-D convolutions over (time, frequency), then stacked
bidirectional GRU or LSTM layers that read each utterance to its own end.

`[batch, frames, num_features]` (and frames per utterance) → `[batch, frames_out,
2 * rnn_units]` with `frames_out = ceil(frames / time_stride)`. Convolutions pad both sides
by half their (odd) kernel, so the time stride maps lengths the same way for every batch
shape; padded frames are zeroed after each convolution and masked in the recurrent layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import layers

from toolkit.models.sequence_lengths import (
    KeepsLengths,
    odd_kernel,
    strided_length,
    strided_lengths,
    zero_padding,
)
from toolkit.models.validation import (
    BATCH_NORM_MOMENTUM,
    check_input_features,
    pair,
    positive_int,
    rate,
)
from toolkit.models.validation import rnn_type as check_rnn_type


@keras.saving.register_keras_serializable(package="toolkit")
class DeepSpeech2(layers.Layer, KeepsLengths):
    """Conv2D front end → bidirectional recurrent stack.

    Args:
        num_features: Feature bins per frame (from the feature extractor).
        conv_filters: Channels of each convolution.
        conv_kernel_sizes: One odd (time, frequency) kernel per convolution.
        conv_strides: One (time, frequency) stride per convolution.
        rnn_type: "gru" or "lstm".
        rnn_units: Units per direction of each recurrent layer.
        rnn_layers: Number of bidirectional recurrent layers.
        dropout_rate: Dropout after the convolutions and between recurrent layers.
        projection_units: Linear layer between the convolutions and the recurrent stack (its
            input is frequency bins × channels wide); None leaves it out.
    """

    def __init__(
        self,
        num_features: int,
        conv_filters: Sequence[int] = (32, 32),
        conv_kernel_sizes: Sequence[Sequence[int]] = ((11, 41), (11, 21)),
        conv_strides: Sequence[Sequence[int]] = ((2, 2), (1, 2)),
        rnn_type: str = "gru",
        rnn_units: int = 256,
        rnn_layers: int = 3,
        dropout_rate: float = 0.1,
        projection_units: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = positive_int(num_features, "num_features")
        count = len(conv_filters) if isinstance(conv_filters, list | tuple) else 0
        if count == 0:
            raise ValueError(f"conv_filters must be a non-empty list, received {conv_filters!r}")
        for name, value in (
            ("conv_kernel_sizes", conv_kernel_sizes),
            ("conv_strides", conv_strides),
        ):
            if not isinstance(value, list | tuple) or len(value) != count:
                raise ValueError(
                    f"{name} must list one entry per convolution ({count}), received {value!r}"
                )
        self.conv_filters = [positive_int(filters, "conv_filters") for filters in conv_filters]
        self.conv_kernel_sizes = [pair(kernel, "conv_kernel_sizes") for kernel in conv_kernel_sizes]
        for kernel in self.conv_kernel_sizes:
            for size in kernel:
                odd_kernel(size, "conv_kernel_sizes")
        self.conv_strides = [pair(stride, "conv_strides") for stride in conv_strides]
        self.rnn_type = check_rnn_type(rnn_type)
        self.rnn_units = positive_int(rnn_units, "rnn_units")
        self.rnn_layers = positive_int(rnn_layers, "rnn_layers")
        self.dropout_rate = rate(dropout_rate)
        if projection_units is not None:
            positive_int(projection_units, "projection_units")
        self.projection_units = projection_units

        self.convs = [
            layers.Conv2D(
                filters,
                kernel,
                strides=stride,
                padding="valid",
                use_bias=False,
                name=f"conv{index}",
                dtype=self.dtype_policy,
            )
            for index, (filters, kernel, stride) in enumerate(
                zip(self.conv_filters, self.conv_kernel_sizes, self.conv_strides, strict=True)
            )
        ]
        self.conv_norms = [
            layers.BatchNormalization(
                momentum=BATCH_NORM_MOMENTUM, name=f"conv{index}_norm", dtype=self.dtype_policy
            )
            for index in range(count)
        ]
        self.projection = (
            None
            if projection_units is None
            else layers.Dense(projection_units, name="projection", dtype=self.dtype_policy)
        )
        recurrent_class = layers.GRU if rnn_type == "gru" else layers.LSTM
        self.recurrents = [
            layers.Bidirectional(
                recurrent_class(self.rnn_units, return_sequences=True, dtype=self.dtype_policy),
                name=f"{rnn_type}{index}",
                dtype=self.dtype_policy,
            )
            for index in range(self.rnn_layers)
        ]
        self.dropout = layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)

    @property
    def time_stride(self) -> int:
        return math.prod(stride[0] for stride in self.conv_strides)

    @property
    def frequency_bins_out(self) -> int:
        bins = self.num_features
        for stride in self.conv_strides:
            bins = strided_length(bins, stride[1])
        return bins

    @property
    def output_channels(self) -> int:
        return 2 * self.rnn_units

    def output_length(self, frames: int) -> int:
        """Output frames for `frames` input frames."""
        for stride in self.conv_strides:
            frames = strided_length(frames, stride[0])
        return frames

    def build(self, inputs_shape: Sequence[int | None], lengths_shape=None) -> None:
        check_input_features("DeepSpeech2", self.num_features, inputs_shape)
        shape = (inputs_shape[0], None, self.num_features, 1)
        for conv, norm, kernel in zip(
            self.convs, self.conv_norms, self.conv_kernel_sizes, strict=True
        ):
            padded = (shape[0], None, shape[2] + 2 * (kernel[1] // 2), shape[3])
            conv.build(padded)
            shape = conv.compute_output_shape(padded)
            norm.build(shape)
        shape = (shape[0], None, self.frequency_bins_out * self.conv_filters[-1])
        if self.projection is not None:
            self.projection.build(shape)
            shape = self.projection.compute_output_shape(shape)
        for recurrent in self.recurrents:
            recurrent.build(shape)
            shape = recurrent.compute_output_shape(shape)
        self.built = True

    def call(self, inputs: Any, lengths: Any = None, training: bool | None = None):
        x = tf.expand_dims(inputs, axis=-1)
        frames = lengths
        for conv, norm, kernel, stride in zip(
            self.convs, self.conv_norms, self.conv_kernel_sizes, self.conv_strides, strict=True
        ):
            half_time, half_frequency = kernel[0] // 2, kernel[1] // 2
            x = tf.pad(
                x, [[0, 0], [half_time, half_time], [half_frequency, half_frequency], [0, 0]]
            )
            x = tf.nn.relu(norm(conv(x), training=training))
            if frames is not None:
                frames = strided_lengths(frames, stride[0])
            x = zero_padding(x, frames)
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], self.frequency_bins_out * self.conv_filters[-1]])
        x = self.dropout(x, training=training)
        if self.projection is not None:
            x = self.projection(x)
        mask = None if frames is None else tf.sequence_mask(frames, tf.shape(x)[1])
        for index, recurrent in enumerate(self.recurrents):
            x = recurrent(x, mask=mask, training=training)
            if index < len(self.recurrents) - 1:
                x = self.dropout(x, training=training)
        x = zero_padding(x, frames)
        return x if lengths is None else (x, frames)

    def compute_output_shape(self, inputs_shape, lengths_shape=None):
        frames = inputs_shape[1]
        frames_out = None if frames is None else self.output_length(frames)
        shape = (inputs_shape[0], frames_out, self.output_channels)
        return shape if lengths_shape is None else (shape, tuple(lengths_shape))

    def compute_output_spec(self, inputs, lengths=None, training=None):
        # Lengths stay integers (compute_output_shape alone would give them the float dtype).
        outputs = keras.KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)
        if lengths is None:
            return outputs
        return outputs, keras.KerasTensor(lengths.shape, lengths.dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_features": self.num_features,
                "conv_filters": list(self.conv_filters),
                "conv_kernel_sizes": [list(kernel) for kernel in self.conv_kernel_sizes],
                "conv_strides": [list(stride) for stride in self.conv_strides],
                "rnn_type": self.rnn_type,
                "rnn_units": self.rnn_units,
                "rnn_layers": self.rnn_layers,
                "dropout_rate": self.dropout_rate,
                "projection_units": self.projection_units,
            }
        )
        return config
