"""Word vectors from a local text file (GloVe, or word2vec text format with its header line)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from toolkit.errors import DataError

log = logging.getLogger("toolkit")


def read_word_vectors(
    path: str | Path, vocabulary: list[str], dimension: int
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors `[len(vocabulary), dimension]`, found mask) for the words of `vocabulary`.

    Only vocabulary words are kept, so a large file costs one pass and no more memory than
    the model's own table. Words are matched as they are and lower-cased.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: word vectors file not found")
    index = {word: i for i, word in enumerate(vocabulary)}
    vectors = np.zeros((len(vocabulary), dimension), dtype=np.float32)
    found = np.zeros(len(vocabulary), dtype=bool)
    with open(path, encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec text header: "<count> <dimension>"
            if len(parts) < 2:
                continue
            if len(parts) - 1 != dimension:
                raise DataError(
                    f"{path} line {number}: {len(parts) - 1} numbers, but the model's word "
                    f"embeddings have {dimension} (set model.word_embedding_dim={len(parts) - 1})"
                )
            word = parts[0]
            for key in (word, word.lower()):
                i = index.get(key)
                if i is not None and not found[i]:
                    try:
                        vectors[i] = np.asarray(parts[1:], dtype=np.float32)
                    except ValueError:
                        raise DataError(
                            f"{path} line {number}: not a word followed by numbers"
                        ) from None
                    found[i] = True
    return vectors, found
