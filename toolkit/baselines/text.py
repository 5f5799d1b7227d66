"""The text classification baseline: TF-IDF over word unigrams and bigrams + logistic regression.

The counts come from the toolkit's own word tokenizer (the same standardisation as the
models), weighted as scikit-learn's `TfidfVectorizer(sublinear_tf=True)` weights them:
(1 + log count) * idf with idf = log((1 + documents) / (1 + document frequency)) + 1, each
row scaled to unit length. The logistic regression's C is chosen on the validation split.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from toolkit.baselines.linear import fit_logistic_regression

log = logging.getLogger("toolkit")

# Most frequent unigrams and bigrams of the training text kept as features.
MAX_FEATURES = 200_000
NGRAMS = 2


@keras.saving.register_keras_serializable(package="toolkit")
class TfIdf(keras.layers.Layer):
    """Sparse `[batch, size]` token counts -> sublinear TF-IDF weights, each row of unit length.

    Args:
        size: Width of the count vectors (the tokenizer's bag width).
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        if size < 1:
            raise ValueError(f"size must be positive, got {size}")
        self.size = int(size)

    def build(self, input_shape) -> None:
        # Fitted from document frequencies, not trained.
        self.idf = self.add_weight(
            shape=(self.size,), initializer="ones", trainable=False, name="idf"
        )
        self.built = True

    def call(self, counts):
        counts = tf.sparse.reorder(tf.cast(counts, tf.float32))
        rows, columns = counts.indices[:, 0], counts.indices[:, 1]
        weights = (1.0 + tf.math.log(counts.values)) * tf.gather(
            tf.convert_to_tensor(self.idf), columns
        )
        norms = tf.math.sqrt(
            tf.math.unsorted_segment_sum(
                tf.square(weights), rows, tf.cast(counts.dense_shape[0], tf.int32)
            )
        )
        weights = weights / tf.maximum(tf.gather(norms, rows), 1e-12)
        return tf.SparseTensor(counts.indices, weights, counts.dense_shape)

    def compute_output_shape(self, input_shape) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


def sparse_rows(layer: Any, texts: np.ndarray, batch_size: int = 1024):
    """`layer(texts)` (a SparseTensor per batch) as one scipy CSR matrix."""
    from scipy import sparse

    blocks = []
    for start in range(0, len(texts), batch_size):
        batch = tf.constant(np.asarray(texts[start : start + batch_size], dtype=object).astype(str))
        output = layer(batch)
        indices = output.indices.numpy()
        blocks.append(
            sparse.csr_matrix(
                (output.values.numpy(), (indices[:, 0], indices[:, 1])),
                shape=tuple(int(n) for n in output.dense_shape.numpy()),
            )
        )
    return sparse.vstack(blocks).tocsr() if blocks else sparse.csr_matrix((0, 0))


def fit_text_baseline(
    *,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    train_targets: np.ndarray,
    valid_targets: np.ndarray,
    classes: int,
    multi_label: bool,
) -> keras.Model:
    """text -> word tokenizer (counts of 1-2-grams) -> TF-IDF -> logistic regression, as a
    Keras model whose output layer is `probabilities` (softmax, or sigmoid for multi-label)."""
    from toolkit.text.tokenizers import WordTokenizer

    tokenizer = WordTokenizer(
        max_tokens=MAX_FEATURES, output_mode="count", ngrams=NGRAMS, name="tokenizer"
    )
    tokenizer.adapt(train["text"].to_numpy())
    tf_idf = TfIdf(MAX_FEATURES, name="tf_idf")
    tf_idf.build((None, MAX_FEATURES))
    counts = sparse_rows(tokenizer, train["text"].to_numpy())
    documents = counts.shape[0]
    frequency = np.bincount(counts.indices, minlength=MAX_FEATURES)
    tf_idf.idf.assign(np.log((1.0 + documents) / (1.0 + frequency)) + 1.0)

    def weighted(texts):
        return tf_idf(tokenizer(texts))

    fitted = fit_logistic_regression(
        sparse_rows(weighted, train["text"].to_numpy()),
        train_targets,
        sparse_rows(weighted, valid["text"].to_numpy()),
        valid_targets,
        classes=classes,
        multi_label=multi_label,
    )
    log.info(
        "baseline: %d TF-IDF features, C %g (validation %.4f)",
        tokenizer.vocabulary_size(),
        fitted.C,
        fitted.valid_score,
    )
    text = keras.Input(shape=(), dtype="string", name="text")
    output = keras.layers.Dense(
        classes,
        activation="sigmoid" if multi_label else "softmax",
        dtype="float32",
        name="probabilities",
    )
    model = keras.Model(text, output(tf_idf(tokenizer(text))), name="text_baseline")
    output.set_weights([fitted.kernel, fitted.bias])
    return model
