"""Tagging backbone (Ma & Hovy, 2016; Lample et al., 2016): word embeddings plus a character
CNN per word, read by stacked bidirectional LSTMs into one vector per token."""

from __future__ import annotations

import keras
from keras import layers, ops

from toolkit.models.validation import positive_int


@keras.saving.register_keras_serializable(package="toolkit")
class BiLSTMCharCNN(layers.Layer):
    """(word ids `[batch, tokens]`, character ids `[batch, tokens, chars]`[, casing ids
    `[batch, tokens]`]) -> `[batch, tokens, 2 * rnn_units]`.

    Args:
        vocabulary_size: Word ids (from the token features; 0 is padding).
        character_vocabulary_size: Character ids (0 is padding).
        word_embedding_dim: Size of each word embedding.
        character_embedding_dim: Size of each character embedding.
        character_filters: Channels of each character convolution (max-pooled over the word).
        character_kernel_size: Width of the character convolution, or a list of widths: one
            convolution per width, side by side (a word's vector then holds
            `character_filters` per width), so prefixes and suffixes of several lengths are read.
        rnn_units: LSTM units per direction.
        rnn_layers: Number of bidirectional layers.
        dropout_rate: Dropout on the token vectors and between layers.
        word_dropout_rate: While training, this share of words is read as the unknown word,
            so the model learns to lean on spelling for words it has never seen.
        recurrent_dropout_rate: Dropout on the LSTMs' recurrent state, one mask per sentence
            (variational dropout, Gal & Ghahramani 2016).
        casing_vocabulary_size: Casing classes (from the token features; 0 is padding).
        casing_embedding_dim: Size of a learnt embedding of each token's casing class, added to
            the token vector; 0 leaves casing to the character CNN.
    """

    def __init__(
        self,
        vocabulary_size: int,
        character_vocabulary_size: int,
        word_embedding_dim: int = 100,
        character_embedding_dim: int = 30,
        character_filters: int = 50,
        character_kernel_size: int | list[int] = 3,
        rnn_units: int = 200,
        rnn_layers: int = 1,
        dropout_rate: float = 0.5,
        word_dropout_rate: float = 0.05,
        recurrent_dropout_rate: float = 0.0,
        casing_vocabulary_size: int = 8,
        casing_embedding_dim: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = positive_int(vocabulary_size, "vocabulary_size")
        self.character_vocabulary_size = positive_int(
            character_vocabulary_size, "character_vocabulary_size"
        )
        self.word_embedding_dim = positive_int(word_embedding_dim, "word_embedding_dim")
        self.character_embedding_dim = positive_int(
            character_embedding_dim, "character_embedding_dim"
        )
        self.character_filters = positive_int(character_filters, "character_filters")
        self.character_kernel_size = kernel_sizes(character_kernel_size)
        widths = (
            [self.character_kernel_size]
            if isinstance(self.character_kernel_size, int)
            else self.character_kernel_size
        )
        self.character_width = self.character_filters * len(widths)
        self.rnn_units = positive_int(rnn_units, "rnn_units")
        self.rnn_layers = positive_int(rnn_layers, "rnn_layers")
        self.casing_vocabulary_size = positive_int(casing_vocabulary_size, "casing_vocabulary_size")
        if isinstance(casing_embedding_dim, bool) or not isinstance(casing_embedding_dim, int):
            raise ValueError(
                f"casing_embedding_dim must be an integer, got {casing_embedding_dim!r}"
            )
        if casing_embedding_dim < 0:
            raise ValueError(f"casing_embedding_dim must be 0 or more, got {casing_embedding_dim}")
        self.casing_embedding_dim = casing_embedding_dim
        for name, rate in (
            ("dropout_rate", dropout_rate),
            ("word_dropout_rate", word_dropout_rate),
            ("recurrent_dropout_rate", recurrent_dropout_rate),
        ):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        self.dropout_rate = float(dropout_rate)
        self.word_dropout_rate = float(word_dropout_rate)
        self.recurrent_dropout_rate = float(recurrent_dropout_rate)
        self.word_embedding = layers.Embedding(
            self.vocabulary_size, self.word_embedding_dim, name="word_embedding"
        )
        self.character_embedding = layers.Embedding(
            self.character_vocabulary_size, self.character_embedding_dim, name="character_embedding"
        )
        self.character_convolutions = [
            layers.Conv1D(
                self.character_filters,
                width,
                padding="same",
                activation="tanh",
                name=f"character_convolution_{width}",
            )
            for width in widths
        ]
        self.casing_embedding = (
            layers.Embedding(
                self.casing_vocabulary_size, self.casing_embedding_dim, name="casing_embedding"
            )
            if self.casing_embedding_dim
            else None
        )
        self.dropout = layers.Dropout(self.dropout_rate)
        self.recurrent = [
            layers.Bidirectional(
                layers.LSTM(
                    self.rnn_units,
                    return_sequences=True,
                    recurrent_dropout=self.recurrent_dropout_rate,
                ),
                name=f"lstm_{i}",
            )
            for i in range(self.rnn_layers)
        ]

    def build(self, input_shape) -> None:
        word_shape, character_shape = input_shape[0], input_shape[1]
        self.word_embedding.build(word_shape)
        if self.casing_embedding is not None:
            self.casing_embedding.build(word_shape)
        self.character_embedding.build(character_shape)
        for convolution in self.character_convolutions:
            convolution.build((None, character_shape[-1], self.character_embedding_dim))
        width = self.word_embedding_dim + self.character_width + self.casing_embedding_dim
        for recurrent in self.recurrent:
            recurrent.build((*word_shape, width))
            width = 2 * self.rnn_units
        self.built = True

    def call(self, inputs, training=None):
        word_ids, character_ids = inputs[0], inputs[1]
        token_parts = []
        if self.casing_embedding is not None:
            if len(inputs) < 3:
                raise ValueError("casing_embedding_dim needs casing ids as a third input")
            token_parts.append(self.casing_embedding(inputs[2]))
        mask = ops.not_equal(word_ids, 0)
        if training and self.word_dropout_rate > 0:
            drop = keras.random.uniform(ops.shape(word_ids)) < self.word_dropout_rate
            word_ids = ops.where(ops.logical_and(drop, mask), ops.ones_like(word_ids), word_ids)
        words = self.word_embedding(word_ids)
        # One word at a time through the character CNN: fold tokens into the batch axis.
        shape = ops.shape(character_ids)
        flat = ops.reshape(character_ids, (-1, shape[2]))
        embedded = self.character_embedding(flat)
        characters = ops.concatenate(
            [convolution(embedded) for convolution in self.character_convolutions], axis=-1
        )
        character_mask = ops.expand_dims(ops.not_equal(flat, 0), -1)
        characters = ops.where(character_mask, characters, ops.full_like(characters, -1e4))
        pooled = ops.max(characters, axis=1)
        pooled = ops.where(ops.any(character_mask, axis=1), pooled, ops.zeros_like(pooled))
        pooled = ops.reshape(pooled, (shape[0], shape[1], self.character_width))
        hidden = self.dropout(
            ops.concatenate([words, ops.cast(pooled, words.dtype), *token_parts], axis=-1),
            training=training,
        )
        for recurrent in self.recurrent:
            hidden = self.dropout(
                recurrent(hidden, mask=mask, training=training), training=training
            )
        # A fresh tensor without the LSTM's padding mask attached: Keras would otherwise hand
        # that mask to the loss as sample weights, and the tagging losses handle padding (-1).
        return ops.copy(hidden)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape) -> tuple:
        word_shape = input_shape[0]
        return (*word_shape, 2 * self.rnn_units)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "character_vocabulary_size": self.character_vocabulary_size,
                "word_embedding_dim": self.word_embedding_dim,
                "character_embedding_dim": self.character_embedding_dim,
                "character_filters": self.character_filters,
                "character_kernel_size": self.character_kernel_size,
                "rnn_units": self.rnn_units,
                "rnn_layers": self.rnn_layers,
                "dropout_rate": self.dropout_rate,
                "word_dropout_rate": self.word_dropout_rate,
                "recurrent_dropout_rate": self.recurrent_dropout_rate,
                "casing_vocabulary_size": self.casing_vocabulary_size,
                "casing_embedding_dim": self.casing_embedding_dim,
            }
        )
        return config


def kernel_sizes(value) -> int | list[int]:
    """A positive int, or a non-empty list of distinct positive ints (YAML gives lists)."""
    if isinstance(value, list | tuple):
        if not value or len(set(value)) != len(value):
            raise ValueError(f"character_kernel_size must list distinct widths, received {value!r}")
        return [positive_int(width, "character_kernel_size") for width in value]
    return positive_int(value, "character_kernel_size")
