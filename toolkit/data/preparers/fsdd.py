"""Free Spoken Digit Dataset (FSDD): `<root>/recordings/{digit}_{speaker}_{index}.wav`, 8 kHz."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd

from toolkit.data.preparers import archive
from toolkit.errors import DataError

VERSION = "1.0.10"
URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v{VERSION}.tar.gz"
SAMPLE_RATE = 8000
# The dataset's README defines the split: the first five takes of every speaker and digit are test.
OFFICIAL_TEST_INDICES = range(0, 5)

_FILE_NAME = re.compile(r"(?P<label>\d)_(?P<speaker>.+)_(?P<index>\d+)\.wav")
_HINT = "pass the FSDD root (containing recordings/) or run `toolkit data download fsdd`"


def read_recordings(root: str | Path) -> pd.DataFrame:
    """Every recording with its audio path, label, speaker and take index."""
    recordings = Path(root).absolute() / "recordings"
    if not recordings.is_dir():
        raise DataError(f"{recordings.parent}: no recordings/ folder; {_HINT}")
    rows = []
    for path in recordings.iterdir():
        match = _FILE_NAME.fullmatch(path.name)
        if match and path.is_file():
            rows.append(
                {
                    "audio": str(path),
                    "label": match["label"],
                    "speaker": match["speaker"],
                    "index": int(match["index"]),
                }
            )
    if not rows:
        raise DataError(f"{recordings}: no {{digit}}_{{speaker}}_{{index}}.wav files; {_HINT}")
    table = pd.DataFrame(rows)
    return table.sort_values(["label", "speaker", "index"], kind="stable").reset_index(drop=True)


def prepare(
    root: str | Path, test_speakers: list[str] | str | None = None
) -> dict[str, pd.DataFrame]:
    """Train and test splits of FSDD.

    By default the official split (takes 0-4 of every speaker and digit are test). With
    `test_speakers`, a leave-speakers-out split instead: those speakers are test, all others train.
    """
    table = read_recordings(root)
    if test_speakers is None:
        in_test = table["index"].isin(OFFICIAL_TEST_INDICES)
    else:
        chosen = [test_speakers] if isinstance(test_speakers, str) else list(test_speakers)
        known = sorted(table["speaker"].unique())
        unknown = sorted(set(chosen) - set(known))
        if not chosen or unknown:
            raise DataError(
                f"{Path(root).absolute() / 'recordings'}: no recordings of test speaker(s) "
                f"{', '.join(unknown) or '(none given)'}; speakers are {', '.join(known)}"
            )
        in_test = table["speaker"].isin(chosen)
        if in_test.all():
            raise DataError(
                f"{Path(root).absolute() / 'recordings'}: every speaker is a test speaker, "
                "leaving nothing to train on"
            )
    columns = ["audio", "label", "speaker"]
    return {
        "train": table.loc[~in_test, columns].reset_index(drop=True),
        "test": table.loc[in_test, columns].reset_index(drop=True),
    }


def write_class_folders(
    root: str | Path, output: str | Path, speakers: list[str] | None = None
) -> Path:
    """Lay FSDD out as one folder per digit, `<output>/<digit>/<file>.wav`, as a user would.

    Files are symbolic links to the recordings (copies where links are not allowed). `speakers`
    limits the output to those speakers. Returns the output folder.
    """
    table = read_recordings(root)
    if speakers is not None:
        table = table[table["speaker"].isin(list(speakers))]
        if table.empty:
            raise DataError(
                f"{Path(root).absolute() / 'recordings'}: no recordings of speaker(s) "
                f"{', '.join(speakers)}"
            )
    output = Path(output).absolute()
    for source, label in zip(table["audio"], table["label"], strict=True):
        source = Path(source)
        target = output / label / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        try:
            os.symlink(source.resolve(), target)
        except OSError:
            shutil.copy2(source, target)
    return output


def download(root: str | Path) -> Path:
    """Download FSDD into `<root>/recordings`, unless it is already there. Returns root."""
    root = Path(root).absolute()
    recordings = root / "recordings"
    if recordings.is_dir() and any(recordings.glob("*.wav")):
        return root
    with archive.unpacked_download(URL, root) as unpacked:
        top = unpacked / f"free-spoken-digit-dataset-{VERSION}"
        if not (top / "recordings").is_dir():
            raise DataError(
                f"{URL}: the archive has no free-spoken-digit-dataset-{VERSION}/recordings/"
            )
        # README and licence first: recordings/ arriving last marks the download as complete.
        for name in ("README.md", "LICENSE", "LICENCE"):
            if (top / name).is_file():
                archive.move_into_place(top / name, root / name)
        archive.move_into_place(top / "recordings", recordings)
    return root
