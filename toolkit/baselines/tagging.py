"""The sequence tagging baseline: a linear-chain CRF over word features, fitted with CRFsuite.

Each token is described by the words around it and their spelling: the lower-cased word, its
neighbours, the pair of it and the word before, its prefix and suffixes, and the shape of it
and its neighbours ("Brussels" -> "Xx", "U.S." -> "X.X.", "1996-08-22" -> "d-d-d"). The same
graph ops compute those attribute strings for fitting and inside the model, so the exported
baseline tags exactly as the fitted one: a lookup of each attribute's weights per tag, summed,
and the fitted transition scores decoded by the toolkit's CRF layer.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

log = logging.getLogger("toolkit")

# CRFsuite's L-BFGS with elastic-net regularisation, at the values its scikit-learn wrapper's
# tutorial uses for named entities.
TRAINER_SETTINGS = {
    "c1": 0.1,
    "c2": 0.1,
    "max_iterations": 100,
    "feature.possible_transitions": True,
}
SHAPE_CHARACTERS = 8


def word_shape(words: tf.Tensor) -> tf.Tensor:
    """Runs of capitals, small letters and digits each as one X, x or d; other characters
    kept; at most `SHAPE_CHARACTERS` characters."""
    shape = tf.strings.regex_replace(words, r"\p{Lu}+", "X")
    shape = tf.strings.regex_replace(shape, r"\p{Ll}+", "x")
    shape = tf.strings.regex_replace(shape, r"\p{N}+", "d")
    return tf.strings.substr(shape, 0, SHAPE_CHARACTERS, unit="UTF8_CHAR")


def token_attributes(tokens: tf.Tensor) -> tf.Tensor:
    """`[batch, time]` tokens (padded with "") -> `[batch, time, attributes]` strings."""
    tokens = tf.convert_to_tensor(tokens, dtype=tf.string)
    real = tf.not_equal(tokens, "")
    lower = tf.strings.lower(tokens, encoding="utf-8")
    shape = word_shape(tokens)
    batch = tf.shape(tokens)[0]

    def shifted(values: tf.Tensor, step: int, edge: str) -> tf.Tensor:
        """values[t - step] (step 1: the previous token's), `edge` past either end."""
        fill = tf.fill([batch, abs(step)], edge)
        moved = (
            tf.concat([fill, values[:, :-step]], axis=1)
            if step > 0
            else tf.concat([values[:, -step:], fill], axis=1)
        )
        neighbour_real = (
            tf.concat([tf.zeros([batch, step], tf.bool), real[:, :-step]], axis=1)
            if step > 0
            else tf.concat([real[:, -step:], tf.zeros([batch, -step], tf.bool)], axis=1)
        )
        return tf.where(neighbour_real, moved, edge)

    characters = tf.strings.unicode_split(tf.reshape(lower, [-1]), "UTF-8")

    def suffix(count: int) -> tf.Tensor:
        joined = tf.strings.reduce_join(characters[:, -count:], axis=-1)
        return tf.reshape(joined, tf.shape(tokens))

    previous = shifted(lower, 1, "<s>")
    parts = [
        tf.fill(tf.shape(tokens), "bias"),
        "w=" + lower,
        "p=" + previous,
        "n=" + shifted(lower, -1, "</s>"),
        "pw=" + previous + "|" + lower,
        "s3=" + suffix(3),
        "s2=" + suffix(2),
        "p3=" + tf.strings.substr(lower, 0, 3, unit="UTF8_CHAR"),
        "shape=" + shape,
        "ps=" + shifted(shape, 1, "<s>"),
        "ns=" + shifted(shape, -1, "</s>"),
    ]
    return tf.stack(parts, axis=-1)


@keras.saving.register_keras_serializable(package="toolkit")
class WordFeatureScores(keras.layers.Layer):
    """`[batch, time]` token strings -> `[batch, time, num_tags]` scores: the sum over each
    token's attributes (`token_attributes`) of their fitted weights; unknown attributes add 0.

    Args:
        num_tags: Number of tags.
        vocabulary_size: Number of attributes with weights (their strings are the lookup's
            vocabulary, saved with the model).
    """

    def __init__(self, num_tags: int, vocabulary_size: int, **kwargs):
        super().__init__(**kwargs)
        if num_tags < 1 or vocabulary_size < 1:
            raise ValueError(
                f"num_tags and vocabulary_size must be positive, got {num_tags}, {vocabulary_size}"
            )
        self.num_tags = int(num_tags)
        self.vocabulary_size = int(vocabulary_size)
        # Index 0 is every attribute outside the vocabulary.
        self.lookup = keras.layers.StringLookup(num_oov_indices=1, mask_token=None, name="lookup")

    def build(self, input_shape) -> None:
        self.table = self.add_weight(
            shape=(self.vocabulary_size + 1, self.num_tags),
            initializer="zeros",
            name="attribute_weights",
        )
        self.built = True

    def set_attributes(self, attributes: list[str], weights: np.ndarray) -> None:
        """The attribute strings and their `[len(attributes), num_tags]` weights."""
        self.lookup.set_vocabulary(attributes)
        table = np.zeros((self.vocabulary_size + 1, self.num_tags), dtype=np.float32)
        table[1:] = weights
        self.table.assign(table)

    def call(self, tokens):
        ids = self.lookup(token_attributes(tokens))
        return tf.reduce_sum(tf.gather(tf.convert_to_tensor(self.table), ids), axis=2)

    def compute_output_shape(self, input_shape) -> tuple:
        return (*input_shape, self.num_tags)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_tags": self.num_tags,
            "vocabulary_size": self.vocabulary_size,
        }


