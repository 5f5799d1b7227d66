"""Typed checking of recipe values against dataclass fields and constructor signatures.

A recipe is plain YAML, so every value is checked against the annotation of the field or
constructor parameter it fills. The messages name the full key (`model.filters`) so that
the recipe loader can prefix the file.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any, Literal, Union

from toolkit.errors import RecipeError

_MISSING = object()


def describe(annotation: Any) -> str:
    """A short human name for a type annotation."""
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(annotation))
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in typing.get_args(annotation))
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "a mapping"
    return getattr(annotation, "__name__", str(annotation))


def matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits an annotation (ints are accepted for floats)."""
    if annotation in (Any, inspect.Parameter.empty):
        return True
    if annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return any(matches(value, argument) for argument in arguments)
    if origin is Literal:
        return value in arguments
    if origin in (list, tuple, typing.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:
            return len(value) == len(arguments) and all(
                matches(item, argument) for item, argument in zip(value, arguments, strict=True)
            )
        item_type = arguments[0] if arguments else Any
        return all(matches(item, item_type) for item in value)
    if origin is dict:
        if not isinstance(value, dict):
            return False
        key_type, value_type = arguments if arguments else (Any, Any)
        return all(matches(k, key_type) and matches(v, value_type) for k, v in value.items())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def dataclass_defaults(config_class: type) -> dict[str, Any]:
    """Every field of a config dataclass with its default value."""
    defaults = {}
    for field in dataclasses.fields(config_class):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return defaults


def dataclass_types(config_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_class)
    return {field.name: hints[field.name] for field in dataclasses.fields(config_class)}


def signature_parameters(target: type, derived: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(annotations, defaults) of a class constructor, without `derived` and **kwargs.

    A toolkit class whose constructor passes **kwargs on to a toolkit base class (MFCC to
    LogMelSpectrogram) also takes that base's settings.
    """
    annotations, defaults = {}, {}
    for owner in target.__mro__:
        if "__init__" not in vars(owner) or not owner.__module__.startswith("toolkit"):
            continue
        if not _add_parameters(owner.__init__, derived, annotations, defaults):
            break
    return annotations, defaults


def _add_parameters(
    constructor, derived: set[str], annotations: dict[str, Any], defaults: dict[str, Any]
) -> bool:
    """Add a constructor's named parameters not seen yet; return whether it takes **kwargs."""
    signature = inspect.signature(constructor)
    try:
        hints = typing.get_type_hints(constructor)
    except Exception:  # unresolved forward references: fall back to the raw annotations
        hints = {}
    takes_keywords = False
    for name, parameter in signature.parameters.items():
        if parameter.kind == parameter.VAR_KEYWORD:
            takes_keywords = True
            continue
        if name == "self" or name in derived or name in annotations:
            continue
        if parameter.kind == parameter.VAR_POSITIONAL:
            continue
        annotation = hints.get(name, parameter.annotation)
        if annotation is inspect.Parameter.empty and parameter.default not in (
            inspect.Parameter.empty,
            None,
        ):
            annotation = type(parameter.default)
            if annotation is tuple:
                annotation = list
        annotations[name] = annotation
        defaults[name] = (
            _MISSING if parameter.default is inspect.Parameter.empty else parameter.default
        )
    return takes_keywords


def check_block(
    block_name: str,
    values: dict[str, Any],
    annotations: dict[str, Any],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    """Check a block's keys and value types; return it completed with defaults."""
    if not isinstance(values, dict):
        raise RecipeError(f"{block_name}: expected a mapping, got {values!r}")
    for key, value in values.items():
        if key not in annotations:
            known = ", ".join(sorted(annotations)) or "none"
            raise RecipeError(f"{block_name}.{key}: unknown key (known keys: {known})")
        if not matches(value, annotations[key]):
            raise RecipeError(
                f"{block_name}.{key}: expected {describe(annotations[key])}, got {value!r}"
            )
    completed = {}
    for key in annotations:
        if key in values:
            completed[key] = values[key]
        elif defaults.get(key, _MISSING) is _MISSING:
            raise RecipeError(f"{block_name}.{key}: required key is missing")
        else:
            default = defaults[key]
            completed[key] = list(default) if isinstance(default, tuple) else default
    return completed
