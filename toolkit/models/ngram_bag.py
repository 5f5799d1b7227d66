"""N-gram bag backbone (fastText-style): a bag of word n-grams to one document vector.

Reads the sparse multi-hot (or count) bag a `word` tokenizer with `output_mode: multi_hot`
produces. With `embedding_dim` set, the bag is multiplied by an embedding table (the sum of
the n-grams' embeddings, a fastText document vector); with null, the bag itself goes to the
head, which is then a linear classifier over n-grams. Both train in seconds per epoch on CPU
because only the n-grams present in a document are touched.
"""

from __future__ import annotations

import keras
from keras import layers

from toolkit.models.validation import positive_int


@keras.saving.register_keras_serializable(package="toolkit")
class NGramBag(layers.Layer):
    """`[batch, vocabulary_size]` sparse bag -> `[batch, embedding_dim]` (or the bag itself).

    Args:
        vocabulary_size: Width of the bag (from the tokenizer).
        embedding_dim: Size of the document vector; null keeps the bag (a linear model).
        dropout_rate: Dropout on the document vector.
    """

    input_kind = "bag"

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int | None = None,
        dropout_rate: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = positive_int(vocabulary_size, "vocabulary_size")
        self.embedding_dim = (
            None if embedding_dim is None else positive_int(embedding_dim, "embedding_dim")
        )
        self.dropout_rate = float(dropout_rate)
        self.embedding = (
            None
            if self.embedding_dim is None
            else layers.Dense(self.embedding_dim, use_bias=False, name="ngram_embedding")
        )
        self.dropout = layers.Dropout(self.dropout_rate)
        # The bag arrives as a SparseTensor; Dense multiplies it without densifying.
        self.supports_masking = False

    def build(self, input_shape) -> None:
        if self.embedding is not None:
            self.embedding.build(input_shape)
        self.built = True

    def call(self, bag, training=None):
        if self.embedding is None:
            return bag
        return self.dropout(self.embedding(bag), training=training)

    def compute_output_shape(self, input_shape) -> tuple:
        width = input_shape[-1] if self.embedding_dim is None else self.embedding_dim
        return (input_shape[0], width)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "dropout_rate": self.dropout_rate,
            }
        )
        return config
