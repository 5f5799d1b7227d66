"""The in-graph LM beam search gives the Python reference decoder's transcripts."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from toolkit.errors import ToolkitError
from toolkit.speech.graph_lm_decoder import LanguageModelGraph, text_hash
from toolkit.speech.lm import NGramModel, build_arpa, read_arpa
from toolkit.speech.lm_decoder import decode_with_language_model

SENTENCES = [
    "the cat sat on the mat",
    "the cat ate",
    "a cot is a bed",
    "the hat on the cat",
    "a bat sat on a hat",
    "the mat is on the bed",
]
CHARACTERS = [" ", "a", "b", "c", "d", "e", "h", "i", "m", "n", "o", "s", "t"]


def peaky_log_probabilities(
    rng: np.random.Generator, batch: int, frames: int, units: int, sharpness: float
) -> np.ndarray:
    """Random CTC-like outputs: mostly one likely unit a frame, blank often."""
    logits = rng.normal(size=(batch, frames, units + 1)) * sharpness
    logits[..., 0] += sharpness * 0.8
    shifted = logits - logits.max(-1, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))).astype(np.float32)


def both(log_probabilities, units, model, width, weight, bonus, penalty):
    reference = decode_with_language_model(
        log_probabilities.astype(np.float64), units, model, width, weight, bonus, penalty
    )
    graph = LanguageModelGraph(
        model,
        units,
        beam_width=width,
        lm_weight=weight,
        word_bonus=bonus,
        unknown_word_penalty=penalty,
    )
    decoded = tf.function(graph.transcribe)(tf.constant(log_probabilities))
    return reference, [text.decode() for text in decoded.numpy()]


@pytest.mark.parametrize(
    ("order", "width", "weight", "bonus", "penalty"),
    [(3, 8, 0.5, 1.0, 10.0), (2, 4, 1.0, 0.0, 0.0), (1, 1, 0.3, 0.5, 5.0), (3, 16, 2.0, -1.0, 2.0)],
)
def test_same_transcripts_as_the_python_decoder(tmp_path, order, width, weight, bonus, penalty):
    model = read_arpa(build_arpa(SENTENCES, order, tmp_path / "lm.arpa"))
    rng = np.random.default_rng(order * 100 + width)
    checked = 0
    for sharpness in (1.5, 3.0, 6.0):
        log_probabilities = peaky_log_probabilities(rng, 6, 30, len(CHARACTERS), sharpness)
        reference, graph = both(log_probabilities, CHARACTERS, model, width, weight, bonus, penalty)
        assert graph == reference
        checked += sum(len(text.split()) for text in reference)
    assert checked > 10  # the fixtures do produce words


def test_subword_units_complete_words_at_their_leading_space(tmp_path):
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    units = [" the", " ca", "t", " sat", " on", " a", "at", " m", "h", "e"]
    rng = np.random.default_rng(3)
    log_probabilities = peaky_log_probabilities(rng, 5, 25, len(units), 4.0)
    reference, graph = both(log_probabilities, units, model, 6, 0.8, 0.5, 10.0)
    assert graph == reference


def test_the_language_model_fixes_an_ambiguous_word(tmp_path):
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    # "the c?t" with the vowel 60/40 for o over a: the LM knows "the cat", not "the cot".
    spelled = "the c_t"
    frames = []
    for character in spelled:
        row = np.full(len(CHARACTERS) + 1, 1e-6)
        if character == "_":
            row[CHARACTERS.index("o") + 1], row[CHARACTERS.index("a") + 1] = 0.6, 0.4
        else:
            row[CHARACTERS.index(character) + 1] = 1.0
        frames.append(row / row.sum())
        blank = np.full(len(CHARACTERS) + 1, 1e-6)
        blank[0] = 1.0
        frames.append(blank / blank.sum())
    log_probabilities = np.log(np.array(frames, np.float32))[None]
    _, without = both(log_probabilities, CHARACTERS, model, 8, 0.0, 0.0, 0.0)
    reference, with_lm = both(log_probabilities, CHARACTERS, model, 8, 1.0, 0.0, 0.0)
    assert without == ["the cot"] and with_lm == ["the cat"] == reference


def test_empty_and_padded_inputs(tmp_path):
    model = read_arpa(build_arpa(SENTENCES, 2, tmp_path / "lm.arpa"))
    graph = LanguageModelGraph(
        model, CHARACTERS, beam_width=4, lm_weight=0.5, word_bonus=0.0, unknown_word_penalty=0.0
    )
    empty = graph.transcribe(tf.zeros([2, 0, len(CHARACTERS) + 1]))
    assert empty.numpy().tolist() == [b"", b""]


def test_scores_match_the_arpa_reader(tmp_path):
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    graph = LanguageModelGraph(
        model, CHARACTERS, beam_width=2, lm_weight=1.0, word_bonus=0.0, unknown_word_penalty=0.0
    )
    words = sorted({word for gram in model.probabilities for word in gram})
    ids = {word: index for index, word in enumerate(words)}
    cases = [(("<s>",), "the"), (("the", "cat"), "sat"), (("a", "cat"), "sat"), (("bed",), "zebra")]
    for history, word in cases:
        padded = [graph.padding_id] * (2 - len(history)) + [ids[w] for w in history]
        got = graph.log10_probability(
            tf.constant([padded], tf.int64), tf.constant([ids.get(word, graph.unseen_id)], tf.int64)
        )
        assert float(got[0]) == pytest.approx(model.log10_probability(history, word), abs=1e-9)


def test_refusals():
    units_with_inner_space = [" ", "a b"]
    model = NGramModel(1, {("a",): -0.5, ("<unk>",): -2.0}, {})
    with pytest.raises(ToolkitError, match="space after its first character"):
        LanguageModelGraph(
            model,
            units_with_inner_space,
            beam_width=2,
            lm_weight=1.0,
            word_bonus=0.0,
            unknown_word_penalty=0.0,
        )
    words = [f"w{index}" for index in range(300)]
    large = NGramModel(8, {(word,): -2.0 for word in words}, {})
    with pytest.raises(ToolkitError, match="too large to decode in the graph"):
        LanguageModelGraph(
            large, [" ", "w"], beam_width=2, lm_weight=1.0, word_bonus=0.0, unknown_word_penalty=0.0
        )


def test_text_hash_extends_unit_by_unit():
    # The graph extends a word's hash by a unit as hash(word) * radix^len(unit) + hash(unit).
    for which, (radix, prime) in enumerate([(131, 2147483647), (137, 2147483629)]):
        word, unit = "ca", "ts"
        combined = (
            text_hash(word, which) * pow(radix, len(unit), prime) + text_hash(unit, which)
        ) % prime
        assert combined == text_hash(word + unit, which)
