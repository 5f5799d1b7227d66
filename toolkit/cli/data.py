"""`toolkit data list | download | prepare | check`."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.common import handle_errors, set_option, setup_logging


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

    parsed = {}
    for text in options:
        if "=" not in text:
            raise ToolkitError(f"--option {text!r}: expected KEY=VALUE")
        key, value = text.split("=", 1)
        parsed[key] = parse_yaml(value)
    splits = registry.get("dataset", name)(root, **parsed)
    folder = Path(output)
    for split, frame in splits.items():
        frame = frame.copy()
        frame["audio"] = [str(Path(p).resolve()) for p in frame["audio"]]
        write_csv_atomically(frame, folder / f"{split}.csv")
        click.echo(f"{split}: {len(frame)} rows -> {folder / f'{split}.csv'}")


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
