"""Read token-per-line corpora (CoNLL-2003 columns, CoNLL-U) into one row per sentence.

Every reader returns a DataFrame with `tokens` (list[str]), `tags` (list[str]) and `source`
("train.txt line 12", the line of the sentence's first token) that error messages quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from toolkit import atomic
from toolkit.errors import DataError

DOCUMENT_START = "-DOCSTART-"
CONLLU_COLUMNS = 10
CONLLU_FIELDS = {"upos": 3, "xpos": 4}
CONLLU_MISC = 9
MISSING_MISC_TAG = "O"
ENCODING_ERRORS = ("strict", "replace")

_WORD_ID = re.compile(r"[1-9][0-9]*")
_MULTIWORD_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY_NODE_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")


def read_lines(path: Path, encoding_errors: str = "strict") -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file without their line ends.

    Decoding line by line lets an error name the line; "replace" substitutes U+FFFD instead.
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise DataError(f"encoding_errors: expected 'strict' or 'replace', got {encoding_errors!r}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8", errors=encoding_errors)
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path}: line {number}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                    f"position {error.start + 1}); fix the file or read it with "
                    "encoding_errors='replace'"
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")  # a byte order mark some editors write
            yield number, line.rstrip("\r\n")


def _sentence_frame(path: Path, sentences: list[tuple[int, list[str], list[str]]]) -> pd.DataFrame:
    if not sentences:
        raise DataError(f"{path}: no sentences (expected one token per line, blank lines between)")
    return pd.DataFrame(
        {
            "tokens": [tokens for _, tokens, _ in sentences],
            "tags": [tags for _, _, tags in sentences],
            "source": [f"{path.name} line {line}" for line, _, _ in sentences],
        }
    )


def _check_index(path: Path, number: int, name: str, index: int, count: int) -> None:
    if not -count <= index < count:
        raise DataError(
            f"{path}: line {number}: no column {index} for {name} (the line has {count} columns)"
        )


def read_conll(
    path: str | Path,
    token_column: int = 0,
    tag_column: int = -1,
    separator: str | None = None,
    encoding_errors: str = "strict",
) -> pd.DataFrame:
    """Sentences of a CoNLL column file (CoNLL-2003 style), one row each.

    One token per line with its columns split on whitespace (or `separator`, e.g. "\\t"), blank
    lines between sentences; `-DOCSTART-` lines are skipped. Every token line must have as many
    columns as the first one. Column indices may be negative, counting from the last column.
    """
    path = Path(path)
    sentences: list[tuple[int, list[str], list[str]]] = []
    expected: tuple[int, int] | None = None  # (column count, line it was taken from)
    start, tokens, tags = 0, [], []
    for number, line in read_lines(path, encoding_errors):
        if not line.strip():
            if tokens:
                sentences.append((start, tokens, tags))
            start, tokens, tags = 0, [], []
            continue
        columns = line.split(separator)
        if columns[0] == DOCUMENT_START:
            continue
        if expected is None:
            expected = (len(columns), number)
            _check_index(path, number, "tokens", token_column, len(columns))
            _check_index(path, number, "tags", tag_column, len(columns))
        elif len(columns) != expected[0]:
            raise DataError(
                f"{path}: line {number}: {len(columns)} columns, but the first token line "
                f"(line {expected[1]}) has {expected[0]}"
            )
        if not tokens:
            start = number
        tokens.append(columns[token_column])
        tags.append(columns[tag_column])
    if tokens:
        sentences.append((start, tokens, tags))
    return _sentence_frame(path, sentences)


def _conllu_tag_reader(tag_field: str):
    """A function from a token line's columns to its tag, for `tag_field`."""
    if tag_field in CONLLU_FIELDS:
        index = CONLLU_FIELDS[tag_field]
        return lambda columns: columns[index]
    key = tag_field.removeprefix("misc:")
    if not tag_field.startswith("misc:") or not key:
        raise DataError(f"tag_field: expected 'upos', 'xpos' or 'misc:<Key>', got {tag_field!r}")

    def misc_value(columns: list[str]) -> str:
        for pair in columns[CONLLU_MISC].split("|"):
            name, equals, value = pair.partition("=")
            if equals and name == key:
                return value
        return MISSING_MISC_TAG

    return misc_value


def read_conllu(
    path: str | Path, tag_field: str = "upos", encoding_errors: str = "strict"
) -> pd.DataFrame:
    """Sentences of a CoNLL-U file, one row each, tagged by `tag_field`.

    `tag_field` is "upos", "xpos" or "misc:<Key>" (the value of Key=Value in the MISC column,
    "O" where the key is missing). Comments, multi-word token ranges (3-4) and empty nodes (5.1)
    are skipped: the rows hold the syntactic words.
    """
    path = Path(path)
    tag_of = _conllu_tag_reader(tag_field)
    sentences: list[tuple[int, list[str], list[str]]] = []
    start, tokens, tags = 0, [], []
    for number, line in read_lines(path, encoding_errors):
        if not line.strip():
            if tokens:
                sentences.append((start, tokens, tags))
            start, tokens, tags = 0, [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != CONLLU_COLUMNS:
            raise DataError(
                f"{path}: line {number}: {len(columns)} tab-separated columns, "
                f"CoNLL-U token lines have {CONLLU_COLUMNS}"
            )
        word_id = columns[0]
        if _MULTIWORD_ID.fullmatch(word_id) or _EMPTY_NODE_ID.fullmatch(word_id):
            continue
        if not _WORD_ID.fullmatch(word_id):
            raise DataError(f"{path}: line {number}: {word_id!r} is not a CoNLL-U word ID")
        if not tokens:
            start = number
        tokens.append(columns[1])
        tags.append(tag_of(columns))
    if tokens:
        sentences.append((start, tokens, tags))
    return _sentence_frame(path, sentences)


def write_conll(frame: pd.DataFrame, path: str | Path, separator: str = " ") -> Path:
    """Write the `tokens` and `tags` of every row as a two-column CoNLL file. Returns the path.

    Sentences are separated by blank lines, so `read_conll` gives the same rows back.
    """
    path = Path(path)
    missing = [name for name in ("tokens", "tags") if name not in frame.columns]
    if missing:
        raise DataError(f"{path}: cannot write CoNLL, the frame has no {' or '.join(missing)}")
    blocks = []
    for row, (tokens, tags) in enumerate(zip(frame["tokens"], frame["tags"], strict=True)):
        tokens, tags = list(tokens), list(tags)
        if len(tokens) != len(tags):
            raise DataError(f"{path}: row {row + 1}: {len(tokens)} tokens but {len(tags)} tags")
        for value in tokens + tags:
            text = str(value)
            if separator == " " and any(character.isspace() for character in text):
                raise DataError(
                    f"{path}: row {row + 1}: {text!r} holds whitespace; write and read it "
                    "with separator='\\t'"
                )
            # A field that is blank or holds a separator would shift the columns when read back.
            if not text.strip() or any(mark in text for mark in (separator, "\n", "\r")):
                raise DataError(f"{path}: row {row + 1}: {text!r} cannot be a CoNLL field")
        if tokens:
            lines = (f"{token}{separator}{tag}\n" for token, tag in zip(tokens, tags, strict=True))
            blocks.append("".join(lines))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, "\n".join(blocks))
    return path
