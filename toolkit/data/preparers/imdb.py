"""IMDb movie reviews (Maas et al., 2011): `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`.

Some copies come as `train.jsonl` and `test.jsonl` (one review per line, `text` and `label`)
instead; both layouts give the same columns: `text`, `label` ("pos"/"neg") and `source`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# The published digest (also in TensorFlow Datasets' checksums).
SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
FOLDER = "aclImdb"
SPLITS = ("train", "test")
LABELS = ("pos", "neg")
# Copies exported from other libraries number the classes instead: 0 is negative, 1 positive.
NUMBERED_LABELS = {"0": "neg", "1": "pos"}

_FILE_NAME = re.compile(r"(?P<id>\d+)_(?P<rating>\d+)\.txt")
_HINT = (
    "pass the folder holding aclImdb/ (or aclImdb itself, or train.jsonl and test.jsonl) "
    "or run `toolkit data download imdb`"
)


def _is_review_tree(folder: Path) -> bool:
    return all((folder / split / label).is_dir() for split in SPLITS for label in LABELS)


def read_review_tree(folder: str | Path, split: str) -> pd.DataFrame:
    """One split of the aclImdb tree; `source` is the file's path relative to `folder`."""
    folder = Path(folder)
    rows = []
    for label in LABELS:
        labelled = folder / split / label
        if not labelled.is_dir():
            raise DataError(f"{labelled}: folder does not exist; {_HINT}")
        reviews = []
        for path in labelled.iterdir():
            match = _FILE_NAME.fullmatch(path.name)
            if match and path.is_file():
                reviews.append((int(match["id"]), path))
        for _, path in sorted(reviews):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"{path}: not UTF-8 text ({error.reason})") from None
            rows.append(
                {"text": text, "label": label, "source": path.relative_to(folder).as_posix()}
            )
    if not rows:
        raise DataError(f"{folder / split}: no pos/<id>_<rating>.txt or neg/ reviews; {_HINT}")
    return pd.DataFrame(rows, columns=["text", "label", "source"])


def read_jsonl(path: str | Path) -> pd.DataFrame:
    """Reviews from a JSON-lines file with `text` and `label` ("pos"/"neg", or 1/0) per line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; {_HINT}")
    rows = []
    with open(path, encoding="utf-8") as file:
        try:
            lines = list(file)
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 text ({error.reason})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict) or not {"text", "label"} <= record.keys():
            raise DataError(f"{path}: line {number}: expected an object with text and label")
        label = str(record["label"]).strip().lower()
        label = NUMBERED_LABELS.get(label, label)
        if label not in LABELS:
            raise DataError(
                f"{path}: line {number}: label {record['label']!r} is not pos, neg, 1 or 0"
            )
        text = record["text"]
        if not isinstance(text, str):
            raise DataError(f"{path}: line {number}: text is not a string")
        rows.append({"text": text, "label": label, "source": f"{path.name} row {len(rows) + 1}"})
    if not rows:
        raise DataError(f"{path}: no reviews")
    return pd.DataFrame(rows, columns=["text", "label", "source"])


def prepare(root: str | Path) -> dict[str, pd.DataFrame]:
    """Train and test reviews (25,000 each in the full dataset); train/unsup is not read."""
    root = Path(root).absolute()
    if not root.is_dir():
        raise DataError(f"{root}: folder does not exist; {_HINT}")
    if all((root / f"{split}.jsonl").is_file() for split in SPLITS):
        return {split: read_jsonl(root / f"{split}.jsonl") for split in SPLITS}
    for folder in (root / FOLDER, root):
        if folder.is_dir() and (folder / "train").is_dir():
            return {split: read_review_tree(folder, split) for split in SPLITS}
    raise DataError(f"{root}: no aclImdb/ folder, train/ folder or train.jsonl; {_HINT}")


def download(root: str | Path) -> Path:
    """Download the reviews into `<root>/aclImdb` (about 80 MB), unless already there."""
    root = Path(root).absolute()
    if _is_review_tree(root / FOLDER):
        return root
    with archive.unpacked_download(URL, root, SHA256) as unpacked:
        if not _is_review_tree(unpacked / FOLDER):
            raise DataError(f"{URL}: the archive has no {FOLDER}/{{train,test}}/{{pos,neg}}/")
        # One rename of the whole tree, so a half-moved dataset never looks complete.
        archive.move_into_place(unpacked / FOLDER, root / FOLDER)
    return root
