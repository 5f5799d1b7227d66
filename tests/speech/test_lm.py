"""The n-gram language model builder, the ARPA reader and LM fusion in beam search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from toolkit.cli import main
from toolkit.errors import DataError
from toolkit.speech.lm import build_arpa, read_arpa
from toolkit.speech.lm_decoder import decode_with_language_model

SENTENCES = ["the cat sat", "the cat ran", "a dog sat", "the dog ran fast", "a cat sat down"]


def test_probabilities_sum_to_one_for_every_context(tmp_path):
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    vocabulary = sorted({w for s in SENTENCES for w in s.split()} | {"</s>", "<unk>"})
    for history in [("<s>",), ("<s>", "the"), ("the", "cat"), ("cat",), ("dog", "ran"), ("zebra",)]:
        total = sum(10 ** model.log10_probability(history, word) for word in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-4), history
    # Seen continuations beat unseen ones.
    assert model.log10_probability(("the",), "cat") > model.log10_probability(("the",), "fast")


def test_arpa_header_counts_and_bad_lines(tmp_path):
    path = build_arpa(SENTENCES, 2, tmp_path / "lm.arpa")
    text = path.read_text()
    unigrams = int(text.split("ngram 1=")[1].split()[0])
    assert unigrams == len(text.split("\\1-grams:")[1].split("\\2-grams:")[0].strip().splitlines())
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\n\\end\\\n")
    with pytest.raises(DataError, match="bad.arpa line 5"):
        read_arpa(bad)
    with pytest.raises(DataError, match="no such language model"):
        read_arpa(tmp_path / "missing.arpa")


def ambiguous_logits(alphabet: list[str], vowels: dict[str, float] | None = None) -> np.ndarray:
    """Log probabilities for "the c?t": by default the vowel is 'o' a little more often than 'a'."""
    vowels = vowels or {"o": 0.52, "a": 0.48}
    frames = []
    for character in "the c?t":
        row = np.full(len(alphabet) + 1, 1e-4)
        if character == "?":
            for vowel, probability in vowels.items():
                row[alphabet.index(vowel) + 1] = probability
        else:
            row[alphabet.index(character) + 1] = 1.0
        frames.append(row / row.sum())
        blank = np.full(len(alphabet) + 1, 1e-4)
        blank[0] = 1.0
        frames.append(blank / blank.sum())
    return np.log(np.array(frames))[None]


def test_language_model_changes_an_ambiguous_word(tmp_path):
    alphabet = [" ", "a", "c", "e", "h", "o", "t"]
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    logits = ambiguous_logits(alphabet)
    without = decode_with_language_model(logits, alphabet, model, 8, 0.0, 0.0)
    with_lm = decode_with_language_model(logits, alphabet, model, 8, 1.0, 0.0)
    assert without == ["the cot"]
    assert with_lm == ["the cat"]


def test_cli_builds_from_a_manifest_and_a_text_file(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,transcript\na.wav,The cat SAT.\nb.wav,a dog\n")
    out = tmp_path / "lm.arpa"
    result = CliRunner().invoke(
        main, ["lm", "build", str(manifest), "-o", str(out), "--order", "2"]
    )
    assert result.exit_code == 0, result.output
    model = read_arpa(out)
    assert model.order == 2 and ("cat", "sat") in model.probabilities
    text = tmp_path / "t.txt"
    text.write_text("one two\n\ntwo three\n")
    result = CliRunner().invoke(main, ["lm", "build", str(text), "-o", str(out)])
    assert result.exit_code == 0 and "2 sentences" in result.output
    result = CliRunner().invoke(
        main, ["lm", "build", str(manifest), "-o", str(out), "--column", "text"]
    )
    assert result.exit_code == 2 and "no 'text' column" in result.output
    assert math.isfinite(read_arpa(out).sentence_log10(["one", "two"]))


def test_unknown_word_penalty_keeps_real_words_in_a_narrow_beam(tmp_path):
    alphabet = [" ", "a", "c", "e", "h", "t"]
    model = read_arpa(build_arpa(SENTENCES, 3, tmp_path / "lm.arpa"))
    assert "cat" in model.vocabulary() and "<unk>" not in model.vocabulary()
    logits = ambiguous_logits(alphabet, {"e": 0.7, "a": 0.3})
    # A light LM alone keeps the acoustically likelier non-word "cet".
    assert decode_with_language_model(logits, alphabet, model, 8, 0.1, 0.0) == ["the cet"]
    # The penalty on unknown words turns it into the known word; with a beam of one only
    # the check on unfinished words ("ce" starts no known word) can keep "ca" alive.
    for width in (8, 1):
        fixed = decode_with_language_model(logits, alphabet, model, width, 0.1, 0.0, 10.0)
        assert fixed == ["the cat"], width


def test_a_gzipped_arpa_file_reads_the_same(tmp_path):
    import gzip
    import shutil

    plain = build_arpa(SENTENCES, 3, tmp_path / "lm.arpa")
    with plain.open("rb") as source, gzip.open(tmp_path / "lm.arpa.gz", "wb") as target:
        shutil.copyfileobj(source, target)
    zipped = read_arpa(tmp_path / "lm.arpa.gz")
    assert zipped.probabilities == read_arpa(plain).probabilities and zipped.order == 3
