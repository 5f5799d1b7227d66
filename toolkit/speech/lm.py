"""Word n-gram language models in ARPA format: built from transcripts, read, and scored.

`build_arpa` estimates an interpolated Kneser-Ney model (Chen & Goodman 1998): lower orders
use continuation counts (how many different words precede an n-gram), each order subtracts
one discount D = n1 / (n1 + 2 n2) from every count, and the freed mass goes to the next lower
order. Written as ARPA, an n-gram's probability is the interpolated one and a context's
back-off weight is the mass it gave away, so any ARPA reader (KenLM included) scores it the same.
"""

from __future__ import annotations

import gzip
import math
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from toolkit.errors import DataError
from toolkit.progress import Progress, track

BEGIN, END, UNKNOWN = "<s>", "</s>", "<unk>"
_NEVER = -99.0  # ARPA's log10 probability of <s> as a predicted word


def _discount(counts: Iterable[int]) -> float:
    histogram = Counter(counts)
    once, twice = histogram.get(1, 0), histogram.get(2, 0)
    if once == 0 or twice == 0:
        return 0.5
    return min(max(once / (once + 2.0 * twice), 0.1), 0.9)


def build_arpa(transcripts: Iterable[str], order: int, path: str | Path) -> Path:
    """Estimate an `order`-gram interpolated Kneser-Ney model of the word sequences in
    `transcripts` (split on spaces) and write it as ARPA (atomically)."""
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    sentences = [text.split() for text in transcripts if text and text.strip()]
    if not sentences:
        raise DataError("no transcripts to build a language model from")
    highest: Counter = Counter()
    for words in track(sentences, "language model: counting n-grams"):
        padded = [BEGIN, *words, END]
        for n in range(1, order + 1):
            for start in range(len(padded) - n + 1):
                gram = tuple(padded[start : start + n])
                if n == order or gram[0] == BEGIN:
                    # The highest order, and n-grams that start a sentence (nothing can
                    # precede them), keep their raw counts.
                    highest[gram] += 1
    # Continuation counts for the lower orders.
    counts: list[Counter] = [Counter() for _ in range(order + 1)]
    for gram, count in highest.items():
        counts[len(gram)][gram] += count
    predecessors: dict[tuple, set] = defaultdict(set)
    for words in sentences:
        padded = [BEGIN, *words, END]
        for n in range(2, order + 1):
            for start in range(len(padded) - n + 1):
                gram = tuple(padded[start : start + n])
                predecessors[gram[1:]].add(gram[0])
    for gram, before in predecessors.items():
        if gram[0] != BEGIN:
            counts[len(gram)][gram] = len(before)
    counts[1].pop((BEGIN,), None)

    vocabulary = sorted({gram[0] for gram in counts[1]} | {UNKNOWN})
    probabilities: list[dict[tuple, float]] = [{} for _ in range(order + 1)]
    backoffs: list[dict[tuple, float]] = [{} for _ in range(order + 1)]

    # Unigrams: discounted continuation counts, the freed mass spread evenly over the vocabulary.
    discount = _discount(counts[1].values())
    total = sum(counts[1].values())
    spread = discount * len(counts[1]) / total / len(vocabulary)
    for word in vocabulary:
        probabilities[1][(word,)] = max(counts[1].get((word,), 0) - discount, 0.0) / total + spread

    for n in range(2, order + 1):
        discount = _discount(counts[n].values())
        context_totals: Counter = Counter()
        context_types: Counter = Counter()
        for gram, count in counts[n].items():
            context_totals[gram[:-1]] += count
            context_types[gram[:-1]] += 1
        for context, context_total in context_totals.items():
            backoffs[n - 1][context] = discount * context_types[context] / context_total
        for gram, count in counts[n].items():
            context = gram[:-1]
            lower = _interpolated(gram[1:], probabilities, backoffs)
            probabilities[n][gram] = (count - discount) / context_totals[context] + backoffs[n - 1][
                context
            ] * lower
    return _write_arpa(path, order, probabilities, backoffs)


