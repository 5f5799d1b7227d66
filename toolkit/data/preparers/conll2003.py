"""CoNLL-2003 English named entities: `train.txt`, `valid.txt` and `test.txt`.

Four space-separated columns per token (token, POS, chunk, NER), blank lines between
sentences. The original names (`eng.train`, `eng.testa`, `eng.testb`) and common renamings
(`dev.txt`, `testa`, `testb`) are found too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.errors import DataError
from toolkit.text.readers import read_conll

PAGE = "https://www.clips.uantwerpen.be/conll2003/ner/"
NER_COLUMN = 3
# Candidate file names per split, in order of preference.
FILE_NAMES = {
    "train": ("train.txt", "eng.train", "train"),
    "valid": ("valid.txt", "dev.txt", "eng.testa", "testa.txt", "testa"),
    "test": ("test.txt", "eng.testb", "testb.txt", "testb"),
}
_HINT = "pass the folder holding train.txt, valid.txt and test.txt"


def find_split_files(root: str | Path) -> dict[str, Path]:
    """The file of each split present in `root`; train and test are required."""
    root = Path(root).absolute()
    if not root.is_dir():
        raise DataError(f"{root}: folder does not exist; {_HINT}")
    found = {}
    for split, names in FILE_NAMES.items():
        present = [root / name for name in names if (root / name).is_file()]
        if present:
            found[split] = present[0]
        elif split != "valid":
            raise DataError(f"{root}: no {' or '.join(names)}; {_HINT}")
    return found


def prepare(root: str | Path, tag_column: int = NER_COLUMN) -> dict[str, pd.DataFrame]:
    """Train, valid and test sentences with `tokens`, `tags` (NER by default) and `source`.

    `tag_column` picks another column as tags: 1 for POS, 2 for chunks. Without a validation
    file, only train and test come back.
    """
    return {
        split: read_conll(path, token_column=0, tag_column=tag_column)
        for split, path in find_split_files(root).items()
    }


def download(root: str | Path) -> Path:
    """CoNLL-2003 cannot be downloaded: the Reuters texts it is built on are licensed."""
    raise DataError(
        f"{Path(root).absolute()}: CoNLL-2003 has no public download (the Reuters corpus "
        f"is licensed); obtain it as described on the shared task page {PAGE} and place "
        "train.txt, valid.txt and test.txt in this folder"
    )
