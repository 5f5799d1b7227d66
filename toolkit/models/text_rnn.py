"""Recurrent text backbone: word embeddings, stacked bidirectional GRU/LSTM, attention pooling.

Attention pooling scores every position with a small feed-forward layer and averages the
states with the softmax of those scores (padding excluded), so a long review is summarised by
the words that matter rather than by its last state.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from toolkit.models.validation import positive_int
from toolkit.models.validation import rnn_type as check_rnn_type


@keras.saving.register_keras_serializable(package="toolkit")
class RecurrentText(layers.Layer):
    """`[batch, tokens]` ids -> `[batch, 2 * rnn_units]`.

    Args:
        vocabulary_size: Number of token ids (from the tokenizer; 0 is padding).
        embedding_dim: Size of each token embedding.
        rnn_type: "gru" or "lstm".
        rnn_units: Units per direction of each recurrent layer.
        rnn_layers: Number of bidirectional layers.
        attention_units: Width of the attention scorer.
        dropout_rate: Dropout on embeddings and between layers.
    """

    input_kind = "sequence"

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int = 128,
        rnn_type: str = "gru",
        rnn_units: int = 96,
        rnn_layers: int = 1,
        attention_units: int = 64,
        dropout_rate: float = 0.3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_rnn_type(rnn_type)
        self.vocabulary_size = positive_int(vocabulary_size, "vocabulary_size")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.rnn_type = rnn_type
        self.rnn_units = positive_int(rnn_units, "rnn_units")
        self.rnn_layers = positive_int(rnn_layers, "rnn_layers")
        self.attention_units = positive_int(attention_units, "attention_units")
        self.dropout_rate = float(dropout_rate)
        self.embedding = layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="embedding"
        )
        self.dropout = layers.Dropout(self.dropout_rate)
        cell = layers.GRU if rnn_type == "gru" else layers.LSTM
        self.recurrent = [
            layers.Bidirectional(
                cell(self.rnn_units, return_sequences=True), name=f"{rnn_type}_{i}"
            )
            for i in range(self.rnn_layers)
        ]
        self.attention_hidden = layers.Dense(
            self.attention_units, activation="tanh", name="attention"
        )
        self.attention_score = layers.Dense(1, use_bias=False, name="attention_score")

    def build(self, input_shape) -> None:
        self.embedding.build(input_shape)
        width = self.embedding_dim
        for recurrent in self.recurrent:
            recurrent.build((*input_shape, width))
            width = 2 * self.rnn_units
        self.attention_hidden.build((*input_shape, width))
        self.attention_score.build((*input_shape, self.attention_units))
        self.built = True

    def call(self, token_ids, training=None):
        mask = ops.not_equal(token_ids, 0)
        hidden = self.dropout(self.embedding(token_ids), training=training)
        for recurrent in self.recurrent:
            hidden = self.dropout(
                recurrent(hidden, mask=mask, training=training), training=training
            )
        scores = ops.squeeze(self.attention_score(self.attention_hidden(hidden)), -1)
        scores = ops.where(mask, scores, ops.full_like(scores, -1e4))
        weights = ops.expand_dims(ops.softmax(scores, axis=-1), -1)
        return ops.sum(weights * hidden, axis=1)

    def compute_output_shape(self, input_shape) -> tuple:
        return (input_shape[0], 2 * self.rnn_units)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "rnn_type": self.rnn_type,
                "rnn_units": self.rnn_units,
                "rnn_layers": self.rnn_layers,
                "attention_units": self.attention_units,
                "dropout_rate": self.dropout_rate,
            }
        )
        return config
