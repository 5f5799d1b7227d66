"""Download a dataset archive and unpack it so that a half-finished run never looks complete.

A download goes to `<root>/.<archive name>.part` first: an interrupted one is resumed by the next
run (an HTTP Range request, where the server allows it), and only a complete archive whose SHA-256
matches the digest published for it (where the preparer knows one) is unpacked.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import DataError
from toolkit.progress import Progress

log = logging.getLogger("toolkit")
_CHUNK_BYTES = 1 << 20
_TIMEOUT_S = 60
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


def archive_name(url: str) -> str:
    return Path(urllib.parse.urlparse(url).path).name or "archive"


def partial_path(url: str, root: Path) -> Path:
    """Where the download of `url` accumulates until it is complete."""
    return Path(root) / f".{archive_name(url)}.part"


def _open(url: str, offset: int):
    """The response for `url` from byte `offset` on, and the offset it really starts at (0 when
    the server sends the whole file instead)."""
    if offset == 0:
        return urllib.request.urlopen(url, timeout=_TIMEOUT_S), 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"})
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code != 416:  # 416: the range is past the end; the partial file is stale
            raise
        return urllib.request.urlopen(url, timeout=_TIMEOUT_S), 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if getattr(response, "status", 200) == 206 and match and int(match.group(1)) == offset:
        return response, offset
    return response, 0


def _expected_size(response, offset: int) -> int | None:
    length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
    return offset + int(length) if length and length.isdigit() else None


def fetch(url: str, destination: Path, partial: Path, sha256: str | None = None) -> str:
    """Download `url` into the file `destination` by way of `partial` (resumed if it holds the
    start of an earlier attempt) and return its SHA-256.

    A failed transfer keeps `partial` for the next run; a digest other than `sha256` removes
    it, since resuming a corrupt file cannot mend it.
    """
    name = archive_name(url)
    offset = partial.stat().st_size if partial.is_file() else 0
    digest = hashlib.sha256()
    try:
        response, start = _open(url, offset)
        with response:
            if offset and start == 0:
                log.info("%s: the server cannot resume; downloading it from the start", name)
            elif offset:
                log.info("%s: resuming the download after %d bytes", name, offset)
                with partial.open("rb") as done:
                    for chunk in iter(lambda: done.read(_CHUNK_BYTES), b""):
                        digest.update(chunk)
            size = _expected_size(response, start)
            with (
                partial.open("ab" if start else "wb") as file,
                Progress(f"downloading {name}", size, unit="bytes", done=start) as progress,
            ):
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    file.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
    except (OSError, http.client.HTTPException) as error:
        kept = partial.stat().st_size if partial.is_file() else 0
        raise DataError(
            f"{url}: download failed ({error}); {kept} bytes kept in {partial}, run the "
            "command again to resume"
        ) from error
    received = partial.stat().st_size
    if size is not None and received != size:
        raise DataError(
            f"{url}: the download ended after {received} of {size} bytes; kept in {partial}, "
            "run the command again to resume"
        )
    actual = digest.hexdigest()
    if sha256 is not None and actual != sha256.lower():
        partial.unlink()
        raise DataError(
            f"{name}: SHA-256 mismatch: expected {sha256}, got {actual} (a corrupt download "
            "or a changed file on the server; removed, run again to download it anew)"
        )
    if sha256 is None:
        log.info("%s: SHA-256 %s (unchecked: no published digest for it)", name, actual)
    os.replace(partial, destination)
    return actual


@contextmanager
def unpacked_download(url: str, root: Path, sha256: str | None = None) -> Iterator[Path]:
    """Download the tar archive at `url`, check it against `sha256` where given, unpack it and
    yield the folder holding its contents.

    Unpacking happens in a temporary folder inside `root`, removed on exit: renaming from there
    into `root` stays on one file system and is therefore atomic, and an interrupted run
    leaves only hidden files behind (the partial download, which the next run resumes, and
    perhaps a ".download-*" folder), never a partial dataset.
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        archive = staging / archive_name(url)
        fetch(url, archive, partial_path(url, root), sha256)
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
