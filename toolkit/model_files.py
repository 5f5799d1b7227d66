"""`.keras` files: saved atomically with a SHA-256 checksum beside them, and loaded in Keras'
safe mode only after the checksum (where there is one) matches."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

from toolkit import atomic
from toolkit.errors import ToolkitError

CHECKSUM_SUFFIX = ".sha256"


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksum(path: str | Path) -> None:
    """`NAME.sha256` beside `path`, in the format `sha256sum -c` reads."""
    path = Path(path)
    atomic.write_text(checksum_path(path), f"{sha256(path)}  {path.name}\n")


def save_model(model: Any, path: str | Path) -> None:
    """The model as a .keras file (written under a temporary name), then its checksum."""
    atomic.save_model(model, path)
    write_checksum(path)


def verify(path: Path) -> None:
    """ToolkitError if the checksum recorded beside `path` does not match it."""
    recorded = checksum_path(path)
    if not recorded.is_file():
        return
    expected = (recorded.read_text().split() or [""])[0]
    if sha256(path) != expected:
        raise ToolkitError(
            f"{path}: does not match the checksum recorded when it was saved ({recorded.name}): "
            "the file has changed or is damaged"
        )


def load_model(path: str | Path) -> Any:
    """A .keras file, uncompiled, checked against its checksum and loaded in safe mode (no
    Python code inside the file is run)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ToolkitError(f"{path}: no such model file")
    verify(path)
    if not zipfile.is_zipfile(path):
        raise ToolkitError(f"{path}: not a readable .keras file (damaged or cut short)")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except zipfile.BadZipFile:
        raise ToolkitError(f"{path}: not a readable .keras file (damaged or cut short)") from None
    except ValueError as error:
        if "safe_mode" in str(error):
            raise ToolkitError(
                f"{path}: holds Python code (a Lambda layer) that safe loading does not run; "
                "the toolkit loads only models built from its own layers"
            ) from None
        raise
