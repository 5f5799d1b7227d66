"""CTC prefix beam search over characters with a word n-gram language model (shallow fusion).

A prefix's score is its CTC probability (blank and non-blank endings kept apart, as in
Hannun et al. 2014) plus `lm_weight` × the natural-log LM probability of its completed words
plus `word_bonus` × their number. A word is scored when the space after it is emitted, and
the last word and the sentence end when the utterance ends.
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.speech.ctc import BLANK
from toolkit.speech.lm import BEGIN, NGramModel

_LN10 = math.log(10.0)
# Characters below this log probability on a frame are not tried there (speed only).
_PRUNE_LOG_PROBABILITY = math.log(1e-4)


def _add(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


class _Prefix:
    """A beam entry: text so far, CTC log probabilities ending in blank / non-blank, and the
    language-model score of its completed words."""

    __slots__ = ("text", "blank", "non_blank", "lm_score", "words", "history")

    def __init__(self, text: str, lm_score: float, words: int, history: tuple[str, ...]):
        self.text = text
        self.blank = -math.inf
        self.non_blank = -math.inf
        self.lm_score = lm_score
        self.words = words
        self.history = history

    @property
    def acoustic(self) -> float:
        return _add(self.blank, self.non_blank)


class LanguageModelScorer:
    """Word scores in natural log, cached per (history, word)."""

    def __init__(self, model: NGramModel, lm_weight: float, word_bonus: float):
        self.model = model
        self.lm_weight = lm_weight
        self.word_bonus = word_bonus
        self.cache: dict[tuple, float] = {}

    def word(self, history: tuple[str, ...], word: str) -> float:
        key = (history[-(self.model.order - 1) :] if self.model.order > 1 else (), word)
        score = self.cache.get(key)
        if score is None:
            score = self.model.log10_probability(key[0], word) * _LN10
            self.cache[key] = score
        return self.lm_weight * score + self.word_bonus


def _extend_word(
    prefix: _Prefix, text: str, scorer: LanguageModelScorer
) -> tuple[float, int, tuple]:
    """LM state after `text` = prefix.text + " ": the word just finished is scored."""
    word = prefix.text[prefix.text.rfind(" ") + 1 :]
    if not word:
        return prefix.lm_score, prefix.words, prefix.history
    return (
        prefix.lm_score + scorer.word(prefix.history, word),
        prefix.words + 1,
        (*prefix.history, word)[-max(scorer.model.order - 1, 1) :],
    )


def _entry(
    following: dict[str, _Prefix],
    text: str,
    parent: _Prefix,
    finished_word: bool,
    scorer: LanguageModelScorer,
) -> _Prefix:
    """The next frame's entry for `text`, created from `parent` the first time it is reached."""
    found = following.get(text)
    if found is None:
        if finished_word:
            lm_score, words, history = _extend_word(parent, text, scorer)
        else:
            lm_score, words, history = parent.lm_score, parent.words, parent.history
        found = following[text] = _Prefix(text, lm_score, words, history)
    return found


def decode_utterance(
    log_probabilities: np.ndarray,
    alphabet: list[str],
    scorer: LanguageModelScorer,
    beam_width: int,
) -> str:
    """Best transcript for one utterance's `[frames, 1 + len(alphabet)]` log probabilities."""
    space = alphabet.index(" ") + 1 if " " in alphabet else -1
    start = _Prefix("", 0.0, 0, (BEGIN,))
    start.blank = 0.0
    beams = {"": start}
    for frame in log_probabilities:
        candidates = np.flatnonzero(frame > _PRUNE_LOG_PROBABILITY)
        following: dict[str, _Prefix] = {}

        for prefix in beams.values():
            total = prefix.acoustic
            for unit in candidates:
                probability = float(frame[unit])
                if unit == BLANK:
                    same = _entry(following, prefix.text, prefix, False, scorer)
                    same.blank = _add(same.blank, total + probability)
                    continue
                character = alphabet[unit - 1]
                last = prefix.text[-1:] if prefix.text else ""
                if unit == space and (not prefix.text or last == " "):
                    # A space at the start or after a space adds nothing to the text.
                    same = _entry(following, prefix.text, prefix, False, scorer)
                    same.non_blank = _add(same.non_blank, total + probability)
                    continue
                extended_text = prefix.text + character
                extended = _entry(following, extended_text, prefix, unit == space, scorer)
                if character == last:
                    # A repeat only extends the text after a blank; otherwise it merges.
                    extended.non_blank = _add(extended.non_blank, prefix.blank + probability)
                    same = _entry(following, prefix.text, prefix, False, scorer)
                    same.non_blank = _add(same.non_blank, prefix.non_blank + probability)
                else:
                    extended.non_blank = _add(extended.non_blank, total + probability)
        ranked = sorted(following.values(), key=lambda p: p.acoustic + p.lm_score, reverse=True)
        beams = {p.text: p for p in ranked[:beam_width]}

    def final_score(prefix: _Prefix) -> float:
        lm_score, _, history = _extend_word(prefix, prefix.text + " ", scorer)
        end = scorer.lm_weight * scorer.model.log10_probability(history, "</s>") * _LN10
        return prefix.acoustic + lm_score + end

    best = max(beams.values(), key=final_score)
    return best.text.strip()


def decode_with_language_model(
    log_probabilities: np.ndarray,
    alphabet: list[str],
    model: NGramModel,
    beam_width: int,
    lm_weight: float,
    word_bonus: float,
) -> list[str]:
    """Transcripts for a batch `[batch, frames, 1 + len(alphabet)]` of log probabilities.

    Padded frames (forced to blank by the model) leave every prefix as it is."""
    scorer = LanguageModelScorer(model, lm_weight, word_bonus)
    return [decode_utterance(rows, alphabet, scorer, beam_width) for rows in log_probabilities]