def _interpolated(gram: tuple, probabilities: list[dict], backoffs: list[dict]) -> float:
    """p(gram[-1] | gram[:-1]) from the orders estimated so far, backing off as ARPA does."""
    weight = 1.0
    while len(gram) > 1 and gram not in probabilities[len(gram)]:
        weight *= backoffs[len(gram) - 1].get(gram[:-1], 1.0)
        gram = gram[1:]
    return weight * probabilities[len(gram)].get(gram, probabilities[1][(UNKNOWN,)])


def _write_arpa(
    path: str | Path, order: int, probabilities: list[dict], backoffs: list[dict]
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = []
    for n in range(1, order + 1):
        entries = dict(probabilities[n])
        if n == 1:
            entries[(BEGIN,)] = None
        sections.append((n, sorted(entries.items(), key=lambda item: item[0])))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("\n\\data\\\n")
        for n, entries in sections:
            out.write(f"ngram {n}={len(entries)}\n")
        for n, entries in sections:
            out.write(f"\n\\{n}-grams:\n")
            for gram, probability in entries:
                log_probability = _NEVER if probability is None else math.log10(probability)
                line = f"{log_probability:.6f}\t{' '.join(gram)}"
                if n < order and gram in backoffs[n]:
                    line += f"\t{math.log10(backoffs[n][gram]):.6f}"
                out.write(line + "\n")
        out.write("\n\\end\\\n")
    os.replace(temporary, path)
    return path


class NGramModel:
    """An ARPA model in memory: log10 probabilities of words given their history."""

    def __init__(self, order: int, probabilities: dict[tuple, float], backoffs: dict[tuple, float]):
        self.order = order
        self.probabilities = probabilities
        self.backoffs = backoffs
        self.unknown = probabilities.get((UNKNOWN,), -7.0)

    def log10_probability(self, history: tuple[str, ...], word: str) -> float:
        """log10 p(word | the last order-1 words of history), backing off to shorter ones."""
        history = history[-(self.order - 1) :] if self.order > 1 else ()
        penalty = 0.0
        while True:
            gram = (*history, word)
            if gram in self.probabilities:
                return penalty + self.probabilities[gram]
            if not history:
                return penalty + self.unknown
            penalty += self.backoffs.get(history, 0.0)
            history = history[1:]

    def vocabulary(self) -> frozenset[str]:
        """The words with a unigram probability, sentence marks and <unk> left out."""
        return frozenset(
            gram[0]
            for gram in self.probabilities
            if len(gram) == 1 and gram[0] not in (BEGIN, END, UNKNOWN)
        )

    def sentence_log10(self, words: list[str]) -> float:
        """log10 probability of a whole sentence, </s> included."""
        history: tuple[str, ...] = (BEGIN,)
        total = 0.0
        for word in [*words, END]:
            total += self.log10_probability(history, word)
            history = (*history, word)
        return total


def read_arpa(path: str | Path) -> NGramModel:
    """Read an ARPA file, plain or gzipped (`.gz`); a malformed line is an error naming the
    file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such language model file")
    probabilities: dict[tuple, float] = {}
    backoffs: dict[tuple, float] = {}
    order = 0
    section = 0
    zipped = path.suffix == ".gz"
    # The text's size is not known before a gzipped file is read through.
    size = None if zipped else path.stat().st_size
    progress = Progress(f"reading {path.name}", size, unit="bytes")
    opened = gzip.open(path, "rt", encoding="utf-8") if zipped else path.open(encoding="utf-8")
    with opened as lines:
        for number, line in enumerate(lines, 1):
            progress.update(len(line))
            line = line.strip()
            if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
                order = max(order, section)
                continue
            if section == 0:
                continue
            fields = line.split()
            try:
                probability = float(fields[0])
                gram = tuple(fields[1 : 1 + section])
                if len(gram) != section or len(fields) > section + 2:
                    raise ValueError
                backoff = float(fields[section + 1]) if len(fields) == section + 2 else None
            except (ValueError, IndexError):
                raise DataError(
                    f"{path} line {number}: expected 'log10p w1 .. w{section} [backoff]', got {line!r}"
                ) from None
            probabilities[gram] = probability
            if backoff is not None:
                backoffs[gram] = backoff
    progress.close()
    if order == 0:
        raise DataError(f"{path}: not an ARPA language model (no \\1-grams: section)")
    return NGramModel(order, probabilities, backoffs)
