"""Transcript normalization and the character vocabulary of a speech recognizer.

Normalization is the same for training targets, references at evaluation and language-model
text, so WER compares like with like.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

PUNCTUATION_MODES = ("remove", "keep")
# Characters that join words and are kept inside them when punctuation is removed.
_WORD_JOINERS = "'"
_SPACES = re.compile(r"\s+")


def normalize_transcript(text: str, lowercase: bool = True, punctuation: str = "remove") -> str:
    """NFC, optional case folding, punctuation removed (apostrophes inside words kept), single spaces."""
    if punctuation not in PUNCTUATION_MODES:
        raise ValueError(f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}")
    text = unicodedata.normalize("NFC", "" if text is None else str(text))
    if lowercase:
        text = text.lower()
    if punctuation == "remove":
        text = "".join(
            " "
            if unicodedata.category(character).startswith("P") and character not in _WORD_JOINERS
            else character
            for character in text
        )
        # An apostrophe only stays between letters ("don't"), not as a quote mark.
        text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return _SPACES.sub(" ", text).strip()


def build_alphabet(transcripts: Iterable[str]) -> list[str]:
    """The characters of the (normalized) training transcripts, space first, then sorted."""
    counts = Counter(character for text in transcripts for character in text)
    characters = sorted(set(counts) - {" "})
    return [" ", *characters] if " " in counts else characters


def offending_characters(text: str, alphabet: set[str]) -> list[str]:
    """Characters of `text` that are not in the alphabet, in order of first appearance."""
    seen: dict[str, None] = {}
    for character in text:
        if character not in alphabet:
            seen.setdefault(character, None)
    return list(seen)


def drop_characters(text: str, alphabet: set[str]) -> str:
    """`text` without characters outside the alphabet (spaces tidied up)."""
    kept = "".join(character if character in alphabet else " " for character in text)
    return _SPACES.sub(" ", kept).strip()


def repeats(ids: list[int]) -> int:
    """Adjacent equal labels: CTC needs a blank frame between each such pair."""
    return sum(1 for first, second in zip(ids, ids[1:], strict=False) if first == second)


def frames_needed(ids: list[int]) -> int:
    """The fewest output frames CTC can align `ids` to."""
    return len(ids) + repeats(ids)
