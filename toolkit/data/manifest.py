"""Read data splits: manifests (CSV, TSV, JSONL via pandas), class folders or named datasets.

Every split comes back as a DataFrame with the task's canonical columns (e.g. `audio`,
`label`), relative paths resolved against the manifest's folder, and a `source` column
("train.csv row 12") that error messages quote.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import registry
from toolkit.config import DataConfig
from toolkit.errors import DataError

# A task's readers of a class folder, and of files in a format of its own (None: a table).
FolderReader = Callable[[Path], pd.DataFrame]
FileReader = Callable[..., pd.DataFrame | None]

TABLE_READERS = {
    ".csv": lambda path, errors: pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding_errors=errors
    ),
    ".tsv": lambda path, errors: pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, encoding_errors=errors
    ),
    ".jsonl": lambda path, errors: pd.read_json(
        path, lines=True, dtype=False, encoding_errors=errors
    ),
    ".json": lambda path, errors: pd.read_json(path, dtype=False, encoding_errors=errors),
}


def first_undecodable_line(path: Path) -> tuple[int, str] | None:
    """(line number, reason) of the first line that is not UTF-8, if any."""
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, f"{error.reason} at byte {error.start}"
    return None


def read_table(path: str | Path, encoding_errors: str = "strict") -> pd.DataFrame:
    """A manifest file as a DataFrame of strings; DataError naming the file otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: manifest not found")
    reader = TABLE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported manifest type (use .csv, .tsv or .jsonl)")
    if encoding_errors == "strict":
        bad = first_undecodable_line(path)
        if bad is not None:
            raise DataError(
                f"{path} line {bad[0]}: bytes that are not UTF-8 ({bad[1]}); fix the file or "
                "set data.encoding_errors=replace"
            )
    try:
        table = reader(path, encoding_errors)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, json.JSONDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot parse manifest ({reason})") from None
    if table.empty:
        raise DataError(f"{path}: manifest has no rows")
    return table


def read_manifest(
    path: str | Path,
    columns: dict[str, str],
    required: tuple[str, ...],
    path_columns: tuple[str, ...] = (),
    encoding_errors: str = "strict",
) -> pd.DataFrame:
    """Read a manifest and rename its columns to the canonical names in `required`."""
    path = Path(path)
    table = read_table(path, encoding_errors)
    renamed = {}
    for canonical in required:
        column = columns.get(canonical, canonical)
        if column not in table.columns:
            hint = (
                "" if canonical in columns else f"; map it with --set data.columns.{canonical}=NAME"
            )
            raise DataError(
                f"{path}: no column {column!r} for {canonical} (columns: {', '.join(map(str, table.columns))}){hint}"
            )
        renamed[column] = canonical
    frame = table.rename(columns=renamed)
    extra = [name for name in ("speaker",) if name in frame.columns and name not in required]
    frame = frame[list(required) + extra].copy()
    for canonical in required:
        if canonical not in path_columns:
            frame[canonical] = frame[canonical].map(cell_text)
    for canonical in path_columns:
        frame[canonical] = [resolve_relative(value, path.parent) for value in frame[canonical]]
    frame["source"] = [f"{path.name} row {index + 1}" for index in range(len(frame))]
    return frame.reset_index(drop=True)


def cell_text(value: Any) -> str:
    """A manifest cell as text. JSON null (NaN once pandas has read a column of numbers) is
    empty, for the task's check to name the row, not a class "nan"; whole numbers read as
    floats beside a null (1.0) are written as they were (1); lists (multi-label cells) stay
    readable as JSON rather than Python repr."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def resolve_relative(value: Any, base: Path) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    candidate = Path(text).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def read_source(
    source: str,
    columns: dict[str, str],
    required: tuple[str, ...],
    path_columns: tuple[str, ...],
    folder_reader: FolderReader | None,
    encoding_errors: str = "strict",
    file_reader: FileReader | None = None,
) -> pd.DataFrame:
    """A manifest file, or (when the task can read one) a folder with one sub-folder per class."""
    path = Path(source)
    if path.is_dir():
        if folder_reader is None:
            raise DataError(
                f"{path}: is a folder; this task reads manifest files (.csv, .tsv, .jsonl)"
            )
        frame = folder_reader(path)
        frame["source"] = [str(Path(audio).relative_to(path)) for audio in frame["audio"]]
        return frame.reset_index(drop=True)
    if file_reader is not None and path.is_file():
        # Task-specific formats (CoNLL files for tagging); None means "read it as a table".
        frame = file_reader(path, encoding_errors=encoding_errors)
        if frame is not None:
            return frame.reset_index(drop=True)
    return read_manifest(path, columns, required, path_columns, encoding_errors)


def split_validation(train: pd.DataFrame, fraction: float, seed: int, stratify: str | None):
    """A seeded (stratified where possible) validation split carved out of train."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise DataError(f"data.valid_fraction: expected a number between 0 and 1, got {fraction}")
    labels = None
    if stratify is not None:
        counts = train[stratify].value_counts()
        if counts.min() >= 2 and len(counts) <= fraction * len(train):
            labels = train[stratify]
    kept, held = train_test_split(train, test_size=fraction, random_state=seed, stratify=labels)
    return kept.reset_index(drop=True), held.reset_index(drop=True)


def load_splits(
    data: DataConfig,
    required: tuple[str, ...],
    path_columns: tuple[str, ...] = (),
    folder_reader: FolderReader | None = None,
    stratify: str | None = None,
    file_reader: FileReader | None = None,
) -> dict[str, pd.DataFrame]:
    """Train, valid and test DataFrames from the recipe's `data` block."""
    splits: dict[str, pd.DataFrame] = {}
    if data.dataset:
        if not data.root:
            raise DataError(
                f"data.root: the {data.dataset} dataset needs its folder (--set data.root=PATH)"
            )
        prepare = registry.get("dataset", data.dataset)
        splits = dict(prepare(data.root, **data.options))
        for name, frame in splits.items():
            frame = frame.reset_index(drop=True)
            if "source" not in frame.columns:
                frame["source"] = [
                    f"{data.dataset} {name} #{index + 1}" for index in range(len(frame))
                ]
            splits[name] = frame
    given = {"train": data.train, "valid": data.valid, "test": data.test}
    for name, source in given.items():
        if source:
            splits[name] = read_source(
                source,
                data.columns,
                required,
                path_columns,
                folder_reader,
                data.encoding_errors,
                file_reader,
            )
    if "train" not in splits:
        raise DataError(
            "data.train: no training data (give data.train, or data.dataset with data.root)"
        )
    if "valid" not in splits:
        splits["train"], splits["valid"] = split_validation(
            splits["train"], data.valid_fraction, data.seed, stratify
        )
    return splits
