"""CTC prefix beam search over characters with a word n-gram language model (shallow fusion).

A prefix's score is its CTC probability (blank and non-blank endings kept apart, as in
Hannun et al. 2014) plus `lm_weight` × the natural-log LM probability of its completed words
plus `word_bonus` × their number. A word is scored when the space after it is emitted, and
the last word and the sentence end when the utterance ends.

A word the LM has never seen loses `unknown_word_penalty` (log10 units, before `lm_weight`)
beyond the LM's own `<unk>` probability, and a prefix whose unfinished word starts no known
word is ranked with that loss already, so misspellings leave the beam before they crowd out real words
(the same idea as pyctcdecode's `unk_score_offset` with its partial-word check).
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.progress import Progress
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
    """A beam entry: its labels and text, CTC log probabilities ending in blank / non-blank,
    and the language-model state and score of its completed words."""

    __slots__ = ("labels", "text", "blank", "non_blank", "lm_score", "history")

    def __init__(self, labels: tuple, text: str, lm_score: float, history: tuple[str, ...]):
        self.labels = labels
        self.text = text
        self.blank = -math.inf
        self.non_blank = -math.inf
        self.lm_score = lm_score
        self.history = history

    @property
    def acoustic(self) -> float:
        return _add(self.blank, self.non_blank)


class LanguageModelScorer:
    """Word scores in natural log, cached per (history, word)."""

    def __init__(
        self,
        model: NGramModel,
        lm_weight: float,
        word_bonus: float,
        unknown_word_penalty: float = 0.0,
    ):
        self.model = model
        self.lm_weight = lm_weight
        self.word_bonus = word_bonus
        self.cache: dict[tuple, float] = {}
        # Natural-log score a prefix loses while its unfinished word starts no known word.
        self.partial_penalty = -lm_weight * unknown_word_penalty * _LN10
        self.unknown_word_penalty = unknown_word_penalty
        self.vocabulary = model.vocabulary()
        self.word_starts: set[str] = set()
        if unknown_word_penalty:
            for word in self.vocabulary:
                self.word_starts.update(word[:end] for end in range(1, len(word) + 1))

    def word(self, history: tuple[str, ...], word: str) -> float:
        key = (history[-(self.model.order - 1) :] if self.model.order > 1 else (), word)
        score = self.cache.get(key)
        if score is None:
            score = self.model.log10_probability(key[0], word)
            if word not in self.vocabulary:
                score -= self.unknown_word_penalty
            score *= _LN10
            self.cache[key] = score
        return self.lm_weight * score + self.word_bonus

    def partial(self, text: str) -> float:
        """Ranking penalty for a prefix whose last, unfinished word begins no known word."""
        if not self.partial_penalty:
            return 0.0
        word = _last_word(text)
        return self.partial_penalty if word and word not in self.word_starts else 0.0


def _last_word(text: str) -> str:
    return text[text.rfind(" ") + 1 :]


def _entry(
    following: dict[tuple, _Prefix],
    parent: _Prefix,
    unit: int | None,
    unit_text: str,
    scorer: LanguageModelScorer,
) -> _Prefix:
    """The next frame's entry for `parent` extended by `unit` (None: unchanged), created the
    first time it is reached; a unit that starts with a space completes the word before it."""
    labels = parent.labels if unit is None else (*parent.labels, unit)
    found = following.get(labels)
    if found is None:
        lm_score, history = parent.lm_score, parent.history
        word = _last_word(parent.text)
        if unit is not None and unit_text.startswith(" ") and word:
            lm_score += scorer.word(history, word)
            history = (*history, word)[-max(scorer.model.order - 1, 1) :]
        text = parent.text if unit is None else parent.text + unit_text
        found = following[labels] = _Prefix(labels, text, lm_score, history)
    return found


def decode_utterance(
    log_probabilities: np.ndarray,
    units: list[str],
    scorer: LanguageModelScorer,
    beam_width: int,
) -> str:
    """Best transcript for one utterance's `[frames, 1 + len(units)]` log probabilities.

    `units` are the texts of labels 1..V: characters (" " separates words), or subword
    pieces whose leading space starts a new word."""
    start = _Prefix((), "", 0.0, (BEGIN,))
    start.blank = 0.0
    beams = [start]
    for frame in log_probabilities:
        candidates = np.flatnonzero(frame > _PRUNE_LOG_PROBABILITY)
        following: dict[tuple, _Prefix] = {}
        for prefix in beams:
            total = prefix.acoustic
            last = prefix.labels[-1] if prefix.labels else None
            for unit in candidates:
                probability = float(frame[unit])
                if unit == BLANK:
                    same = _entry(following, prefix, None, "", scorer)
                    same.blank = _add(same.blank, total + probability)
                    continue
                extended = _entry(following, prefix, int(unit), units[unit - 1], scorer)
                if unit == last:
                    # A repeat extends the labels only after a blank; otherwise it merges.
                    extended.non_blank = _add(extended.non_blank, prefix.blank + probability)
                    same = _entry(following, prefix, None, "", scorer)
                    same.non_blank = _add(same.non_blank, prefix.non_blank + probability)
                else:
                    extended.non_blank = _add(extended.non_blank, total + probability)
        beams = sorted(
            following.values(),
            key=lambda p: p.acoustic + p.lm_score + scorer.partial(p.text),
            reverse=True,
        )
        beams = beams[:beam_width]

    def final_score(prefix: _Prefix) -> float:
        score, history = prefix.lm_score, prefix.history
        word = _last_word(prefix.text)
        if word:
            score += scorer.word(history, word)
            history = (*history, word)
        end = scorer.lm_weight * scorer.model.log10_probability(history, "</s>") * _LN10
        return prefix.acoustic + score + end

    best = max(beams, key=final_score)
    return " ".join(best.text.split())


def decode_with_language_model(
    log_probabilities: np.ndarray,
    units: list[str],
    model: NGramModel,
    beam_width: int,
    lm_weight: float,
    word_bonus: float,
    unknown_word_penalty: float = 0.0,
    progress: Progress | None = None,
) -> list[str]:
    """Transcripts for a batch `[batch, frames, 1 + len(units)]` of log probabilities.

    Padded frames (forced to blank by the model) leave every prefix as it is. `progress`, one
    counter for all the batches of a split (see `decoding_progress`), counts utterances."""
    scorer = LanguageModelScorer(model, lm_weight, word_bonus, unknown_word_penalty)
    texts = []
    for rows in log_probabilities:
        texts.append(decode_utterance(rows, units, scorer, beam_width))
        if progress is not None:
            progress.update()
    return texts


def decoding_progress(utterances: int, split: str | None = None) -> Progress:
    """The counter to pass to `decode_with_language_model` for every batch of a split (close
    it after the last)."""
    where = f" {split}" if split else ""
    return Progress(f"decoding{where} with the language model", utterances)
