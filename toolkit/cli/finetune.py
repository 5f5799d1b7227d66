"""`toolkit finetune SOURCE --data TRAIN`: train on your data from a trained model."""

from __future__ import annotations

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
from toolkit.cli.run import _print_metrics, epochs_option


@click.command()
@click.argument("source", type=str)
@click.option(
    "--data",
    "train",
    required=True,
    type=str,
    help="Training data: a manifest, a class folder or a CoNLL file, as the source's task reads.",
)
@click.option("--valid", type=str, help="Validation data (default: carved out of --data).")
@click.option("--test", type=str, help="Test data, evaluated after training.")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="Run directory (default: runs/<source>-finetune-<time>).",
)
@click.option(
    "--freeze",
    type=str,
    help="backbone (never trains), none (nothing frozen, no head-only phase) or N (the "
    "backbone's first N layers stay frozen); default: a new head trains alone first, then "
    "everything.",
)
@click.option(
    "--extend-vocabulary",
    is_flag=True,
    default=None,
    help="Add the training data's words (or characters) that the source's vocabulary lacks, "
    "with new embedding rows (word and character tokenizers).",
)
@epochs_option
@set_option
@device_option
@force_option
@resume_option
@handle_errors
def finetune(
    source: str,
    train: str,
    valid: str | None,
    test: str | None,
    output: str | None,
    freeze: str | None,
    extend_vocabulary: bool | None,
    epochs: int | None,
    overrides: tuple[str, ...],
    device: str,
    force: bool,
    resume: bool,
) -> None:
    """Fine-tune SOURCE (a run directory or a .keras file of one) on your data, evaluate on
    --test and export a SavedModel. The source's features, tokenizer vocabulary and backbone
    are kept (--extend-vocabulary grows the vocabulary); --set may change train.*, augment.*,
    data.* and finetune.* settings."""
    select_device(device)
    from toolkit import finetuning, runner

    run_dir = Path(output) if output else finetuning.default_output(source)
    recipe = finetuning.finetune_recipe(
        source,
        data=train,
        valid=valid,
        test=test,
        freeze=freeze,
        epochs=epochs,
        overrides=overrides,
        extend_vocabulary=extend_vocabulary or None,
    )
    setup_logging(run_dir)
    trained = runner.train(recipe, run_dir, device, force=force, resume=resume)
    _print_metrics(runner.evaluate(trained))
    if recipe.export.enabled:
        runner.export(trained, force=True)
    click.echo(f"run directory: {run_dir}")
