"""TextCNN backbone (Kim, 2014): parallel 1-D convolutions of several widths over word
embeddings, each max-pooled over time, concatenated into one document vector."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers, ops

from toolkit.models.validation import positive_int


@keras.saving.register_keras_serializable(package="toolkit")
class TextCNN(layers.Layer):
    """`[batch, tokens]` ids -> `[batch, filters * len(kernel_sizes)]`.

    Args:
        vocabulary_size: Number of token ids (from the tokenizer; 0 is padding).
        embedding_dim: Size of each token embedding.
        filters: Channels of each convolution.
        kernel_sizes: Widths (in tokens) of the parallel convolutions.
        dropout_rate: Dropout on the embeddings (whole channels) and on the pooled vector.
    """

    input_kind = "sequence"

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int = 128,
        filters: int = 128,
        kernel_sizes: Sequence[int] = (3, 4, 5),
        dropout_rate: float = 0.3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = positive_int(vocabulary_size, "vocabulary_size")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.filters = positive_int(filters, "filters")
        self.kernel_sizes = [positive_int(size, "kernel_sizes") for size in kernel_sizes]
        if not self.kernel_sizes:
            raise ValueError("kernel_sizes must name at least one width, received []")
        self.dropout_rate = float(dropout_rate)
        self.embedding = layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="embedding"
        )
        self.embedding_dropout = layers.SpatialDropout1D(self.dropout_rate)
        self.convolutions = [
            layers.Conv1D(
                self.filters, size, padding="same", activation="relu", name=f"conv_{size}"
            )
            for size in self.kernel_sizes
        ]
        self.output_dropout = layers.Dropout(self.dropout_rate)

    def build(self, input_shape) -> None:
        self.embedding.build(input_shape)
        embedded = (*input_shape, self.embedding_dim)
        for convolution in self.convolutions:
            convolution.build(embedded)
        self.built = True

    def call(self, token_ids, training=None):
        hidden = self.embedding_dropout(self.embedding(token_ids), training=training)
        # Padding embeds as zeros, as the convolutions' own padding past the end: a text's
        # vector then does not depend on how much longer other texts in its batch are.
        hidden = hidden * ops.expand_dims(ops.cast(ops.not_equal(token_ids, 0), hidden.dtype), -1)
        # Padding positions are pushed far below any real activation so max pooling skips them.
        padding = ops.expand_dims(ops.cast(ops.equal(token_ids, 0), hidden.dtype), -1) * -1e4
        pooled = [
            ops.max(convolution(hidden) + padding, axis=1) for convolution in self.convolutions
        ]
        return self.output_dropout(ops.concatenate(pooled, axis=-1), training=training)

    def compute_output_shape(self, input_shape) -> tuple:
        return (input_shape[0], self.filters * len(self.kernel_sizes))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "filters": self.filters,
                "kernel_sizes": list(self.kernel_sizes),
                "dropout_rate": self.dropout_rate,
            }
        )
        return config
