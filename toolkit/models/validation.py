"""Checks shared by the backbones' constructors (recipes hand them YAML values)."""

from __future__ import annotations

from typing import Any


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, received {value!r}")
    return value


def pair(value: Any, name: str) -> tuple[int, int]:
    """A (time, frequency) pair of positive ints from an int, list or tuple (YAML gives lists)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{name} must be an int or a [time, frequency] pair, received {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise ValueError(f"{name} must hold positive integers, received {value!r}")
    return int(value[0]), int(value[1])


# Keras' default (0.99) leaves the moving statistics near their initial values for the
# first few hundred steps, which breaks inference on the small datasets keyword spotting uses.
BATCH_NORM_MOMENTUM = 0.9


RNN_TYPES = ("gru", "lstm")


def rate(value: Any, name: str = "dropout_rate") -> float:
    """A dropout rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), received {value!r}")
    return float(value)


def rnn_type(value: Any) -> str:
    if value not in RNN_TYPES:
        raise ValueError(f"rnn_type must be one of {RNN_TYPES}, received {value!r}")
    return value


def check_input_features(owner: str, num_features: int, input_shape) -> None:
    """A backbone's build-time check that its input has `num_features` bins per frame."""
    if input_shape[-1] != num_features:
        raise ValueError(
            f"{owner} expects {num_features} features per frame, "
            f"received input shape {tuple(input_shape)!r}"
        )
