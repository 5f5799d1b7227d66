"""Checks on speech recognition rows: silent audio, over-long utterances, the alphabet."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from toolkit.audio.io import read_audio
from toolkit.data.text_check import reject
from toolkit.errors import DataError
from toolkit.progress import track
from toolkit.speech.transcripts import drop_characters, offending_characters

log = logging.getLogger("toolkit")
# Rows named in an error about characters outside the alphabet.
_ROWS_SHOWN = 5


def drop_silent(
    frame: pd.DataFrame, split: str, on_error: str, skipped: list[dict]
) -> pd.DataFrame:
    """Every file decoded once: undecodable audio, or audio whose samples are all zero
    (nothing to transcribe), stops the run or is skipped."""
    rows = track(frame.itertuples(), f"decoding {split} audio files", total=len(frame))
    problems = [_audio_problem(row.audio, int(row.file_rate)) for row in rows]
    for problem in dict.fromkeys(p for p in problems if p):
        bad = np.array([p == problem for p in problems], dtype=bool)
        frame = reject(frame, bad, split, problem, on_error, skipped)
        problems = [p for p, b in zip(problems, bad, strict=True) if not b]
    return frame


def _audio_problem(path: str, rate: int) -> str | None:
    try:
        samples = read_audio(path, rate)
    except DataError as error:
        return str(error)
    return None if np.any(samples) else "silent audio (every sample is zero)"


def drop_long(frame: pd.DataFrame, max_duration: float, skipped: list[dict]) -> pd.DataFrame:
    """Training utterances over `max_duration` seconds are left out (they dominate memory)."""
    long = (frame["duration"] > max_duration).to_numpy()
    if not long.any():
        return frame
    log.warning(
        "train: %d utterances longer than task.max_duration=%.1f s left out (listed in skipped.csv)",
        int(long.sum()),
        max_duration,
    )
    skipped.extend(
        {
            "split": "train",
            "source": row.source,
            "audio": row.audio,
            "reason": f"longer than {max_duration} s",
        }
        for row in frame[long].itertuples()
    )
    return frame[~long].reset_index(drop=True)


def fit_alphabet(frame: pd.DataFrame, split: str, alphabet: list[str], policy: str) -> pd.DataFrame:
    """Transcripts with characters outside the alphabet: an error listing the characters and
    rows (policy "error"), or the characters removed with a count (policy "drop")."""
    known = set(alphabet)
    offending = [offending_characters(text, known) for text in frame["transcript"]]
    bad = [i for i, characters in enumerate(offending) if characters]
    if not bad:
        return frame
    characters = sorted({c for i in bad for c in offending[i]})
    shown = ", ".join(repr(c) for c in characters)
    if policy == "error":
        rows = "; ".join(
            f"{frame['source'].iloc[i]} {''.join(offending[i])!r}" for i in bad[:_ROWS_SHOWN]
        )
        more = f" and {len(bad) - _ROWS_SHOWN} more" if len(bad) > _ROWS_SHOWN else ""
        raise DataError(
            f"{split}: {len(bad)} transcripts use characters outside the alphabet ({shown}): "
            f"{rows}{more} (set task.unknown_characters=drop to remove them, or add them to task.alphabet)"
        )
    log.warning(
        "%s: removed characters outside the alphabet (%s) from %d transcripts",
        split,
        shown,
        len(bad),
    )
    frame = frame.assign(transcript=[drop_characters(text, known) for text in frame["transcript"]])
    empty = (frame["transcript"] == "").to_numpy()
    if empty.any():
        raise DataError(
            f"{split} {frame[empty].iloc[0].source}: transcript is empty once characters outside "
            "the alphabet are removed"
        )
    return frame
