"""Errors that the command line turns into one clear line and exit status 2."""

from __future__ import annotations


class ToolkitError(Exception):
    """A problem with the user's input (recipe, data, paths), not a bug in the toolkit."""


class RecipeError(ToolkitError):
    """A recipe key that does not exist, a value of the wrong type, or a bad override."""


class DataError(ToolkitError):
    """A manifest, audio file or text row that cannot be used."""
