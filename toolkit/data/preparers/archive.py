"""Download a dataset archive and unpack it so that a half-finished run never looks complete."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import DataError

_CHUNK_BYTES = 1 << 20


def fetch(url: str, destination: Path) -> None:
    """Stream `url` into the file `destination`."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as file:
        shutil.copyfileobj(response, file, _CHUNK_BYTES)


@contextmanager
def unpacked_download(url: str, root: Path) -> Iterator[Path]:
    """Download the tar archive at `url`, unpack it and yield the folder holding its contents.

    Everything happens in a temporary folder inside `root`, removed on exit: renaming from there
    into `root` stays on one file system and is therefore atomic, and an interrupted download
    leaves only a hidden ".download-*" folder behind, never a partial dataset.
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        archive = staging / "archive.tar.gz"
        fetch(url, archive)
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        try:
            with tarfile.open(archive) as tar:
                # The "data" filter refuses absolute paths, links out of the folder and devices.
                tar.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise DataError(
                f"{url}: the downloaded archive cannot be unpacked ({error})"
            ) from error
        archive.unlink()
        yield unpacked
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def move_into_place(source: Path, target: Path) -> None:
    """Rename `source` to `target`, replacing what an earlier interrupted run left there."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(source, target)
