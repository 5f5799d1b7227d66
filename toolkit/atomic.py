"""Files written under a temporary name in their folder and renamed into place, so that a crash
at any point leaves the previous complete file or none, never a partial file that loads."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def partial_path(path: Path) -> Path:
    """`.NAME.partial.SUFFIX` beside `path`: hidden, and with the suffix writers check for
    (Keras saves only to names ending in .keras or .weights.h5)."""
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return path.with_name(f".{stem}.partial{suffix}")


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yields the temporary path to write; renamed to `path` if the block ends normally,
    removed if it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = partial_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


@contextmanager
def replacing_folder(path: str | Path, force: bool) -> Iterator[Path]:
    """Yields an empty temporary folder beside `path` to build an export in; it becomes `path`
    if the block ends normally and is removed if it raises. An existing `path` is refused
    unless `force`, and is moved aside before the new folder takes its place, so a failure
    leaves the old folder or the new one, never neither."""
    from toolkit.errors import ToolkitError

    path = Path(path)
    if path.exists() and not force:
        raise ToolkitError(
            f"{path}: an export already exists (replace it with --force, or force=True from Python)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp"))
    built = staging / "built"
    built.mkdir()
    try:
        yield built
        if path.exists():
            previous = path.with_name(f".{path.name}.old")
            shutil.rmtree(previous, ignore_errors=True)
            path.rename(previous)
            built.rename(path)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            built.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: str | Path, content: Any) -> None:
    write_text(path, json.dumps(content, indent=2) + "\n")


def write_csv(table: Any, path: str | Path) -> None:
    """A pandas DataFrame, without its index."""
    with replacing(path) as temporary:
        table.to_csv(temporary, index=False)


def save_model(model: Any, path: str | Path) -> None:
    """A Keras model as a .keras file."""
    with replacing(path) as temporary:
        model.save(temporary)


def save_figure(figure: Any, path: str | Path, **options: Any) -> None:
    """A matplotlib figure (the format from the suffix of `path`)."""
    path = Path(path)
    with replacing(path) as temporary:
        figure.savefig(temporary, format=path.suffix.lstrip(".") or None, **options)
