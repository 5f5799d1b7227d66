"""`toolkit run | train | evaluate | predict | export`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from toolkit.cli.common import (
    device_option,
    force_option,
    handle_errors,
    resume_option,
    select_device,
    set_option,
    setup_logging,
)
from toolkit.export import FORMATS


def _prepare(recipe_path: str, overrides: tuple[str, ...], epochs: int | None, output: str | None):
    from toolkit.recipes import load_recipe
    from toolkit.runner import default_run_dir

    if epochs is not None:
        overrides = (*overrides, f"train.epochs={epochs}")
    recipe = load_recipe(recipe_path, overrides)
    run_dir = Path(output) if output else default_run_dir(recipe_path)
    setup_logging(run_dir)
    return recipe, run_dir


def _print_metrics(results: dict, prefix: str = "") -> None:
    """One line per split; the model scored beside the run's (its baseline, or the network
    where the baseline was chosen) as "baseline test: ...", after the run's own lines."""
    results = dict(results)
    beside = {name: results.pop(name) for name in ("baseline", "network") if name in results}
    for split, metrics in results.items():
        shown = {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)}
        click.echo(f"{prefix}{split}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    for name, splits in beside.items():
        _print_metrics(splits, prefix=f"{name} ")


recipe_argument = click.argument("recipe", type=str)
output_option = click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="Run directory (default: runs/<recipe>-<time>).",
)
epochs_option = click.option(
    "--epochs", type=click.IntRange(min=1), help="Shortcut for --set train.epochs=N."
)


@click.command()
@recipe_argument
@output_option
@set_option
@device_option
@epochs_option
@force_option
@resume_option
@handle_errors
def run(
    recipe: str,
    output: str | None,
    overrides: tuple[str, ...],
    device: str,
    epochs: int | None,
    force: bool,
    resume: bool,
) -> None:
    """Train RECIPE, evaluate on its test split and export a SavedModel."""
    select_device(device)
    from toolkit import runner

    resolved, run_dir = _prepare(recipe, overrides, epochs, output)
    trained = runner.train(resolved, run_dir, device, force=force, resume=resume)
    results = runner.evaluate(trained)
    _print_metrics(results)
    if resolved.export.enabled:
        runner.export(trained, force=True)
    click.echo(f"run directory: {run_dir}")


@click.command()
@recipe_argument
@output_option
@set_option
@device_option
@epochs_option
@force_option
@resume_option
@handle_errors
def train(
    recipe: str,
    output: str | None,
    overrides: tuple[str, ...],
    device: str,
    epochs: int | None,
    force: bool,
    resume: bool,
) -> None:
    """Train RECIPE (no test evaluation or export)."""
    select_device(device)
    from toolkit import runner

    resolved, run_dir = _prepare(recipe, overrides, epochs, output)
    trained = runner.train(resolved, run_dir, device, force=force, resume=resume)
    _print_metrics(runner.evaluate(trained, splits=("valid",)))
    click.echo(f"run directory: {run_dir}")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--data",
    "manifest",
    type=click.Path(exists=True),
    help="Evaluate on this manifest or class folder instead of the recipe's splits.",
)
@click.option(
    "--decoder",
    type=click.Choice(["greedy", "beam", "beam_lm", "all"]),
    help="Speech recognition: score this decoder only (default: all).",
)
@device_option
@handle_errors
def evaluate(run_dir: str, manifest: str | None, decoder: str | None, device: str) -> None:
    """Evaluate a trained RUN_DIR (writes metrics.json and plots)."""
    select_device(device)
    from toolkit import runner

    setup_logging()
    _print_metrics(runner.evaluate(runner.open_run(run_dir), manifest, decoder=decoder))


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output", "-o", type=click.Path(file_okay=False), help="Default: RUN_DIR/export/FORMAT."
)
@click.option("--force", is_flag=True, help="Replace an existing export.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default="saved_model",
    show_default=True,
    help="Export format.",
)
@click.option(
    "--quantize",
    type=click.Choice(["none", "dynamic", "int8"]),
    default="none",
    show_default=True,
    help="LiteRT and ONNX: int8 weights (dynamic), or int8 calibrated on the run's training data.",
)
@handle_errors
def export(run_dir: str, output: str | None, force: bool, format_name: str, quantize: str) -> None:
    """Export a trained RUN_DIR as a model that takes raw input (a SavedModel by default;
    LiteRT or ONNX for audio classifiers, checked against the Keras model before it is
    kept)."""
    select_device("cpu")
    from toolkit import runner

    setup_logging()
    run = runner.open_run(run_dir)
    click.echo(str(runner.export(run, output, force, format_name, quantize)))


@click.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write predictions to this CSV."
)
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True)
@device_option
@handle_errors
def predict(
    model: str, inputs: tuple[str, ...], output: str | None, top_k: int, device: str
) -> None:
    """Predict with a run directory or an exported SavedModel.

    INPUTS are audio files or folders for audio models; for text models, texts in quotes,
    .txt files (one text per line) or manifests with a `text` column.
    """
    select_device(device)
    from toolkit.predict import predict

    setup_logging()
    table = predict(model, list(inputs), top_k)
    if output:
        from toolkit.evaluation import write_csv_atomically

        write_csv_atomically(table, Path(output))
        click.echo(f"wrote {len(table)} predictions to {output}")
    else:
        click.echo(table.to_string(index=False, float_format=lambda value: f"{value:.4f}"))


def print_json(content: dict) -> None:
    click.echo(json.dumps(content, indent=2))
