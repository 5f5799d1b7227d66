"""`toolkit recipes list | show`."""

from __future__ import annotations

import click

from toolkit.cli.common import handle_errors, set_option


@click.group()
def recipes() -> None:
    """List and show the shipped recipes."""


@recipes.command("list")
def list_command() -> None:
    """Names of the shipped recipes, for `toolkit run NAME`."""
    from toolkit.recipes import list_recipes

    for name in list_recipes():
        click.echo(name)


@recipes.command("show")
@click.argument("name")
@set_option
@click.option("--resolved", is_flag=True, help="Validate and print every setting with its default.")
@handle_errors
def show(name: str, overrides: tuple[str, ...], resolved: bool) -> None:
    """Print recipe NAME (a path, or task/name from `toolkit recipes list`)."""
    from toolkit.recipes import find_recipe, load_recipe

    path = find_recipe(name)
    if resolved or overrides:
        click.echo(load_recipe(path, overrides).to_yaml(), nl=False)
    else:
        click.echo(path.read_text(), nl=False)
