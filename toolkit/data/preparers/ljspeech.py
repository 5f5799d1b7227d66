"""LJ Speech 1.1: `<root>/LJSpeech-1.1/metadata.csv` and `wavs/<id>.wav`, one speaker, 22.05 kHz.

metadata.csv has no header and one `id|raw text|normalized text` line per clip; quotes in the
text are literal characters, so the lines are split on "|" rather than parsed as CSV.
The dataset defines no split; `prepare` draws a seeded one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"
# The published digest (torchaudio's checksum for this release).
SHA256 = "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
FOLDER = "LJSpeech-1.1"
SPEAKER = "LJ"
COLUMNS = ["audio", "transcript", "speaker", "source"]

_HINT = "pass the LJSpeech-1.1 folder or its parent, or run `toolkit data download ljspeech`"


def ljspeech_folder(root: str | Path) -> Path:
    """The folder holding metadata.csv: `<root>/LJSpeech-1.1`, or root itself."""
    root = Path(root).absolute()
    return root if (root / "metadata.csv").is_file() else root / FOLDER


def read_metadata(root: str | Path) -> pd.DataFrame:
    """Every clip with its normalized transcript, in metadata.csv order."""
    folder = ljspeech_folder(root)
    metadata = folder / "metadata.csv"
    if not metadata.is_file():
        raise DataError(f"{Path(root).absolute()}: no {FOLDER}/metadata.csv; {_HINT}")
    wavs = folder / "wavs"
    present = {path.stem for path in wavs.glob("*.wav")} if wavs.is_dir() else set()
    rows = []
    for number, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{metadata} line {number}"
        fields = line.split("|")
        if len(fields) != 3 or not fields[0].strip() or not fields[2].strip():
            raise DataError(f"{where}: expected 'id|raw text|normalized text', got {line!r}")
        clip = fields[0].strip()
        if clip not in present:
            raise DataError(f"{where}: {wavs / clip}.wav does not exist")
        rows.append(
            {
                "audio": str(wavs / f"{clip}.wav"),
                "transcript": fields[2].strip(),
                "speaker": SPEAKER,
                "source": f"metadata.csv line {number}",
            }
        )
    if not rows:
        raise DataError(f"{metadata}: no clips listed; {_HINT}")
    return pd.DataFrame(rows, columns=COLUMNS)


def _count(fraction: float, total: int) -> int:
    # A split asked for gets at least one clip, however small the data.
    return 0 if fraction == 0 else max(1, round(fraction * total))


def prepare(
    root: str | Path,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    seed: int = 1234,
) -> dict[str, pd.DataFrame]:
    """Train, valid and test splits drawn at random (seeded) from all clips.

    A fraction of 0 leaves that split out. Each split keeps the metadata.csv order.
    """
    folder = ljspeech_folder(root)
    for name, fraction in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0 <= fraction < 1:
            raise DataError(f"{folder}: {name} must be at least 0 and below 1, not {fraction}")
    table = read_metadata(root)
    total = len(table)
    valid_count, test_count = _count(valid_fraction, total), _count(test_fraction, total)
    if valid_count + test_count >= total:
        raise DataError(
            f"{folder}: {valid_count} valid and {test_count} test clips leave none of the "
            f"{total} to train on"
        )
    order = np.random.default_rng(seed).permutation(total)
    chosen = {
        "test": order[:test_count],
        "valid": order[test_count : test_count + valid_count],
        "train": order[test_count + valid_count :],
    }
    return {
        split: table.iloc[np.sort(chosen[split])].reset_index(drop=True)
        for split in ("train", "valid", "test")
        if len(chosen[split])
    }


def download(root: str | Path) -> Path:
    """Download LJ Speech into `<root>/LJSpeech-1.1`, unless it is already there. Returns root."""
    root = Path(root).absolute()
    if (ljspeech_folder(root) / "metadata.csv").is_file():
        return root
    with archive.unpacked_download(URL, root, SHA256) as unpacked:
        if not (unpacked / FOLDER / "metadata.csv").is_file():
            raise DataError(f"{URL}: the archive has no {FOLDER}/metadata.csv")
        # One rename of the whole folder: it appears complete or not at all.
        archive.move_into_place(unpacked / FOLDER, root / FOLDER)
    return root
