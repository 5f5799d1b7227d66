"""Residual CNN backbone for keyword spotting (Tang & Lin 2018, "Deep Residual Learning for
Small-Footprint Keyword Spotting": res8 with the defaults, res15-like with more blocks, no pooling
and dilation).

Features `[batch, frames, num_features]` are treated as a one-channel image. A first 3x3
convolution, an optional average pooling, then `num_blocks` residual blocks (Conv2D → BatchNorm
→ ReLU → Conv2D → BatchNorm, plus the block's input, then ReLU), all with the same number of
channels. The frequency axis is then averaged away, so the output is a sequence
`[batch, frames', filters]` that a task pools over time (the paper's global average pooling) or
reads frame by frame. Unlike the CRNN, nothing here is recurrent: every output frame sees a
fixed window of input frames, which gives the model a different view of the same clip.

Pooling uses "same" padding, so `frames_out = ceil(frames / pool_size[0])`. Dilated blocks
dilate both axes by `2 ** (block // dilation_every)` (res15 uses `dilation_every: 3`), which
widens the receptive field without pooling.
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


@keras.saving.register_keras_serializable(package="toolkit")
class ResNet(layers.Layer):
    """Residual CNN: `[batch, frames, num_features]` → `[batch, ceil(frames / pool_size[0]), filters]`.

    Args:
        num_features: Feature bins per frame (from the feature extractor; must be static).
        filters: Channels of every convolution, and the output channels.
        num_blocks: Residual blocks (two convolutions each) after the first convolution.
        kernel_size: (time, frequency) kernel of every convolution.
        pool_size: (time, frequency) average pooling after the first convolution; [1, 1]
            means none.
        dilation_every: Double the dilation every this many blocks; None keeps it at 1.
        dropout_rate: Dropout on the output sequence.
    """

    def __init__(
        self,
        num_features: int,
        filters: int = 45,
        num_blocks: int = 3,
        kernel_size: Sequence[int] = (3, 3),
        pool_size: Sequence[int] = (4, 3),
        dilation_every: int | None = None,
        dropout_rate: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = positive_int(num_features, "num_features")
        self.filters = positive_int(filters, "filters")
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f"num_blocks must be a non-negative integer, received {num_blocks!r}")
        self.num_blocks = num_blocks
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.pool_size = pair(pool_size, "pool_size")
        self.dilation_every = (
            None if dilation_every is None else positive_int(dilation_every, "dilation_every")
        )
        self.dropout_rate = rate(dropout_rate)

        # Biases are left out before BatchNorm, whose beta does the same job.
        common = {"padding": "same", "use_bias": False, "dtype": self.dtype_policy}
        self.first_conv = layers.Conv2D(self.filters, self.kernel_size, name="first_conv", **common)
        self.first_norm = self._norm("first_norm")
        self.pool = (
            None
            if self.pool_size == (1, 1)
            else layers.AveragePooling2D(
                self.pool_size, padding="same", name="pool", dtype=self.dtype_policy
            )
        )
        # One flat list per role (not a list of dicts) so Keras tracks and saves every layer.
        self.convs: list[layers.Layer] = []
        self.norms: list[layers.Layer] = []
        for block in range(num_blocks):
            for step in (0, 1):
                self.convs.append(
                    layers.Conv2D(
                        self.filters,
                        self.kernel_size,
                        dilation_rate=self.dilation(block),
                        name=f"block{block}_conv{step}",
                        **common,
                    )
                )
                self.norms.append(self._norm(f"block{block}_norm{step}"))
        self.dropout = layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)

    def _norm(self, name: str) -> layers.Layer:
        return layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM, name=name, dtype=self.dtype_policy
        )

    def dilation(self, block: int) -> int:
        return 1 if self.dilation_every is None else 2 ** (block // self.dilation_every)

    @property
    def time_stride(self) -> int:
        """Frames in per frame out: `frames_out = ceil(frames / time_stride)`."""
        return self.pool_size[0]

    @property
    def output_channels(self) -> int:
        return self.filters

    def build(self, input_shape: Sequence[int | None]) -> None:
        # Built explicitly so a standalone layer loaded from config has its weights at once.
        check_input_features("ResNet", self.num_features, input_shape)
        shape = (input_shape[0], input_shape[1], self.num_features, 1)
        self.first_conv.build(shape)
        shape = self.first_conv.compute_output_shape(shape)
        self.first_norm.build(shape)
        if self.pool is not None:
            shape = self.pool.compute_output_shape(shape)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            conv.build(shape)
            norm.build(shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.expand_dims(inputs, axis=-1)
        x = ops.relu(self.first_norm(self.first_conv(x), training=training))
        if self.pool is not None:
            x = self.pool(x)
        for block in range(self.num_blocks):
            first, second = 2 * block, 2 * block + 1
            y = ops.relu(self.norms[first](self.convs[first](x), training=training))
            y = self.norms[second](self.convs[second](y), training=training)
            x = ops.relu(x + y)
        return self.dropout(ops.mean(x, axis=2), training=training)

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
                "kernel_size": list(self.kernel_size),
                "pool_size": list(self.pool_size),
                "dilation_every": self.dilation_every,
                "dropout_rate": self.dropout_rate,
            }
        )
        return config
