"""The shared component checks catch what they are meant to catch: layers broken on purpose."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from tests import component_checks
from tests.component_checks import CHECKS, Case, run_component_checks
from toolkit import registry


@keras.saving.register_keras_serializable(package="component_checks_test")
class Scale(keras.layers.Layer):
    """`[batch, frames, width]` -> the same, times a kernel; variants break one check each."""

    def __init__(self, width: int = 3, offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.offset = offset

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(shape=(self.width,), initializer="random_normal")

    def call(self, inputs, training=None):
        return inputs * self.kernel + self.offset

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "offset": self.offset}


@keras.saving.register_keras_serializable(package="component_checks_test")
class ForgetsOffset(Scale):
    def get_config(self) -> dict:
        config = super().get_config()
        del config["offset"]
        return config


@keras.saving.register_keras_serializable(package="component_checks_test")
class MeanOverTime(Scale):
    def call(self, inputs, training=None):
        return inputs * self.kernel - ops.mean(inputs, axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="component_checks_test")
class UnusedWeight(Scale):
    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.unused = self.add_weight(shape=(2,), initializer="ones", name="unused")


@keras.saving.register_keras_serializable(package="component_checks_test")
class NoWeights(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


def frames() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")


def same_shape(layer, inputs):
    return [(inputs.shape, "float32")]


def case(**changes) -> Case:
    return Case(**{"inputs": frames, "expected": same_shape, **changes})


def only(check: str) -> dict[str, str]:
    """Exempt every check but one, so a failure can only come from that one."""
    return {other: "not under test here" for other in CHECKS if other != check}


def test_a_sound_layer_passes_every_check(tmp_path: Path) -> None:
    assert run_component_checks(lambda: Scale(offset=0.5), case(), tmp_path) == list(CHECKS)


@pytest.mark.parametrize(
    ("build", "changes", "message"),
    [
        pytest.param(NoWeights, {"exempt": only("weights")}, "no trainable weights", id="weights"),
        pytest.param(
            Scale,
            {"expected": lambda layer, inputs: [((2, 5, 4), "float32")], "exempt": only("output")},
            "shape",
            id="output-shape",
        ),
        pytest.param(
            Scale,
            {"expected": lambda layer, inputs: [((2, 5, 3), "int32")], "exempt": only("output")},
            "dtype",
            id="output-dtype",
        ),
        pytest.param(
            lambda: ForgetsOffset(offset=0.5),
            {"exempt": only("config")},
            "the from_config clone",
            id="config-outputs",
        ),
        pytest.param(
            lambda: ForgetsOffset(offset=0.5),
            {"exempt": only("saving")},
            "the loaded model",
            id="saving",
        ),
        pytest.param(MeanOverTime, {"exempt": only("padding")}, "padded longer", id="padding"),
        pytest.param(UnusedWeight, {"exempt": only("gradients")}, "unused", id="gradients"),
    ],
)
def test_a_broken_layer_fails_its_check(build, changes: dict, message: str, tmp_path) -> None:
    with pytest.raises(AssertionError, match=message):
        run_component_checks(build, case(**changes), tmp_path)


def test_an_exemption_needs_a_known_check_and_a_reason(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="needs a reason"):
        run_component_checks(Scale, case(exempt={"padding": " "}), tmp_path)
    with pytest.raises(AssertionError, match="unknown check"):
        run_component_checks(Scale, case(exempt={"speed": "too slow"}), tmp_path)


def test_a_backbone_registered_without_a_case_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.models import test_registered_backbones as backbones

    monkeypatch.setitem(registry.REGISTRY["model"], "new_backbone", "somewhere:New")
    with pytest.raises(pytest.fail.Exception, match="new_backbone"):
        backbones.test_registered_backbone_passes_the_component_checks("new_backbone", Path())
    with pytest.raises(AssertionError):
        backbones.test_every_case_names_a_registered_backbone()


def test_a_feature_layer_registered_without_a_case_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import test_registered_features as features

    monkeypatch.setitem(registry.REGISTRY["features"], "new_features", "somewhere:New")
    with pytest.raises(AssertionError, match="new_features"):
        features.test_every_registered_feature_layer_has_a_case("new_features")


def test_derived_sizes_must_be_ones_the_runner_passes() -> None:
    with pytest.raises(AssertionError, match="not sizes the runner derives"):
        component_checks.build_registered(
            "model", "text_cnn", Case(inputs=frames, expected=same_shape, derived={"width": 3})
        )
