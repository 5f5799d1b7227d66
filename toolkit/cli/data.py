"""`toolkit data list | download | prepare | check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from toolkit.cli.common import handle_errors, set_option, setup_logging

if TYPE_CHECKING:
    import pandas as pd


@click.group()
def data() -> None:
    """Download and prepare datasets, and check a recipe's data before training."""


@data.command("list")
def list_command() -> None:
    """Named datasets that recipes can use as data.dataset."""
    from toolkit import registry

    for name in registry.names("dataset"):
        click.echo(name)


@data.command()
@click.argument("name")
@click.option(
    "--root", required=True, type=click.Path(file_okay=False), help="Folder to download into."
)
@handle_errors
def download(name: str, root: str) -> None:
    """Download dataset NAME into ROOT (skipped when it is already there)."""
    import importlib

    from toolkit import registry

    setup_logging()  # download progress and the archive's digest
    module = importlib.import_module(registry.get("dataset", name).__module__)
    click.echo(str(module.download(root)))


@data.command()
@click.argument("name")
@click.option("--root", required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the manifests (train.csv, test.csv, ...).",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Preparer option, e.g. --option test_speakers=[george].",
)
@handle_errors
def prepare(name: str, root: str, output: str, options: tuple[str, ...]) -> None:
    """Write CSV manifests for dataset NAME found in ROOT."""
    from toolkit import registry
    from toolkit.errors import ToolkitError
    from toolkit.evaluation import write_csv_atomically
    from toolkit.recipes import parse_yaml

    setup_logging()
    parsed = {}
    for text in options:
        if "=" not in text:
            raise ToolkitError(f"--option {text!r}: expected KEY=VALUE")
        key, value = text.split("=", 1)
        parsed[key] = parse_yaml(value)
    preparer = registry.get("dataset", name)
    check_options(name, preparer, parsed)
    splits = preparer(root, **parsed)
    folder = Path(output)
    for split, frame in splits.items():
        write_csv_atomically(manifest_table(frame), folder / f"{split}.csv")
        click.echo(f"{split}: {describe(frame)} -> {folder / f'{split}.csv'}")


def check_options(name: str, preparer: Any, options: dict[str, Any]) -> None:
    """Every --option key must be a keyword the preparer takes."""
    import inspect

    from toolkit.errors import ToolkitError

    known = [key for key in inspect.signature(preparer).parameters if key != "root"]
    for key in options:
        if key not in known:
            choices = ", ".join(known) if known else "none"
            raise ToolkitError(f"--option {key}: not an option of {name} (options: {choices})")


def manifest_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A preparer's split as a CSV manifest: absolute audio paths (the manifest may be moved
    away from the data), token and tag lists as JSON lists (a CSV cell holds text)."""
    frame = frame.copy()
    if "audio" in frame:
        frame["audio"] = [str(Path(path).resolve()) for path in frame["audio"]]
    for column in ("tokens", "tags"):
        if column in frame:
            frame[column] = [json.dumps(list(items), ensure_ascii=False) for items in frame[column]]
    return frame


def describe(frame: pd.DataFrame) -> str:
    """What a split holds, in the data's own terms: utterances, texts or tagged sentences."""

    def count(number: int, noun: str) -> str:
        return f"{number} {noun}" if number == 1 else f"{number} {noun}s"

    if "tags" in frame:
        tags = {tag for sentence in frame["tags"] for tag in sentence}
        return f"{count(len(frame), 'sentence')}, {count(len(tags), 'tag')}"
    items = count(len(frame), "utterance" if "audio" in frame else "text")
    if "label" in frame:
        return f"{items}, {count(frame['label'].nunique(), 'label')}"
    return items


@data.command()
@click.argument("recipe")
@set_option
@handle_errors
def check(recipe: str, overrides: tuple[str, ...]) -> None:
    """Read RECIPE's data, check every file and label, and print a summary."""
    import tempfile

    from toolkit import runner
    from toolkit.recipes import load_recipe

    setup_logging()
    resolved = load_recipe(recipe, overrides)
    task = runner.build_task(resolved)
    with tempfile.TemporaryDirectory() as scratch:
        splits = runner.load_data(resolved, task, Path(scratch))
        skipped = Path(scratch) / "skipped.csv"
        if skipped.is_file():
            click.echo(skipped.read_text(), nl=False)
    for line in task.summary(splits, min_examples=resolved.data.min_examples_per_class):
        click.echo(line)
