"""`toolkit models list | show | build`: the pretrained models shipped with the toolkit."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.common import (
    device_option,
    handle_errors,
    select_device,
    set_option,
    setup_logging,
)


@click.group()
def models() -> None:
    """Pretrained models to fine-tune from: `toolkit finetune NAME --data ...`."""


@models.command("list")
@handle_errors
def list_command() -> None:
    """Names of the shipped pretrained models, with their task and size."""
    from toolkit import pretrained

    for name in pretrained.names():
        card = pretrained.card(name)
        click.echo(f"{name}  {card['task']}  {card['labels']}  {card['size_mb']} MB")


@models.command("show")
@click.argument("name")
@handle_errors
def show(name: str) -> None:
    """Print the model card of NAME: task, inputs, labels, training data, size, figures."""
    from toolkit import pretrained

    folder = pretrained.find(name)
    click.echo(f"# {folder}")
    click.echo((folder / pretrained.CARD).read_text(), nl=False)


@models.command("build")
@click.argument("name")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="Where to write the model (default: its folder among the shipped models).",
)
@click.option(
    "--clips-per-word", default=40, show_default=True, help="Training renderings (espeak-ng)."
)
@click.option(
    "--flite-clips-per-word",
    default=20,
    show_default=True,
    help="Training renderings with Flite's voices (0: espeak-ng only).",
)
@click.option("--work", type=click.Path(file_okay=False), help="Folder for the renderings and run.")
@set_option
@device_option
@handle_errors
def build(
    name: str,
    output: str | None,
    clips_per_word: int,
    flite_clips_per_word: int,
    work: str | None,
    overrides: tuple[str, ...],
    device: str,
) -> None:
    """Rebuild pretrained model NAME from the recipe and data sources beside it."""
    select_device(device)
    from toolkit import pretrained

    builder = pretrained.builder(name)
    destination = Path(output) if output else pretrained.models_dir() / name
    setup_logging()
    card = builder(
        pretrained.models_dir() / name,
        output=destination,
        clips_per_word=clips_per_word,
        flite_clips_per_word=flite_clips_per_word,
        work=Path(work) if work else None,
        overrides=overrides,
        device=device,
    )
    click.echo(f"{name}: test accuracy {card['figures']}; written to {destination}")
