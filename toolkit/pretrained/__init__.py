"""Pretrained models shipped with the toolkit (`assets/models/<name>/`), usable as a
fine-tuning source by name.

Each folder is laid out as a run directory (model.keras and recipe.resolved.yaml, so
fine-tuning reads it like any run) with a card.yaml beside it: the task, inputs, labels, the
data it was trained on, its size and measured figures, and the command that rebuilds it.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import ToolkitError
from toolkit.resources import assets_dir

CARD = "card.yaml"
# Name -> the module whose `build(folder, *, output, ...)` renders or reads the model's data,
# trains its recipe and writes its card.
BUILDERS = {"speech_words": "toolkit.pretrained.speech_words"}


def models_dir() -> Path:
    return assets_dir() / "models"


def names() -> list[str]:
    """Every shipped model that has been built (its folder holds a card and a model)."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if (path / CARD).is_file() and (path / "model.keras").is_file()
    )


def is_name(text: str | Path) -> bool:
    """Whether `text` could name a shipped model rather than a path (no folder part)."""
    text = str(text)
    return bool(text) and "/" not in text and "\\" not in text and not text.endswith(".keras")


def find(name: str) -> Path:
    """The folder of shipped model `name`; ToolkitError listing the known ones otherwise."""
    known = names()
    if name in known:
        return models_dir() / name
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ToolkitError(
        f"{name}: no such run directory, .keras file or pretrained model (pretrained models: "
        f"{', '.join(known) or 'none built'}){hint}"
    )


def card(name: str) -> dict[str, Any]:
    """The model card of shipped model `name`."""
    return yaml.safe_load((find(name) / CARD).read_text())


def size_mb(path: Path) -> float:
    """The size of a file, or of every file under a folder, in MiB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(file.stat().st_size for file in files) / 2**20


def builder(name: str) -> Callable[..., dict[str, Any]]:
    """The function that rebuilds shipped model `name`."""
    if name not in BUILDERS:
        raise ToolkitError(
            f"{name}: no pretrained model of that name (known: {', '.join(BUILDERS)})"
        )
    return importlib.import_module(BUILDERS[name]).build
