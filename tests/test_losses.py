"""Label-smoothed cross-entropy on label ids."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from toolkit.losses import SmoothedSparseCategoricalCrossentropy
from toolkit.tasks.base import single_label_loss


def test_matches_keras_categorical_loss_on_one_hot_targets():
    ids = np.array([0, 2, 1, 2])
    probabilities = np.random.default_rng(0).dirichlet(np.ones(3), size=4).astype("float32")
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(
        np.eye(3, dtype="float32")[ids], probabilities
    )
    loss = SmoothedSparseCategoricalCrossentropy(3, 0.2)
    np.testing.assert_allclose(float(loss(ids, probabilities)), float(expected), rtol=1e-6)
    np.testing.assert_allclose(float(loss(ids[:, None], probabilities)), float(expected), rtol=1e-6)
    # Weighted per example, as class weights are applied.
    weights = np.array([1.0, 0.0, 0.0, 0.0], "float32")
    first = keras.losses.categorical_crossentropy(
        np.eye(3, dtype="float32")[ids[:1]], probabilities[:1], label_smoothing=0.2
    )
    np.testing.assert_allclose(
        float(loss(ids, probabilities, sample_weight=weights)), float(first[0]) / 4, rtol=1e-5
    )


def test_checkpoint_with_the_loss_loads_compiled(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss=single_label_loss(0.1, 3))
    model.fit(np.ones((8, 4), "float32"), np.arange(8) % 3, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.loss, SmoothedSparseCategoricalCrossentropy)
    assert loaded.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


def test_rejects_smoothing_out_of_range():
    with pytest.raises(ValueError, match="label_smoothing"):
        SmoothedSparseCategoricalCrossentropy(3, 1.0)
