"""Depthwise-separable CNN backbone for keyword spotting (Zhang et al. 2017, "Hello Edge").

Features `[batch, frames, num_features]` are treated as a one-channel image. A first Conv2D
then `num_blocks` depthwise-separable blocks (DepthwiseConv2D → BatchNorm → ReLU → 1x1 Conv2D
→ BatchNorm → ReLU → Dropout) produce `[batch, frames', freq', filters]`; the frequency axis is
then averaged away, so the output is a sequence `[batch, frames', filters]`. Averaging (rather
than flattening frequency into channels) keeps `output_channels == filters` whatever the number
of mel bins, and is what the paper's final average pool does along frequency.

All convolutions use "same" padding, so a stride `s` maps `n` frames to `ceil(n / s)` and the
strides compose exactly: `frames_out = ceil(frames / time_stride)` with
`time_stride = first_strides[0] * prod(block_strides[i][0])`.
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


def same_padding_subsample(x: Any, strides: Sequence[int], kernel_size: Sequence[int]) -> Any:
    """From a stride-1 "same" convolution's [batch, rows, columns, channels] output, the rows
    and columns a convolution with `strides` computes: TensorFlow pads such a one by
    max((ceil(n / s) - 1) * s + k - n, 0) in all, the smaller half before."""
    for axis, (stride, kernel) in enumerate(zip(strides, kernel_size, strict=True), start=1):
        if stride == 1:
            continue
        size = ops.shape(x)[axis]
        outputs = (size + stride - 1) // stride
        pad_before = ops.maximum((outputs - 1) * stride + kernel - size, 0) // 2
        indices = (kernel - 1) // 2 - pad_before + ops.arange(outputs) * stride
        x = ops.take(x, indices, axis=axis)
    return x


@keras.saving.register_keras_serializable(package="toolkit")
class DSCNN(layers.Layer):
    """DS-CNN backbone: `[batch, frames, num_features]` → `[batch, ceil(frames / time_stride), filters]`.

    Args:
        num_features: Feature bins per frame (from the feature extractor; must be static).
        filters: Channels of every convolution, and the output channels.
        num_blocks: Depthwise-separable blocks after the first convolution.
        first_kernel_size: (time, frequency) kernel of the first convolution.
        first_strides: (time, frequency) strides of the first convolution.
        kernel_size: (time, frequency) kernel of each depthwise convolution.
        block_strides: One (time, frequency) stride per block (an int means both), applied by
            the depthwise convolution; None means no striding after the first convolution.
        dropout_rate: Dropout after the first convolution and after every block.
        l2: L2 weight decay on convolution kernels; 0 disables it.
    """

    def __init__(
        self,
        num_features: int,
        filters: int = 64,
        num_blocks: int = 4,
        first_kernel_size: Sequence[int] = (10, 4),
        first_strides: Sequence[int] = (2, 2),
        kernel_size: Sequence[int] = (3, 3),
        block_strides: Sequence[Sequence[int] | int] | None = None,
        dropout_rate: float = 0.1,
        l2: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = positive_int(num_features, "num_features")
        self.filters = positive_int(filters, "filters")
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f"num_blocks must be a non-negative integer, received {num_blocks!r}")
        self.num_blocks = num_blocks
        self.first_kernel_size = pair(first_kernel_size, "first_kernel_size")
        self.first_strides = pair(first_strides, "first_strides")
        self.kernel_size = pair(kernel_size, "kernel_size")
        if block_strides is None:
            self.block_strides = None
            strides_per_block = [(1, 1)] * num_blocks
        else:
            if not isinstance(block_strides, list | tuple) or len(block_strides) != num_blocks:
                raise ValueError(
                    f"block_strides must list one stride per block ({num_blocks}), "
                    f"received {block_strides!r}"
                )
            strides_per_block = [pair(stride, "block_strides") for stride in block_strides]
            self.block_strides = strides_per_block
        self.dropout_rate = rate(dropout_rate)
        if not isinstance(l2, int | float) or l2 < 0:
            raise ValueError(f"l2 must be a non-negative number, received {l2!r}")
        self.l2 = float(l2)

        # Layers. Biases are left out before BatchNorm, whose beta does the same job.
        regularizer = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        common = {"padding": "same", "use_bias": False, "dtype": self.dtype_policy}
        self.first_conv = layers.Conv2D(
            self.filters,
            self.first_kernel_size,
            strides=self.first_strides,
            kernel_regularizer=regularizer,
            name="first_conv",
            **common,
        )
        self.first_norm = layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM, name="first_norm", dtype=self.dtype_policy
        )
        self.first_dropout = layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)
        # One flat list per role (not a list of dicts) so Keras tracks and saves every layer.
        self.depthwise_convs: list[layers.Layer] = []
        self.depthwise_norms: list[layers.Layer] = []
        self.pointwise_convs: list[layers.Layer] = []
        self.pointwise_norms: list[layers.Layer] = []
        self.block_dropouts: list[layers.Layer] = []
        # TensorFlow's depthwise kernels (CPU without oneDNN, and GPU) refuse unequal strides;
        # such a block runs at stride 1 and keeps the outputs a strided one would compute.
        self._subsample_strides = [
            None if strides[0] == strides[1] else strides for strides in strides_per_block
        ]
        for index, strides in enumerate(strides_per_block):
            self.depthwise_convs.append(
                layers.DepthwiseConv2D(
                    self.kernel_size,
                    strides=strides if self._subsample_strides[index] is None else (1, 1),
                    depthwise_regularizer=regularizer,
                    name=f"block{index}_depthwise",
                    **common,
                )
            )
            self.depthwise_norms.append(
                layers.BatchNormalization(
                    momentum=BATCH_NORM_MOMENTUM,
                    name=f"block{index}_depthwise_norm",
                    dtype=self.dtype_policy,
                )
            )
            self.pointwise_convs.append(
                layers.Conv2D(
                    self.filters,
                    1,
                    kernel_regularizer=regularizer,
                    name=f"block{index}_pointwise",
                    **common,
                )
            )
            self.pointwise_norms.append(
                layers.BatchNormalization(
                    momentum=BATCH_NORM_MOMENTUM,
                    name=f"block{index}_pointwise_norm",
                    dtype=self.dtype_policy,
                )
            )
            # Regular rather than spatial dropout: spatial dropout would silence a channel
            # for the whole clip, too harsh for a sequence that a CTC head reads frame by frame.
            self.block_dropouts.append(layers.Dropout(self.dropout_rate, dtype=self.dtype_policy))
        self._strides_per_block = strides_per_block

    @property
    def time_stride(self) -> int:
        """Frames in per frame out: `frames_out = ceil(frames / time_stride)`."""
        return self.first_strides[0] * math.prod(stride[0] for stride in self._strides_per_block)

    @property
    def frequency_stride(self) -> int:
        return self.first_strides[1] * math.prod(stride[1] for stride in self._strides_per_block)

    @property
    def output_channels(self) -> int:
        return self.filters

    def build(self, input_shape: Sequence[int | None]) -> None:
        # Built explicitly so a standalone layer loaded from config has its weights at once.
        check_input_features("DSCNN", self.num_features, input_shape)
        shape = (input_shape[0], input_shape[1], self.num_features, 1)
        self.first_conv.build(shape)
        shape = self.first_conv.compute_output_shape(shape)
        self.first_norm.build(shape)
        for index in range(self.num_blocks):
            self.depthwise_convs[index].build(shape)
            shape = self.depthwise_convs[index].compute_output_shape(shape)
            if self._subsample_strides[index] is not None:
                rows, columns = shape[1:3]
                row_stride, column_stride = self._subsample_strides[index]
                shape = (
                    shape[0],
                    None if rows is None else math.ceil(rows / row_stride),
                    math.ceil(columns / column_stride),
                    shape[3],
                )
            self.depthwise_norms[index].build(shape)
            self.pointwise_convs[index].build(shape)
            shape = self.pointwise_convs[index].compute_output_shape(shape)
            self.pointwise_norms[index].build(shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.expand_dims(inputs, axis=-1)
        x = self.first_conv(x)
        x = self.first_norm(x, training=training)
        x = ops.relu(x)
        x = self.first_dropout(x, training=training)
        for index in range(self.num_blocks):
            x = self.depthwise_convs[index](x)
            if self._subsample_strides[index] is not None:
                x = same_padding_subsample(x, self._subsample_strides[index], self.kernel_size)
            x = self.depthwise_norms[index](x, training=training)
            x = ops.relu(x)
            x = self.pointwise_convs[index](x)
            x = self.pointwise_norms[index](x, training=training)
            x = ops.relu(x)
            x = self.block_dropouts[index](x, training=training)
        return ops.mean(x, axis=2)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        frames = input_shape[1]
        frames_out = None if frames is None else math.ceil(frames / self.time_stride)
        return (input_shape[0], frames_out, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        # Lists, not tuples: the config goes into YAML (safe_dump refuses tuples) and JSON.
        config.update(
            {
                "num_features": self.num_features,
                "filters": self.filters,
                "num_blocks": self.num_blocks,
                "first_kernel_size": list(self.first_kernel_size),
                "first_strides": list(self.first_strides),
                "kernel_size": list(self.kernel_size),
                "block_strides": None
                if self.block_strides is None
                else [list(stride) for stride in self.block_strides],
                "dropout_rate": self.dropout_rate,
                "l2": self.l2,
            }
        )
        return config
