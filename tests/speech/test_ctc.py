"""CTC loss on padded batches, greedy and beam decoding, transcripts and alignability."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from toolkit.speech.ctc import BlankPadding, beam_decode, ctc_loss, decode_to_text, greedy_decode
from toolkit.speech.transcripts import (
    build_alphabet,
    drop_characters,
    frames_needed,
    normalize_transcript,
    offending_characters,
)


def peaked_logits(paths: list[list[int]], classes: int, peak: float = 8.0) -> np.ndarray:
    """Logits `[batch, frames, classes]` with one clear winner per frame."""
    frames = max(len(path) for path in paths)
    logits = np.zeros((len(paths), frames, classes), dtype=np.float32)
    for row, path in enumerate(paths):
        for frame, unit in enumerate(path):
            logits[row, frame, unit] = peak
    return logits


def test_loss_shapes_and_padding_left_out():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 12, 5)).astype(np.float32)
    labels = np.array([[1, 2, 3], [4, 4, 0]], dtype=np.int32)
    lengths = tf.constant([12, 7])
    padded = BlankPadding()(tf.constant(logits), lengths)
    losses = ctc_loss(labels, padded).numpy()
    assert losses.shape == (2,) and np.all(np.isfinite(losses)) and np.all(losses > 0)
    # The second utterance alone, cut to its own 7 frames, has the same loss.
    alone = ctc_loss(labels[1:, :2], tf.constant(logits[1:, :7])).numpy()
    np.testing.assert_allclose(losses[1], alone[0], rtol=1e-5)


def test_loss_falls_on_the_right_alignment():
    labels = np.array([[1, 2]], dtype=np.int32)
    right = peaked_logits([[1, 0, 2, 0]], 3)
    wrong = peaked_logits([[2, 0, 1, 0]], 3)
    assert ctc_loss(labels, right).numpy()[0] < 0.01 < ctc_loss(labels, wrong).numpy()[0]


def test_greedy_merges_repeats_and_drops_blanks():
    logits = peaked_logits([[1, 1, 0, 1, 2, 2, 0], [0, 0, 3]], 4)
    ids = greedy_decode(tf.constant(logits)).to_list()
    assert ids == [[1, 1, 2], [3]]


def test_greedy_and_beam_agree_on_a_peaked_distribution():
    rng = np.random.default_rng(1)
    paths = [list(rng.integers(0, 6, size=15)) for _ in range(4)]
    logits = tf.constant(peaked_logits(paths, 6))
    assert greedy_decode(logits).to_list() == beam_decode(logits, 8).to_list()


def test_beam_finds_a_label_greedy_misses():
    # Per frame blank wins (0.6), but the two ways of saying "1" together outweigh "".
    probabilities = np.array([[[0.6, 0.4], [0.6, 0.4]]], dtype=np.float32)
    logits = tf.constant(np.log(probabilities))
    assert greedy_decode(logits).to_list() == [[]]
    assert beam_decode(logits, 4).to_list() == [[1]]


def test_text_from_ids_and_empty_rows():
    units = tf.constant([" ", "a", "b"])
    logits = tf.constant(peaked_logits([[2, 0, 1, 3, 3, 0, 3], [0] * 7], 4))
    for width in (1, 4):
        texts = decode_to_text(logits, units, False, width).numpy().tolist()
        assert texts == [b"a bb", b""]


def test_normalization_and_alphabet():
    assert normalize_transcript("  Hello, World!  It's 'fine'. ") == "hello world it's fine"
    assert normalize_transcript("A-B", lowercase=False, punctuation="keep") == "A-B"
    assert build_alphabet(["ab c", "ca"]) == [" ", "a", "b", "c"]
    assert offending_characters("héllo wörld", set("helo wrd")) == ["é", "ö"]
    assert drop_characters("a é b", set("ab ")) == "a b"
    with pytest.raises(ValueError, match="punctuation"):
        normalize_transcript("x", punctuation="strip")


def test_frames_needed_counts_blanks_between_repeats():
    assert frames_needed([1, 2, 3]) == 3
    assert frames_needed([1, 1, 2, 2, 2]) == 8
