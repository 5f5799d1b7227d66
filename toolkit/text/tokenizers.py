"""Tokenizers as Keras layers: raw strings in, token ids (or a bag of n-grams) out.

The vocabulary is learnt from the training text with `adapt` and saved with the model
(`.keras` assets), so an exported model takes raw text and tokenizes it in the graph.
"""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
import tensorflow as tf

# Punctuation becomes tokens of its own ("great!" -> "great !"): exclamation marks and
# question marks carry sentiment, and "word," should not be a different word from "word".
_PUNCTUATION = r"([^\w\s'])"
_HTML_BREAK = r"<br\s*/?>"
# Control characters and Unicode separators (NEL, no-break space, line separator...) become
# plain spaces: the vocabulary is saved one token per line, so no token may hold a line break.
_SEPARATORS = r"[\p{Z}\p{Cc}]+"

Standardize = Literal["lower_and_split_punctuation", "lower_and_strip_punctuation", "lower", "none"]


def standardize_text(texts: tf.Tensor, mode: str) -> tf.Tensor:
    """The text normalisation applied before splitting, as graph ops."""
    texts = tf.strings.regex_replace(texts, _SEPARATORS, " ")
    if mode == "none":
        return texts
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, _HTML_BREAK, " ")
    if mode == "lower_and_split_punctuation":
        texts = tf.strings.regex_replace(texts, _PUNCTUATION, r" \1 ")
    elif mode == "lower_and_strip_punctuation":
        texts = tf.strings.regex_replace(texts, _PUNCTUATION, " ")
    return texts


