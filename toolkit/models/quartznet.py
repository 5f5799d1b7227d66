"""QuartzNet/Jasper-style backbone: 1-D time-channel separable convolutions, no recurrence.

Each separable convolution is a depthwise convolution over time (one filter per channel)
followed by a pointwise (1×1) convolution, batch normalization and ReLU. A block repeats that
`block_repeats` times and adds a residual (pointwise + batch norm) of its input before the
last ReLU. A strided prolog convolution halves the frame rate; an epilog (a wide separable
convolution and a pointwise one) ends the stack.

`[batch, frames, num_features]` → `[batch, ceil(frames / prolog_stride), final_channels]`.
Padded frames are zeroed after every convolution, so an utterance's output does not depend
on the batch it is in.
"""

from __future__ import annotations

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
from toolkit.models.validation import BATCH_NORM_MOMENTUM, check_input_features, positive_int, rate


@keras.saving.register_keras_serializable(package="toolkit")
class SeparableConvolution(layers.Layer):
    """Depthwise (time) + pointwise convolution, batch norm; ReLU unless `activation=False`."""

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        activation: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.channels = positive_int(channels, "channels")
        self.kernel_size = odd_kernel(kernel_size, "kernel_size")
        self.stride = positive_int(stride, "stride")
        self.dilation = positive_int(dilation, "dilation")
        if self.stride > 1 and self.dilation > 1:
            raise ValueError("a convolution cannot both stride and dilate")
        self.activation = bool(activation)
        self.depthwise = layers.DepthwiseConv1D(
            self.kernel_size,
            strides=self.stride,
            dilation_rate=self.dilation,
            padding="valid",
            use_bias=False,
            name="depthwise",
            dtype=self.dtype_policy,
        )
        self.pointwise = layers.Conv1D(
            self.channels, 1, use_bias=False, name="pointwise", dtype=self.dtype_policy
        )
        self.norm = layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM, name="norm", dtype=self.dtype_policy
        )

    @property
    def half_width(self) -> int:
        return self.dilation * (self.kernel_size // 2)

    def build(self, inputs_shape) -> None:
        padded = (inputs_shape[0], None, inputs_shape[-1])
        self.depthwise.build(padded)
        self.pointwise.build((inputs_shape[0], None, inputs_shape[-1]))
        self.norm.build((inputs_shape[0], None, self.channels))
        self.built = True

    def call(self, inputs, lengths=None, training=None):
        x = tf.pad(inputs, [[0, 0], [self.half_width, self.half_width], [0, 0]])
        x = self.norm(self.pointwise(self.depthwise(x)), training=training)
        if self.activation:
            x = tf.nn.relu(x)
        return zero_padding(x, None if lengths is None else strided_lengths(lengths, self.stride))

    def compute_output_shape(self, inputs_shape, lengths_shape=None):
        frames = inputs_shape[1]
        frames = None if frames is None else strided_length(frames, self.stride)
        return (inputs_shape[0], frames, self.channels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "kernel_size": self.kernel_size,
                "stride": self.stride,
                "dilation": self.dilation,
                "activation": self.activation,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="toolkit")
class QuartzNet(layers.Layer, KeepsLengths):
    """Prolog → residual blocks of separable convolutions → epilog.

    Args:
        num_features: Feature bins per frame (from the feature extractor).
        prolog_channels, prolog_kernel_size, prolog_stride: The first (strided) convolution.
        block_channels: Output channels of each block (one entry per block).
        block_kernel_sizes: The odd time kernel of each block.
        block_repeats: Separable convolutions per block (QuartzNet's R).
        epilog_channels, epilog_kernel_size, epilog_dilation: The wide convolution after
            the blocks.
        final_channels: Width of the last pointwise convolution (the backbone's output).
        dropout_rate: Dropout after each block and the epilog.
    """

    def __init__(
        self,
        num_features: int,
        prolog_channels: int = 256,
        prolog_kernel_size: int = 33,
        prolog_stride: int = 2,
        block_channels: Sequence[int] = (256, 256, 512, 512, 512),
        block_kernel_sizes: Sequence[int] = (33, 39, 51, 63, 75),
        block_repeats: int = 5,
        epilog_channels: int = 512,
        epilog_kernel_size: int = 87,
        epilog_dilation: int = 2,
        final_channels: int = 1024,
        dropout_rate: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = positive_int(num_features, "num_features")
        self.prolog_channels = positive_int(prolog_channels, "prolog_channels")
        self.prolog_kernel_size = odd_kernel(prolog_kernel_size, "prolog_kernel_size")
        self.prolog_stride = positive_int(prolog_stride, "prolog_stride")
        if (
            not isinstance(block_channels, list | tuple)
            or not isinstance(block_kernel_sizes, list | tuple)
            or len(block_channels) != len(block_kernel_sizes)
        ):
            raise ValueError(
                "block_channels and block_kernel_sizes must be lists of the same length, "
                f"received {block_channels!r} and {block_kernel_sizes!r}"
            )
        self.block_channels = [positive_int(c, "block_channels") for c in block_channels]
        self.block_kernel_sizes = [odd_kernel(k, "block_kernel_sizes") for k in block_kernel_sizes]
        self.block_repeats = positive_int(block_repeats, "block_repeats")
        self.epilog_channels = positive_int(epilog_channels, "epilog_channels")
        self.epilog_kernel_size = odd_kernel(epilog_kernel_size, "epilog_kernel_size")
        self.epilog_dilation = positive_int(epilog_dilation, "epilog_dilation")
        self.final_channels = positive_int(final_channels, "final_channels")
        self.dropout_rate = rate(dropout_rate)

        policy = self.dtype_policy
        self.prolog = SeparableConvolution(
            self.prolog_channels,
            self.prolog_kernel_size,
            stride=self.prolog_stride,
            name="prolog",
            dtype=policy,
        )
        self.blocks: list[list[SeparableConvolution]] = []
        self.residuals: list[tuple[layers.Layer, layers.Layer]] = []
        for index, (channels, kernel) in enumerate(
            zip(self.block_channels, self.block_kernel_sizes, strict=True)
        ):
            self.blocks.append(
                [
                    SeparableConvolution(
                        channels,
                        kernel,
                        activation=repeat < self.block_repeats - 1,
                        name=f"block{index}_conv{repeat}",
                        dtype=policy,
                    )
                    for repeat in range(self.block_repeats)
                ]
            )
            self.residuals.append(
                (
                    layers.Conv1D(
                        channels, 1, use_bias=False, name=f"block{index}_residual", dtype=policy
                    ),
                    layers.BatchNormalization(
                        momentum=BATCH_NORM_MOMENTUM,
                        name=f"block{index}_residual_norm",
                        dtype=policy,
                    ),
                )
            )
        self.epilog = SeparableConvolution(
            self.epilog_channels,
            self.epilog_kernel_size,
            dilation=self.epilog_dilation,
            name="epilog",
            dtype=policy,
        )
        self.final = layers.Conv1D(self.final_channels, 1, name="final", dtype=policy)
        self.dropout = layers.Dropout(self.dropout_rate, dtype=policy)

    @property
    def time_stride(self) -> int:
        return self.prolog_stride

    @property
    def output_channels(self) -> int:
        return self.final_channels

    def output_length(self, frames: int) -> int:
        return strided_length(frames, self.prolog_stride)

    def build(self, inputs_shape, lengths_shape=None) -> None:
        check_input_features("QuartzNet", self.num_features, inputs_shape)
        batch = inputs_shape[0]
        self.prolog.build((batch, None, self.num_features))
        channels = self.prolog_channels
        for block, (residual, residual_norm), out in zip(
            self.blocks, self.residuals, self.block_channels, strict=True
        ):
            width = channels
            for convolution in block:
                convolution.build((batch, None, width))
                width = convolution.channels
            residual.build((batch, None, channels))
            residual_norm.build((batch, None, out))
            channels = out
        self.epilog.build((batch, None, channels))
        self.final.build((batch, None, self.epilog_channels))
        self.built = True

    def call(self, inputs, lengths=None, training=None):
        frames = None if lengths is None else strided_lengths(lengths, self.prolog_stride)
        x = self.prolog(zero_padding(inputs, lengths), lengths, training=training)
        for block, (residual, residual_norm) in zip(self.blocks, self.residuals, strict=True):
            shortcut = residual_norm(residual(x), training=training)
            hidden = x
            for convolution in block:
                hidden = convolution(hidden, frames, training=training)
            x = zero_padding(tf.nn.relu(hidden + shortcut), frames)
            x = self.dropout(x, training=training)
        x = self.epilog(x, frames, training=training)
        x = self.dropout(x, training=training)
        x = zero_padding(tf.nn.relu(self.final(x)), frames)
        return x if lengths is None else (x, frames)

    def compute_output_shape(self, inputs_shape, lengths_shape=None):
        frames = inputs_shape[1]
        frames_out = None if frames is None else self.output_length(frames)
        shape = (inputs_shape[0], frames_out, self.final_channels)
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
                "prolog_channels": self.prolog_channels,
                "prolog_kernel_size": self.prolog_kernel_size,
                "prolog_stride": self.prolog_stride,
                "block_channels": list(self.block_channels),
                "block_kernel_sizes": list(self.block_kernel_sizes),
                "block_repeats": self.block_repeats,
                "epilog_channels": self.epilog_channels,
                "epilog_kernel_size": self.epilog_kernel_size,
                "epilog_dilation": self.epilog_dilation,
                "final_channels": self.final_channels,
                "dropout_rate": self.dropout_rate,
            }
        )
        return config
