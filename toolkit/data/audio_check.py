"""Check every audio row of a split before training: a bad file stops the run or is skipped.

Only headers are read here (fast); the summary of sample rates and durations comes from
the same pass.
"""

from __future__ import annotations

import pandas as pd

from toolkit.audio.io import audio_info
from toolkit.errors import DataError
from toolkit.progress import track


def check_audio_rows(
    frame: pd.DataFrame, split: str, on_error: str, skipped: list[dict]
) -> pd.DataFrame:
    """Add `duration` and `file_rate` columns; raise on the first bad row or record it in `skipped`."""
    durations, rates, keep = [], [], []
    rows = frame.itertuples(index=False)
    for row in track(rows, f"checking {split} audio files", total=len(frame)):
        problem = None
        if not row.audio:
            problem = "empty audio path"
        else:
            try:
                info = audio_info(row.audio)
            except DataError as error:
                problem = str(error)
        if problem is None and info.frames == 0:
            problem = f"{row.audio}: empty audio file"
        if problem is not None:
            if on_error == "raise":
                raise DataError(
                    f"{split} {row.source}: {problem} (set data.on_error=skip to skip bad rows)"
                )
            skipped.append(
                {"split": split, "source": row.source, "audio": row.audio, "reason": problem}
            )
            keep.append(False)
            durations.append(0.0)
            rates.append(0)
            continue
        keep.append(True)
        durations.append(info.duration)
        rates.append(info.sample_rate)
    checked = frame.assign(duration=durations, file_rate=rates)
    return checked[keep].reset_index(drop=True)
