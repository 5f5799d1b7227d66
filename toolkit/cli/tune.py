"""`toolkit tune`: hyper-parameter search over a recipe's `tune` block."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.common import (
    device_option,
    force_option,
    handle_errors,
    select_device,
    set_option,
    setup_logging,
)


@click.command()
@click.argument("recipe", type=str)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="Folder of the search (default: runs/<recipe>-tune); the same one resumes it.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Minutes the search may take (the final run of the best settings comes after).",
)
@click.option("--trials", type=click.IntRange(min=1), help="Trials at most (tune.trials).")
@set_option
@device_option
@force_option
@handle_errors
def tune(
    recipe: str,
    output: str | None,
    budget: float | None,
    trials: int | None,
    overrides: tuple[str, ...],
    device: str,
    force: bool,
) -> None:
    """Search the settings in RECIPE's tune block, scored on the validation split, then train
    the best into OUTPUT/best (evaluated and exported) and write OUTPUT/best_recipe.yaml."""
    select_device(device)
    from toolkit import tuning
    from toolkit.recipes import load_recipe

    resolved = load_recipe(recipe, overrides)
    folder = Path(output) if output else Path("runs") / f"{Path(recipe).stem}-tune"
    setup_logging(folder)
    found = tuning.tune(
        resolved, folder, budget_minutes=budget, trials=trials, device=device, force=force
    )
    finished = found.table[found.table["status"] == "COMPLETED"]
    click.echo(f"{len(finished)} trials finished; best validation score {found.best_score:.4f}:")
    for key, value in found.best_values.items():
        click.echo(f"  {key}: {tuning.encode(value)}")
    test = found.run.directory / "metrics.json"
    click.echo(f"best settings: {found.recipe_path}")
    click.echo(f"run directory: {found.run.directory} (metrics in {test.name})")
