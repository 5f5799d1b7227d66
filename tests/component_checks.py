"""The same checks for every layer a recipe can name: backbones, feature layers, tokenizers.

A `Case` says how to build a component small, what to feed it and what it should give back;
`run_component_checks` then puts the layer through every check in `CHECKS` that the case
does not exempt (an exemption carries its reason):

- weights: the built layer has trainable weights.
- output: each output has the expected shape and dtype (eager), holds finite values, and the
  symbolic output of a functional model agrees wherever it knows a size.
- config: `get_config()` survives JSON, `from_config()` gives back an equal config, and the
  rebuilt layer, given the same weights (and the same `prepare`), gives identical outputs.
- saving: a `keras.Model` wrapping the layer, saved to `.keras` and loaded with
  `keras.saving.load_model`, gives identical outputs and holds an equal layer.
- padding: the same batch padded longer (frames, tokens or a longer text in the batch)
  leaves the outputs of the original positions unchanged.
- gradients: in training mode every trainable weight gets a finite, non-zero gradient.

Weights are perturbed before the comparisons (moving statistics too), so that saving and
copying weights is tested on values that differ from a fresh layer's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from toolkit import registry
from toolkit.recipes import DERIVED

CHECKS = ("weights", "output", "config", "saving", "padding", "gradients")


def call_layer(layer: keras.layers.Layer, inputs: Any, **kwargs: Any) -> Any:
    """The plain calling convention: `layer(inputs)`."""
    return layer(inputs, **kwargs)


def call_with_lengths(layer: keras.layers.Layer, inputs: Any, **kwargs: Any) -> Any:
    """Speech features and backbones: `layer(values, lengths=lengths)` -> (values, lengths)."""
    values, lengths = inputs
    return layer(values, lengths=lengths, **kwargs)


def pad_time_axis(inputs: Any, extra: int = 7) -> Any:
    """Every array of two or more axes padded at the end of axis 1 with zeros ("" for text);
    one-axis arrays (lengths) unchanged."""

    def pad(array: np.ndarray) -> np.ndarray:
        if array.ndim < 2:
            return array
        widths = [(0, 0)] * array.ndim
        widths[1] = (0, extra)
        fill = "" if array.dtype.kind in "OUS" else 0
        return np.pad(array, widths, constant_values=fill)

    return _map(pad, inputs)


def add_longer_text(texts: np.ndarray) -> np.ndarray:
    """A batch of texts with one more text, longer than all of them, at its end."""
    return np.append(texts, " ".join(str(text) for text in texts) * 2)


@dataclasses.dataclass(frozen=True)
class Case:
    """How to build, feed and judge one component.

    Args:
        inputs: A sample batch: an array (strings as an object array) or a tuple or list of
            them, in the structure `call` takes.
        expected: `(layer, inputs) -> [(shape, dtype), ...]`, one pair per output.
        config: The recipe block without `type` (for registered components).
        derived: Sizes the runner passes on top of the block (`toolkit.recipes.DERIVED`).
        call: `(layer, inputs, **kwargs) -> outputs`, as the task's `build_model` calls it.
        prepare: Run on a freshly built layer before it is called (adapt a tokenizer).
        pad: `inputs -> longer inputs`: the same content padded further.
        exempt: Check name -> why this component cannot pass it.
        tolerance: Absolute tolerance of the padding check (shapes differ, so sums do).
    """

    inputs: Callable[[], Any]
    expected: Callable[[keras.layers.Layer, Any], list[tuple[tuple[int, ...], str]]]
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    derived: dict[str, Any] = dataclasses.field(default_factory=dict)
    call: Callable[..., Any] = call_layer
    prepare: Callable[[keras.layers.Layer], None] | None = None
    pad: Callable[[Any], Any] = pad_time_axis
    exempt: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerance: float = 1e-5


def build_registered(kind: str, name: str, case: Case) -> keras.layers.Layer:
    """The component as the runner builds it: `registry.build(kind, block, **derived)`."""
    unknown = set(case.derived) - DERIVED[kind]
    assert not unknown, f"{kind} {name!r}: {sorted(unknown)} are not sizes the runner derives"
    return registry.build(kind, {"type": name, **case.config}, **case.derived)


def run_component_checks(
    build: Callable[[], keras.layers.Layer], case: Case, folder: Path, seed: int = 0
) -> list[str]:
    """Put a component through every check the case does not exempt; returns those run."""
    for check, reason in case.exempt.items():
        assert check in CHECKS, f"exempt names an unknown check {check!r}; known: {CHECKS}"
        assert isinstance(reason, str) and reason.strip(), f"exempting {check!r} needs a reason"
    checks = [check for check in CHECKS if check not in case.exempt]
    # Fresh weights are random: seed them so that a check passes or fails the same every run.
    keras.utils.set_random_seed(seed)
    sample = case.inputs()
    tensors = as_tensors(sample)
    layer = _fresh(build, case)
    case.call(layer, tensors)
    assert layer.built, f"{type(layer).__name__} is not built after its first call"
    if "weights" in checks:
        assert layer.trainable_weights, f"{type(layer).__name__} has no trainable weights"
    _perturb_weights(layer)
    outputs = as_arrays(case.call(layer, tensors))

    if "output" in checks:
        expected = case.expected(layer, sample)
        assert len(outputs) == len(expected), f"{len(outputs)} outputs, expected {len(expected)}"
        for index, (output, (shape, dtype)) in enumerate(zip(outputs, expected, strict=True)):
            assert output.shape == tuple(shape), f"output {index}: shape {output.shape} != {shape}"
            assert str(output.dtype) == dtype, f"output {index}: dtype {output.dtype} != {dtype}"
            if output.dtype.kind == "f":
                assert np.all(np.isfinite(output)), f"output {index} is not finite"
        symbolic = _flat(case.call(layer, _symbolic_inputs(sample)))
        for index, (tensor, (shape, dtype)) in enumerate(zip(symbolic, expected, strict=True)):
            pairs = zip(tensor.shape, shape, strict=True)
            assert all(have in (None, want) for have, want in pairs), (
                f"output {index}: symbolic shape {tensor.shape} disagrees with {shape}"
            )
            assert str(tensor.dtype) == dtype, f"output {index}: symbolic dtype {tensor.dtype}"

    if "config" in checks:
        config = layer.get_config()
        through_json = json.loads(json.dumps(config))
        clone = type(layer).from_config(through_json)
        assert clone.get_config() == config, "from_config(get_config()) changed the config"
        if case.prepare is not None:
            case.prepare(clone)
        case.call(clone, tensors)
        clone.set_weights(layer.get_weights())
        _assert_same(as_arrays(case.call(clone, tensors)), outputs, "the from_config clone")

    if "saving" in checks:
        model = _wrap(layer, case, sample)
        _assert_same(as_arrays(model(_model_inputs(tensors))), outputs, "the wrapping model")
        path = folder / f"{layer.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        _assert_same(as_arrays(loaded(_model_inputs(tensors))), outputs, "the loaded model")
        restored = loaded.get_layer(layer.name)
        assert type(restored) is type(layer), f"loaded a {type(restored).__name__}"
        assert restored.get_config() == layer.get_config(), "the loaded layer's config differs"

    if "padding" in checks:
        padded = case.pad(sample)
        assert _sizes(padded) != _sizes(sample), "the padded batch is no longer than the sample"
        longer = as_arrays(case.call(layer, as_tensors(padded)))
        for index, (long, short) in enumerate(zip(longer, outputs, strict=True)):
            assert all(a >= b for a, b in zip(long.shape, short.shape, strict=True))
            original = long[tuple(slice(0, size) for size in short.shape)]
            np.testing.assert_allclose(
                original,
                short,
                atol=case.tolerance,
                rtol=0,
                err_msg=f"output {index} changed when the batch was padded longer",
            )

    if "gradients" in checks:
        with tf.GradientTape() as tape:
            trained = _flat(case.call(layer, tensors, training=True))
            loss = tf.add_n([tf.reduce_sum(tf.square(t)) for t in trained if t.dtype.is_floating])
        variables = layer.trainable_variables
        gradients = tape.gradient(loss, variables)
        for variable, gradient in zip(variables, gradients, strict=True):
            assert gradient is not None, f"no gradient reaches {variable.path}"
            values = tf.convert_to_tensor(gradient).numpy()
            assert np.all(np.isfinite(values)), f"gradient of {variable.path} is not finite"
            assert np.any(values != 0), f"gradient of {variable.path} is zero everywhere"
    return checks


# Helpers ---------------------------------------------------------------------------------


def _fresh(build: Callable[[], keras.layers.Layer], case: Case) -> keras.layers.Layer:
    layer = build()
    if case.prepare is not None:
        case.prepare(layer)
    return layer


def _map(function: Callable[[Any], Any], structure: Any) -> Any:
    if isinstance(structure, tuple | list):
        return type(structure)(function(item) for item in structure)
    return function(structure)


def _flat(structure: Any) -> list[Any]:
    return list(structure) if isinstance(structure, tuple | list) else [structure]


def _sizes(structure: Any) -> list[tuple[int, ...]]:
    return [np.shape(item) for item in _flat(structure)]


def as_tensors(sample: Any) -> Any:
    """Sample arrays as tensors (object arrays as strings), in the same structure."""

    def tensor(item: Any) -> Any:
        if isinstance(item, tf.SparseTensor):
            return item
        array = np.asarray(item)
        if array.dtype.kind in "OUS":
            return tf.constant(array.astype(str))
        return tf.constant(array)

    return _map(tensor, sample)


def _symbolic_inputs(sample: Any) -> Any:
    """keras.Input per sample array: the batch and axis 1 (time, tokens) left open."""

    def symbolic(item: Any) -> keras.KerasTensor:
        if isinstance(item, tf.SparseTensor):
            return keras.Input(shape=tuple(item.shape[1:]), dtype=item.dtype.name, sparse=True)
        array = np.asarray(item)
        shape = list(array.shape[1:])
        if shape:
            shape[0] = None
        dtype = "string" if array.dtype.kind in "OUS" else array.dtype.name
        return keras.Input(shape=tuple(shape), dtype=dtype)

    return _map(symbolic, sample)


def _model_inputs(structure: Any) -> Any:
    return list(structure) if isinstance(structure, tuple | list) else structure


def _wrap(layer: keras.layers.Layer, case: Case, sample: Any) -> keras.Model:
    inputs = _symbolic_inputs(sample)
    outputs = case.call(layer, inputs)
    return keras.Model(_model_inputs(inputs), outputs, name="wrapper")


def as_arrays(outputs: Any) -> list[np.ndarray]:
    """A layer's outputs as a flat list of NumPy arrays (sparse ones made dense)."""

    def array(item: Any) -> np.ndarray:
        if isinstance(item, tf.SparseTensor):
            item = tf.sparse.to_dense(item)
        return keras.ops.convert_to_numpy(item)

    return [array(item) for item in _flat(outputs)]


def _assert_same(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, not {len(expected)}"
    for index, (have, want) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_array_equal(have, want, err_msg=f"{what}: output {index} differs")


def _perturb_weights(layer: keras.layers.Layer, seed: int = 0) -> None:
    """Scale every float weight by 0.5-1.5 and shift it a little (variances stay positive)."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        if not np.issubdtype(np.dtype(variable.dtype), np.floating):
            continue
        value = keras.ops.convert_to_numpy(variable)
        scale = rng.uniform(0.5, 1.5, size=value.shape)
        shift = rng.normal(0.0, 0.05, size=value.shape)
        variable.assign((value * scale + shift).astype(value.dtype))