class Tokenizer(keras.layers.Layer):
    """Shared machinery: a TextVectorization inside, configured from spelled-out settings."""

    split = "whitespace"
    # Whether `output_mode` may be a bag (multi_hot, count) for bag-of-n-grams backbones.
    gives_bags = True
    # Packages a process must import before loading a SavedModel that holds this layer.
    serving_requires: tuple[str, ...] = ()

    def __init__(
        self,
        max_tokens: int = 20000,
        standardize: Standardize = "lower_and_split_punctuation",
        output_mode: Literal["sequence", "multi_hot", "count"] = "sequence",
        max_length: int | None = 400,
        ngrams: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_tokens < 3:
            raise ValueError(
                f"max_tokens must be at least 3 (padding, unknown, one token), got {max_tokens}"
            )
        if max_length is not None and max_length < 1:
            raise ValueError(f"max_length must be positive or null, got {max_length}")
        if ngrams < 1:
            raise ValueError(f"ngrams must be at least 1, got {ngrams}")
        self.max_tokens = int(max_tokens)
        self.standardize = standardize
        self.output_mode = output_mode
        self.max_length = max_length
        self.ngrams = int(ngrams)
        self.vectorizer = self.make_vectorizer(self.max_tokens, output_mode, "vectorizer")

    def make_vectorizer(
        self, max_tokens: int | None, output_mode: str, name: str
    ) -> keras.layers.TextVectorization:
        """A TextVectorization with this tokenizer's standardization, split and n-grams."""
        mode = self.standardize

        def standardizer(texts):
            return standardize_text(texts, mode)

        bag = output_mode != "sequence"
        return keras.layers.TextVectorization(
            max_tokens=max_tokens,
            standardize=standardizer,
            split=self.split,
            ngrams=self.ngrams if self.ngrams > 1 else None,
            output_mode={"sequence": "int", "multi_hot": "multi_hot", "count": "count"}[
                output_mode
            ],
            # A bag of n-grams over a large vocabulary is mostly zeros: keep it sparse.
            sparse=bag,
            # A fixed bag width lets a saved model be rebuilt before its vocabulary is loaded.
            pad_to_max_tokens=bag,
            name=name,
        )

    def adapt(self, texts: list[str] | np.ndarray, batch_size: int = 1024) -> None:
        """Learn the vocabulary (most frequent tokens first) from training texts."""
        data = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object).astype(str))
        self.vectorizer.adapt(data.batch(batch_size))

    def extend_vocabulary(
        self, texts: list[str] | np.ndarray, batch_size: int = 1024
    ) -> tuple[int, int]:
        """Append the tokens (n-grams) of `texts` outside the vocabulary after the known ones,
        ranked as `adapt` ranks them (most frequent first), up to `max_tokens` entries in all;
        returns (entries added, vocabulary size). Known tokens keep their ids."""
        # A vectorizer like this one without a size limit counts every token of the text
        # exactly as `adapt` does, so the new entries follow the tokenizer's own rule.
        counter = self.make_vectorizer(None, "sequence", "vocabulary_counter")
        data = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object).astype(str))
        counter.adapt(data.batch(batch_size))
        known = self.vectorizer.get_vocabulary(include_special_tokens=False)
        seen = set(known)
        ranked = counter.get_vocabulary(include_special_tokens=False)
        room = max(self.max_tokens - self.vocabulary_size(), 0)
        added = [token for token in ranked if token not in seen][:room]
        if added:
            self.vectorizer.set_vocabulary([*known, *added])
        return len(added), self.vocabulary_size()

    def vocabulary_size(self) -> int:
        return int(self.vectorizer.vocabulary_size())

    def vocabulary(self) -> list[str]:
        return [str(token) for token in self.vectorizer.get_vocabulary()]

    def build(self, input_shape) -> None:
        # Nothing to create: the vocabulary lives in the vectorizer's lookup table.
        self.built = True

    def derived_sizes(self) -> dict[str, int]:
        """What the backbone is built with: the number of token ids (the bag width for bags)."""
        if self.output_mode != "sequence":
            return {"vocabulary_size": self.max_tokens}
        return {"vocabulary_size": self.vocabulary_size()}

    def token_counts(self, texts: list[str] | np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Tokens per text before any truncation (sequence output), to report long texts."""
        counts = []
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(
                np.asarray(texts[start : start + batch_size], dtype=object).astype(str)
            )
            ids = self.vectorizer(batch)
            counts.append(tf.math.count_nonzero(ids, axis=-1).numpy())
        return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)

    def count_unknown(
        self, texts: list[str] | np.ndarray, batch_size: int = 1024
    ) -> tuple[int, int]:
        """(tokens outside the vocabulary, all tokens) of `texts`: what a vocabulary learnt
        from other text misses of these."""
        known = set(self.vocabulary())
        unknown = total = 0
        for start in range(0, len(texts), batch_size):
            batch = np.asarray(texts[start : start + batch_size], dtype=object).astype(str)
            standardized = standardize_text(tf.constant(batch), self.standardize)
            tokens = (
                tf.strings.split(standardized)
                if self.split == "whitespace"
                else tf.strings.unicode_split(standardized, "UTF-8")
            )
            flat = [token.decode("utf-8") for token in tokens.flat_values.numpy()]
            unknown += sum(token not in known for token in flat)
            total += len(flat)
        return unknown, total

    def call(self, texts):
        tokens = self.vectorizer(texts)
        if self.output_mode == "sequence" and self.max_length is not None:
            tokens = tokens[:, : self.max_length]
        return tokens

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "max_tokens": self.max_tokens,
                "standardize": self.standardize,
                "output_mode": self.output_mode,
                "max_length": self.max_length,
                "ngrams": self.ngrams,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="toolkit")
class WordTokenizer(Tokenizer):
    """Words (and punctuation) split on whitespace after standardization; optional n-grams."""

    split = "whitespace"


@keras.saving.register_keras_serializable(package="toolkit")
class CharacterTokenizer(Tokenizer):
    """Unicode characters; spaces included, so word boundaries stay visible."""

    split = "character"

    def __init__(
        self,
        max_tokens: int = 300,
        standardize: Standardize = "lower",
        output_mode: Literal["sequence", "multi_hot", "count"] = "sequence",
        max_length: int | None = 2000,
        ngrams: int = 1,
        **kwargs,
    ):
        super().__init__(max_tokens, standardize, output_mode, max_length, ngrams, **kwargs)
