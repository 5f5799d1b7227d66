"""Token features for tagging: padded token strings in, word ids and character ids out.

Sentences reach the model as `[batch, tokens]` strings padded with "" (the SavedModel splits
raw sentences into tokens in the graph first, see `tokenize_sentences`). Word ids come from a
lower-cased vocabulary with digits folded to 0, so "1996" and "2001" share a word; the
character ids keep the original spelling, so capitals and digit shapes still reach the model,
and a casing class per token (below) says outright what the lower-cased word id hides.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

# Raw sentence -> tokens: punctuation at the edge of a word is split off, as in CoNLL-2003
# ("Brussels." -> "Brussels ."), while inner dots and hyphens stay ("U.S.", "1996-08-22").
_TOKEN_RULES = (
    (r"[\p{Z}\p{Cc}]+", " "),
    (r"([^\w\s'.\-])", r" \1 "),  # brackets, quotes, commas, colons, ...
    (r"(\w)('s|'S|n't|'re|'ve|'ll|'d|'m)(\s|$)", r"\1 \2\3"),
    (r"\.(\s*)$", r" .\1"),  # the sentence-final dot
)


def tokenize_sentences(sentences: tf.Tensor) -> tf.Tensor:
    """[batch] raw sentences -> [batch, tokens] strings padded with ""."""
    text = sentences
    for pattern, replacement in _TOKEN_RULES:
        text = tf.strings.regex_replace(text, pattern, replacement)
    return tf.strings.split(text).to_tensor(default_value="")


# Casing classes (after Reimers & Gurevych, 2017), in the order they are tested; 0 is padding.
CASINGS = (
    "padding",
    "other",
    "numeric",  # digits only: "1996"
    "mainly_numeric",  # at least half digits: "1996-08-22", "2-1", "F1"
    "lower",  # "house"
    "upper",  # "EU", "SOCCER"
    "initial_upper",  # "Brussels", "McDonald"
    "contains_digit",  # "mp3s"
)


def token_casing(tokens: tf.Tensor) -> tf.Tensor:
    """Casing class id (an index into `CASINGS`) of every token string, 0 for ""."""
    length = tf.strings.length(tokens, unit="UTF8_CHAR")
    digits = tf.strings.length(tf.strings.regex_replace(tokens, r"\D", ""), unit="UTF8_CHAR")
    tests = (
        (tf.equal(length, 0), 0),
        (tf.equal(digits, length), 2),
        (2 * digits >= length, 3),
        (tf.strings.regex_full_match(tokens, r"\p{Ll}+"), 4),
        (tf.strings.regex_full_match(tokens, r"\p{Lu}+"), 5),
        (tf.strings.regex_full_match(tokens, r"\p{Lu}.*"), 6),
        (digits > 0, 7),
    )
    casing = tf.ones_like(length, dtype=tf.int64)
    for condition, value in reversed(tests):  # the first test that holds wins
        casing = tf.where(condition, tf.constant(value, tf.int64), casing)
    return casing


def fold_word(tokens: tf.Tensor) -> tf.Tensor:
    return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"\d", "0")


@keras.saving.register_keras_serializable(package="toolkit")
class WordCharacterFeatures(keras.layers.Layer):
    """`[batch, tokens]` strings -> (word ids `[batch, tokens]`, character ids
    `[batch, tokens, max_word_length]`, casing ids `[batch, tokens]`); id 0 is padding, 1 an
    unknown word or character; casing ids index `CASINGS`.

    Args:
        max_words: Word vocabulary size cap (most frequent first).
        min_word_count: Words seen fewer times in training map to the unknown id, which is
            what lets the model learn what to do with words it has never seen.
        max_characters: Character vocabulary size cap.
        max_word_length: Characters read per word (longer words are cut; the log says how many).
    """

    def __init__(
        self,
        max_words: int = 50000,
        min_word_count: int = 2,
        max_characters: int = 200,
        max_word_length: int = 20,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("max_words", max_words),
            ("max_characters", max_characters),
            ("max_word_length", max_word_length),
            ("min_word_count", min_word_count),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.max_words = max_words
        self.min_word_count = min_word_count
        self.max_characters = max_characters
        self.max_word_length = max_word_length
        self.words = keras.layers.StringLookup(mask_token="", name="words")
        self.characters = keras.layers.StringLookup(mask_token="", name="characters")

    def ranked(self, sentences: list[list[str]]) -> tuple[list[str], list[str]]:
        """The (folded) words seen at least `min_word_count` times and the characters of
        `sentences`, each most frequent first (ties alphabetically)."""
        words: dict[str, int] = {}
        characters: dict[str, int] = {}
        for tokens in sentences:
            for token in tokens:
                folded = fold(token)
                words[folded] = words.get(folded, 0) + 1
                for character in token[: self.max_word_length]:
                    characters[character] = characters.get(character, 0) + 1
        kept = [w for w, c in by_count(words) if c >= self.min_word_count]
        return kept, [c for c, _ in by_count(characters)]

    def adapt(self, sentences: list[list[str]]) -> None:
        """Word and character vocabularies from training sentences (lists of tokens)."""
        words, characters = self.ranked(sentences)
        self.words.set_vocabulary(words[: self.max_words - 2] or ["[none]"])
        self.characters.set_vocabulary(characters[: self.max_characters - 2] or ["[none]"])

    def extend_vocabulary(self, sentences: list[list[str]]) -> dict[str, tuple[int, int]]:
        """Append the words and characters of `sentences` outside the vocabularies after the
        known ones, ranked and limited as `adapt` does; returns {"words": (added, size),
        "characters": (added, size)}. Known words and characters keep their ids."""
        words, characters = self.ranked(sentences)
        return {
            "words": extend_lookup(self.words, words, self.max_words),
            "characters": extend_lookup(self.characters, characters, self.max_characters),
        }

    def vocabulary_size(self) -> int:
        return int(self.words.vocabulary_size())

    def count_unknown(self, sentences: list[list[str]]) -> tuple[int, int]:
        """(tokens whose word is outside the vocabulary, all tokens) of `sentences`."""
        known = {str(word) for word in self.words.get_vocabulary()}
        tokens = [fold(token) for tokens in sentences for token in tokens]
        return sum(token not in known for token in tokens), len(tokens)

    def character_vocabulary_size(self) -> int:
        return int(self.characters.vocabulary_size())

    def derived_sizes(self) -> dict[str, int]:
        return {
            "vocabulary_size": self.vocabulary_size(),
            "character_vocabulary_size": self.character_vocabulary_size(),
            "casing_vocabulary_size": len(CASINGS),
        }

    def build(self, input_shape) -> None:
        self.built = True

    def call(self, tokens):
        word_ids = self.words(fold_word(tokens))
        characters = tf.strings.unicode_split(tokens, "UTF-8")  # ragged [batch, tokens, chars]
        characters = characters[:, :, : self.max_word_length]
        character_ids = self.characters(
            characters.to_tensor(default_value="", shape=[None, None, self.max_word_length])
        )
        return word_ids, character_ids, token_casing(tokens)

    def compute_output_spec(self, tokens):
        batch, time = tokens.shape[0], tokens.shape[1]
        return (
            keras.KerasTensor((batch, time), dtype="int64"),
            keras.KerasTensor((batch, time, self.max_word_length), dtype="int64"),
            keras.KerasTensor((batch, time), dtype="int64"),
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "max_words": self.max_words,
                "min_word_count": self.min_word_count,
                "max_characters": self.max_characters,
                "max_word_length": self.max_word_length,
            }
        )
        return config


def by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def extend_lookup(
    lookup: keras.layers.StringLookup, ranked: list[str], limit: int
) -> tuple[int, int]:
    """Append the entries of `ranked` that `lookup` lacks, in order, until it holds `limit`
    (padding and unknown included); returns (entries added, its size)."""
    known = [str(entry) for entry in lookup.get_vocabulary(include_special_tokens=False)]
    seen = set(known)
    room = max(limit - int(lookup.vocabulary_size()), 0)
    added = [entry for entry in ranked if entry not in seen][:room]
    if added:
        lookup.set_vocabulary([*known, *added])
    return len(added), int(lookup.vocabulary_size())


def fold(token: str) -> str:
    """The Python twin of `fold_word`, used when counting the vocabulary."""
    return "".join("0" if character.isdigit() else character for character in token.lower())


def long_word_count(sentences: list[list[str]], max_word_length: int) -> int:
    return int(np.sum([len(token) > max_word_length for tokens in sentences for token in tokens]))
