"""The SentencePiece subword tokenizer: pieces, truncation, saving, what it refuses."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.models.ngram_bag import NGramBag
from toolkit.models.text_cnn import TextCNN

SUBWORD_TEXTS = [
    "the movie was great fun",
    "a terrible, boring film",
    "great acting and a fun plot",
    "boring plot; terrible acting",
    "unforgettable performances",
] * 8


def test_subword_pieces_cover_unseen_words_and_survive_a_keras_round_trip(tmp_path: Path):
    pytest.importorskip("tensorflow_text")
    from toolkit.text.subwords import SubwordTokenizer

    tokenizer = SubwordTokenizer(max_tokens=60, max_length=5)
    tokenizer.adapt(SUBWORD_TEXTS)
    vocabulary = tokenizer.vocabulary()
    assert vocabulary[:2] == ["<pad>", "<unk>"] and len(vocabulary) == tokenizer.vocabulary_size()
    # A word never seen whole is spelt in known pieces, not mapped to <unk>.
    full = tokenizer.token_counts(["greatness"])
    ids = tokenizer(tf.constant(["greatness", "fun"])).numpy()
    assert full[0] >= 2 and 1 not in ids[0] and ids[1, 1:].tolist() == [0] * (ids.shape[1] - 1)
    # Sequences are cut at max_length; the counts report the whole text.
    long = "the movie was great fun and the plot was great"
    assert tokenizer(tf.constant([long])).shape[1] == 5
    assert tokenizer.token_counts([long])[0] > 5

    text = keras.Input(shape=(), dtype="string")
    hidden = TextCNN(tokenizer.vocabulary_size(), embedding_dim=4, filters=3)(tokenizer(text))
    model = keras.Model(text, keras.layers.Dense(2)(hidden))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    batch = tf.constant(["greatness of the film", "Boring!"])
    np.testing.assert_allclose(loaded(batch).numpy(), model(batch).numpy(), atol=1e-6)
    restored = next(layer for layer in loaded.layers if isinstance(layer, SubwordTokenizer))
    assert restored.vocabulary() == vocabulary


def test_subword_tokenizer_refuses_bags():
    from toolkit.text.subwords import SubwordTokenizer

    with pytest.raises(ValueError, match="output_mode"):
        SubwordTokenizer(output_mode="multi_hot")


def test_bag_model_over_subwords_names_what_to_use_instead():
    from toolkit.data.text_check import check_tokenizer_fits
    from toolkit.text.subwords import SubwordTokenizer

    with pytest.raises(ValueError, match="gives sequences only .*text_cnn"):
        check_tokenizer_fits(SubwordTokenizer(), NGramBag(100, embedding_dim=4))
