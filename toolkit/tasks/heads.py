"""A trained head carried into a model built for other outputs (fine-tuning).

The new model shares the source's feature extractor and backbone (the same layer objects);
of its head, layers that do not depend on the outputs (attention pooling) take the source's
weights whole, and output layers take the source's rows of the outputs both models have.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np


def carry_head_weights(
    source_model: Any,
    model: Any,
    output_layers: dict[str, Literal["last", "all"]],
    source_names: list[str],
    names: list[str],
) -> list[str]:
    """Copy `source_model`'s head weights into `model`'s layers of the same names; returns
    the source outputs whose rows were kept (in the new model's order)."""
    source_layers = {layer.name: layer for layer in source_model.layers}
    source_index = {name: i for i, name in enumerate(source_names)}
    pairs = [(j, source_index[name]) for j, name in enumerate(names) if name in source_index]
    for layer in model.layers:
        source_layer = source_layers.get(layer.name)
        if source_layer is None or source_layer is layer or not layer.weights:
            continue
        if layer.name in output_layers:
            every_axis = output_layers[layer.name] == "all"
            layer.set_weights(
                [
                    keep_rows(old, new, pairs, every_axis)
                    for old, new in zip(
                        source_layer.get_weights(), layer.get_weights(), strict=True
                    )
                ]
            )
        elif [w.shape for w in source_layer.weights] == [w.shape for w in layer.weights]:
            layer.set_weights(source_layer.get_weights())
    return [names[j] for j, _ in pairs]


def keep_rows(
    old: np.ndarray, new: np.ndarray, pairs: list[tuple[int, int]], every_axis: bool
) -> np.ndarray:
    """`new` with the entries of the shared outputs taken from `old`: along the last axis,
    or along every axis (a matrix of output-to-output transitions)."""
    result = np.array(new, copy=True)
    if not pairs:
        return result
    new_ids = np.array([j for j, _ in pairs])
    old_ids = np.array([i for _, i in pairs])
    if every_axis:
        result[np.ix_(*[new_ids] * old.ndim)] = old[np.ix_(*[old_ids] * old.ndim)]
    else:
        result[..., new_ids] = old[..., old_ids]
    return result