def attribute_lists(sentences: list[list[str]], batch_size: int = 256) -> list[list[list[str]]]:
    """Each token's attribute strings, per sentence, as the model computes them."""
    result: list[list[list[str]]] = []
    for start in range(0, len(sentences), batch_size):
        batch = sentences[start : start + batch_size]
        padded = tf.ragged.constant(batch, dtype=tf.string).to_tensor(default_value="")
        attributes = token_attributes(padded).numpy()
        for row, sentence in zip(attributes, batch, strict=True):
            result.append(
                [[value.decode("utf-8") for value in token] for token in row[: len(sentence)]]
            )
    return result


def fit_tagging_baseline(
    *, sentences: list[list[str]], tags: list[list[str]], tag_names: list[str]
) -> keras.Model:
    """tokens -> word feature scores -> CRF (the toolkit's layer, named `crf` as in the task's
    models), with CRFsuite's fitted weights; `tag_names` are the model's tags in order."""
    import pycrfsuite

    from toolkit.text.crf import CRF

    trainer = pycrfsuite.Trainer(verbose=False)
    for attributes, sequence in zip(attribute_lists(sentences), tags, strict=True):
        trainer.append(attributes, sequence)
    trainer.set_params(TRAINER_SETTINGS)
    with tempfile.TemporaryDirectory() as scratch:
        path = str(Path(scratch) / "crf.model")
        trainer.train(path)
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        info = tagger.info()
        tagger.close()
    index = {name: i for i, name in enumerate(tag_names)}
    attributes = sorted({attribute for attribute, _ in info.state_features})
    position = {attribute: i for i, attribute in enumerate(attributes)}
    weights = np.zeros((len(attributes), len(tag_names)), dtype=np.float32)
    for (attribute, tag), weight in info.state_features.items():
        weights[position[attribute], index[tag]] = weight
    transitions = np.zeros((len(tag_names), len(tag_names)), dtype=np.float32)
    for (before, after), weight in info.transitions.items():
        transitions[index[before], index[after]] = weight
    log.info("baseline: CRF with %d weighted word attributes", len(attributes))

    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    scores_layer = WordFeatureScores(
        len(tag_names), max(len(attributes), 1), name="word_feature_scores"
    )
    crf = CRF(len(tag_names), name="crf")
    model = keras.Model(tokens, crf(scores_layer(tokens)), name="tagging_baseline")
    if attributes:
        scores_layer.set_attributes(attributes, weights)
    zeros = np.zeros(len(tag_names), dtype=np.float32)
    # CRFsuite scores no start or end transitions.
    crf.set_weights([transitions, zeros, zeros])
    return model
