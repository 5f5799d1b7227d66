"""`toolkit lm build`: a word n-gram language model (ARPA) for speech recognition decoding."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from toolkit.cli.common import handle_errors, set_option, setup_logging


@click.group()
def lm() -> None:
    """Build word language models that beam search can fuse (task.decoder: beam_lm)."""


@lm.command()
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="ARPA file to write."
)
@click.option(
    "--order", default=3, show_default=True, type=click.IntRange(1, 6), help="n-gram order."
)
@click.option(
    "--column", default="transcript", show_default=True, help="Transcript column of a manifest."
)
@set_option
@handle_errors
def build(source: str, output: str, order: int, column: str, overrides: tuple[str, ...]) -> None:
    """Estimate an interpolated Kneser-Ney n-gram from SOURCE and write it as ARPA.

    SOURCE is a speech recognition recipe (its training transcripts, normalized as the
    recipe says), a manifest (CSV/TSV/JSONL with a transcript column) or a text file with one
    sentence a line (lower-cased, punctuation removed).
    """
    from toolkit.speech.lm import build_arpa

    setup_logging()
    transcripts = read_transcripts(source, column, overrides)
    path = build_arpa(transcripts, order, output)
    click.echo(f"wrote a {order}-gram model of {len(transcripts)} sentences to {path}")


def read_transcripts(source: str, column: str, overrides: tuple[str, ...]) -> list[str]:
    from toolkit.errors import DataError
    from toolkit.speech.transcripts import normalize_transcript

    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        from toolkit import runner
        from toolkit.recipes import load_recipe
        from toolkit.tasks.speech_recognition import SpeechRecognition

        recipe = load_recipe(path, overrides)
        task = runner.build_task(recipe)
        if not isinstance(task, SpeechRecognition):
            raise DataError(f"{path}: not a speech recognition recipe (task {task.name})")
        with tempfile.TemporaryDirectory() as scratch:
            splits = runner.load_data(recipe, task, Path(scratch))
        return list(splits["train"]["transcript"])
    if path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json"):
        from toolkit.data.manifest import read_table

        table = read_table(path)
        if column not in table:
            raise DataError(
                f"{path}: no {column!r} column (columns: {', '.join(map(str, table.columns))})"
            )
        texts = table[column].tolist()
    else:
        texts = read_text_lines(path)
    return [text for text in (normalize_transcript(t) for t in texts) if text]


def read_text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file; bytes that are not UTF-8 name their line."""
    from toolkit.errors import DataError

    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line} is not UTF-8 text (byte {error.start})") from None
