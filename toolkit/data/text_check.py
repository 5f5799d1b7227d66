"""Checks on text rows before training: empty texts and labels, replaced bytes, long texts."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError

log = logging.getLogger("toolkit")
REPLACEMENT_CHARACTER = "\ufffd"


def reject(
    frame: pd.DataFrame,
    bad: np.ndarray,
    split: str,
    reason: str,
    on_error: str,
    skipped: list[dict],
) -> pd.DataFrame:
    """Raise on the first bad row (on_error=raise), or drop the bad rows and list them."""
    if not bad.any():
        return frame
    rows = frame[bad]
    if on_error == "raise":
        raise DataError(
            f"{split} {rows.iloc[0].source}: {reason} (set data.on_error=skip to drop such rows)"
        )
    skipped.extend(
        {"split": split, "source": source, "reason": reason} for source in rows["source"]
    )
    return frame[~bad].reset_index(drop=True)


def check_text_rows(
    frame: pd.DataFrame, split: str, on_error: str, skipped: list[dict], column: str = "text"
) -> pd.DataFrame:
    """Empty texts are refused or skipped; texts with replaced (non-UTF-8) bytes are counted."""
    texts = frame[column].map(lambda value: "" if value is None else str(value))
    frame = frame.assign(**{column: texts})
    frame = reject(
        frame, (texts.str.strip() == "").to_numpy(), split, f"empty {column}", on_error, skipped
    )
    replaced = frame[column].str.contains(REPLACEMENT_CHARACTER, regex=False)
    if replaced.any():
        log.warning(
            "%s: %d rows had bytes that are not UTF-8, replaced with U+FFFD (first: %s)",
            split,
            int(replaced.sum()),
            frame[replaced].iloc[0].source,
        )
    if frame.empty:
        raise DataError(f"{split}: no usable rows left")
    return frame


def split_labels(value: Any, delimiter: str) -> list[str]:
    """A multi-label cell: a list (JSONL), a JSON list in a string, or delimited text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(item) for item in value]
    else:
        text = "" if value is None else str(value).strip()
        if text.startswith("["):
            try:
                items = [str(item) for item in json.loads(text)]
            except json.JSONDecodeError:
                items = text.split(delimiter)
        else:
            items = text.split(delimiter)
    return sorted({item.strip() for item in items if item.strip()})


def check_labels_present(
    frame: pd.DataFrame, split: str, on_error: str, skipped: list[dict]
) -> pd.DataFrame:
    empty = frame["label"].map(
        lambda value: len(value) == 0 if isinstance(value, tuple) else value == ""
    )
    frame = reject(frame, empty.to_numpy(), split, "empty label", on_error, skipped)
    if frame.empty:
        raise DataError(f"{split}: no usable rows left")
    return frame


def report_truncation(tokenizer, texts: np.ndarray) -> None:
    """Say in the log how many texts are longer than the model reads (never cut silently)."""
    if tokenizer.output_mode != "sequence" or tokenizer.max_length is None:
        return
    counts = tokenizer.token_counts(texts)
    longer = int(np.sum(counts > tokenizer.max_length))
    if longer:
        log.warning(
            "%d of %d training texts are longer than features.max_length=%d tokens (longest %d); "
            "the model reads their first %d tokens (raise features.max_length to read more)",
            longer,
            len(texts),
            tokenizer.max_length,
            int(counts.max()),
            tokenizer.max_length,
        )


def report_unknown(unknown: int, total: int, what: str) -> float:
    """Log how much of the training text a kept vocabulary misses; returns the share."""
    share = unknown / total if total else 0.0
    log.info(
        "vocabulary kept from the source model: %d of %d training %s (%.1f%%) are out of it "
        "and read as unknown",
        unknown,
        total,
        what,
        100 * share,
    )
    return share


def check_tokenizer_fits(tokenizer, backbone) -> None:
    """A bag-of-n-grams backbone needs a bag; a sequence backbone needs token ids."""
    wanted = backbone.input_kind
    given = "sequence" if tokenizer.output_mode == "sequence" else "bag"
    if wanted == "bag" and not tokenizer.gives_bags:
        raise ValueError(
            f"model {type(backbone).__name__} reads a bag of tokens but the "
            f"{type(tokenizer).__name__} gives sequences only (use a sequence model such as "
            "text_cnn or recurrent_text, or the word tokenizer)"
        )
    if wanted != given:
        needed = (
            "features.output_mode: multi_hot"
            if wanted == "bag"
            else "features.output_mode: sequence"
        )
        raise ValueError(
            f"model {type(backbone).__name__} reads a {wanted} of tokens but the tokenizer gives a "
            f"{given} (set {needed})"
        )


def looks_like_a_path(item: str) -> bool:
    """One word that names a file (by its suffix) or starts like a path: a missing file given
    on the command line, which must not be classified as the text of its name."""
    from toolkit.audio.io import SUPPORTED_EXTENSIONS
    from toolkit.data.manifest import TABLE_READERS

    if not item or any(character.isspace() for character in item) or Path(item).exists():
        return False
    suffixes = {".txt", ".conll", ".conllu", *TABLE_READERS, *SUPPORTED_EXTENSIONS}
    return Path(item).suffix.lower() in suffixes or item.startswith(("/", "./", "../", "~/"))


def read_prediction_texts(inputs: list[str]) -> list[str]:
    """Texts to classify: each input is a text file (one text per line) or a manifest with a
    `text` column (.csv, .tsv, .jsonl); anything else is taken as the text itself."""
    from toolkit.data.manifest import TABLE_READERS, cell_text, read_table

    texts: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() in TABLE_READERS and path.is_file():
            table = read_table(path)
            if "text" not in table.columns:
                raise DataError(
                    f"{path}: no column 'text' (columns: {', '.join(map(str, table.columns))})"
                )
            for row, value in enumerate(table["text"], start=1):
                if not isinstance(value, str):
                    shown = "empty (null)" if cell_text(value) == "" else f"{value!r}, not a text"
                    raise DataError(f"{path} row {row}: text is {shown}")
                texts.append(value)
        elif path.suffix.lower() == ".txt" and path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
                ) from None
            texts.extend(line for line in lines if line.strip())
        elif looks_like_a_path(item):
            raise DataError(
                f"{item}: no such file (a text to predict on holds more than one word; "
                "files: .txt, one text a line, or a manifest with a text column)"
            )
        else:
            texts.append(item)
    if not texts:
        raise DataError(
            "no text to predict (give texts, .txt files or manifests with a text column)"
        )
    return texts
