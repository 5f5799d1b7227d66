"""Word and character tokenizer layers: vocabulary, n-grams, truncation, saving."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.models.ngram_bag import NGramBag
from toolkit.models.text_cnn import TextCNN
from toolkit.text.tokenizers import CharacterTokenizer, WordTokenizer, standardize_text

TEXTS = ["Great movie!", "Bad movie, bad acting.<br />Awful", "not\x85bad\u2028at\xa0all"]


def test_standardization_splits_punctuation_and_flattens_separators():
    out = standardize_text(tf.constant(TEXTS), "lower_and_split_punctuation").numpy()
    assert out[0].decode().split() == ["great", "movie", "!"]
    assert out[1].decode().split() == ["bad", "movie", ",", "bad", "acting", ".", "awful"]
    assert out[2].decode().split() == ["not", "bad", "at", "all"]


def test_word_ids_follow_frequency_and_unknown_words_map_to_one():
    tokenizer = WordTokenizer(max_tokens=100)
    tokenizer.adapt(TEXTS)
    vocabulary = tokenizer.vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and vocabulary[2] in {"bad", "movie"}
    ids = tokenizer(tf.constant(["bad zebra"])).numpy()[0]
    assert ids[0] == vocabulary.index("bad") and ids[1] == 1


def test_sequence_output_is_cut_at_max_length_and_counts_report_the_full_length():
    tokenizer = WordTokenizer(max_tokens=100, max_length=3)
    tokenizer.adapt(["a b c d e", "a b"])
    assert tokenizer(tf.constant(["a b c d e", "b"])).shape == (2, 3)
    assert list(tokenizer.token_counts(["a b c d e", "b"])) == [5, 1]


def test_bag_of_ngrams_holds_bigrams():
    tokenizer = WordTokenizer(max_tokens=50, ngrams=2, output_mode="multi_hot")
    tokenizer.adapt(TEXTS)
    assert "bad movie" in tokenizer.vocabulary()
    bag = tf.sparse.to_dense(tokenizer(tf.constant(["bad movie"]))).numpy()[0]
    assert bag.shape == (50,) and bag.sum() == 3  # bad, movie, "bad movie"
    assert tokenizer.derived_sizes() == {"vocabulary_size": 50}


def test_characters_include_spaces():
    tokenizer = CharacterTokenizer()
    tokenizer.adapt(["ab ba"])
    assert " " in tokenizer.vocabulary()
    assert tokenizer(tf.constant(["ab"])).shape == (1, 2)


@pytest.mark.parametrize("mode", ["sequence", "multi_hot"])
def test_keras_round_trip_keeps_vocabulary_with_odd_characters(tmp_path: Path, mode: str):
    tokenizer = WordTokenizer(max_tokens=64, ngrams=2, output_mode=mode)
    tokenizer.adapt(TEXTS * 3)
    text = keras.Input(shape=(), dtype="string")
    tokens = tokenizer(text)
    if mode == "sequence":
        hidden = TextCNN(tokenizer.vocabulary_size(), embedding_dim=4, filters=3)(tokens)
    else:
        hidden = NGramBag(64, embedding_dim=4)(tokens)
    model = keras.Model(text, keras.layers.Dense(2)(hidden))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    batch = tf.constant(["not bad at all", "awful movie !"])
    np.testing.assert_allclose(loaded(batch).numpy(), model(batch).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "build",
    [
        lambda: WordTokenizer(max_tokens=2),
        lambda: WordTokenizer(ngrams=0),
        lambda: WordTokenizer(max_length=0),
    ],
)
def test_bad_settings_name_the_value(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize("mode", ["sequence", "multi_hot"])
def test_extending_the_vocabulary_appends_new_tokens_by_count_up_to_max_tokens(mode: str):
    tokenizer = WordTokenizer(max_tokens=8, output_mode=mode)
    tokenizer.adapt(["good film", "bad film"])
    known = tokenizer.vocabulary()
    added, size = tokenizer.extend_vocabulary(["zorp zorp blip film", "zorp quux", "blip"])
    # zorp (3) before blip (2) before quux (1); only as many as max_tokens leaves room for.
    room = 8 - len(known)
    assert (added, size) == (min(3, room), len(known) + min(3, room))
    assert tokenizer.vocabulary() == known + ["zorp", "blip", "quux"][:room]
    assert tokenizer.extend_vocabulary(["zorp film"]) == (0, size)


def test_extended_character_vocabulary_keeps_the_old_ids():
    tokenizer = CharacterTokenizer(max_tokens=50)
    tokenizer.adapt(["abc"])
    before = tokenizer(tf.constant(["cab"])).numpy()
    assert tokenizer.extend_vocabulary(["xyz x"]) == (4, len(tokenizer.vocabulary()))
    np.testing.assert_array_equal(tokenizer(tf.constant(["cab"])).numpy(), before)
    assert 1 not in tokenizer(tf.constant(["xyz"])).numpy()
