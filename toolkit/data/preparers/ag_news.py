"""AG News topic classification (Zhang et al., 2015): `train.csv` and `test.csv`.

Both files have no header and three columns: class index (1-4), title and description;
`classes.txt` names the classes, one per line. The root may also be the folder holding the
unpacked `ag_news_csv/`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "https://s3.amazonaws.com/fast-ai-nlp/ag_news_csv.tgz"
FOLDER = "ag_news_csv"
SPLITS = ("train", "test")
CLASSES = ("World", "Sports", "Business", "Sci/Tech")
# The downloaded files, moved in this order: train.csv arriving last marks a complete download.
FILES = ("readme.txt", "classes.txt", "test.csv", "train.csv")

# The corpus marks line breaks with a backslash ("dwindling\band", "2\million") and sometimes
# as "\n"; both become a space. A "\n" followed by letters is a break before a word starting
# with n, so the n stays. "\$" is an escaped dollar sign, not a break.
_ESCAPED_DOLLAR = re.compile(r"\\+(?=\$)")
_LINE_BREAK = re.compile(r"\\+n(?![A-Za-z])|\\+")
_SPACES = re.compile(r"\s+")
_HINT = (
    "pass the folder holding train.csv and test.csv (or ag_news_csv/) "
    "or run `toolkit data download ag_news`"
)


def clean_text(text: str) -> str:
    """The corpus's backslash line breaks turned into spaces, runs of whitespace collapsed."""
    text = _LINE_BREAK.sub(" ", _ESCAPED_DOLLAR.sub("", text))
    return _SPACES.sub(" ", text).strip()


def read_classes(folder: str | Path) -> list[str]:
    """Class names from `classes.txt`, the four standard names where the file is missing."""
    path = Path(folder) / "classes.txt"
    if not path.is_file():
        return list(CLASSES)
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    names = [name for name in names if name]
    if not names:
        raise DataError(f"{path}: no class names")
    return names


def read_split(path: str | Path, classes: list[str]) -> pd.DataFrame:
    """One CSV file as `text` (title. description), `label` and `source` ("train.csv row N")."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; {_HINT}")
    rows = []
    try:
        with open(path, encoding="utf-8", newline="") as file:
            for number, fields in enumerate(csv.reader(file, strict=True), start=1):
                if not fields:
                    continue
                if len(fields) != 3:
                    raise DataError(
                        f"{path}: row {number}: {len(fields)} fields, expected 3 "
                        "(class index, title, description)"
                    )
                index, title, description = fields
                if not index.strip().isdigit() or not 1 <= int(index) <= len(classes):
                    raise DataError(
                        f"{path}: row {number}: class index {index!r} is not between 1 "
                        f"and {len(classes)}"
                    )
                title, description = clean_text(title), clean_text(description)
                text = f"{title}. {description}" if title and description else title or description
                rows.append(
                    {
                        "text": text,
                        "label": classes[int(index) - 1],
                        "source": f"{path.name} row {number}",
                    }
                )
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise DataError(f"{path}: cannot parse CSV ({error})") from None
    if not rows:
        raise DataError(f"{path}: no rows")
    return pd.DataFrame(rows, columns=["text", "label", "source"])


def _dataset_folder(root: Path) -> Path:
    for folder in (root, root / FOLDER):
        if (folder / "train.csv").is_file():
            return folder
    if not root.is_dir():
        raise DataError(f"{root}: folder does not exist; {_HINT}")
    raise DataError(f"{root}: no train.csv; {_HINT}")


def prepare(root: str | Path) -> dict[str, pd.DataFrame]:
    """Train and test splits (120,000 and 7,600 articles in the full dataset)."""
    folder = _dataset_folder(Path(root).absolute())
    classes = read_classes(folder)
    return {split: read_split(folder / f"{split}.csv", classes) for split in SPLITS}


def download(root: str | Path) -> Path:
    """Download AG News into `<root>` (train.csv, test.csv, classes.txt), unless already there."""
    root = Path(root).absolute()
    if all((root / f"{split}.csv").is_file() for split in SPLITS):
        return root
    with archive.unpacked_download(URL, root) as unpacked:
        top = unpacked / FOLDER
        if not all((top / f"{split}.csv").is_file() for split in SPLITS):
            raise DataError(f"{URL}: the archive has no {FOLDER}/train.csv and test.csv")
        for name in FILES:
            if (top / name).is_file():
                archive.move_into_place(top / name, root / name)
    return root
