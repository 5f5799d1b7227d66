"""The user's own data laid out as one sub-folder per class: `<folder>/<label>/**/<clip>`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.errors import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def _hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def read_class_folders(folder: str | Path) -> pd.DataFrame:
    """A manifest (audio, label) of every audio file, labelled by its top-level sub-folder.

    Files may sit at any depth inside a class folder; hidden files and folders are ignored.
    """
    folder = Path(folder).absolute()
    if not folder.is_dir():
        raise DataError(f"{folder}: folder does not exist")
    rows = []
    for class_folder in sorted(folder.iterdir()):
        if not class_folder.is_dir() or class_folder.name.startswith("."):
            continue
        clips = sorted(
            path
            for path in class_folder.rglob("*")
            if path.suffix.lower() in AUDIO_EXTENSIONS
            and path.is_file()
            and not _hidden(path, class_folder)
        )
        rows.extend({"audio": str(path), "label": class_folder.name} for path in clips)
    if not rows:
        raise DataError(
            f"{folder}: no class folders with audio ({', '.join(AUDIO_EXTENSIONS)}); "
            "expected <folder>/<label>/<clip>"
        )
    return pd.DataFrame(rows, columns=["audio", "label"])
