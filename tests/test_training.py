"""Weight averaging: validation and checkpoints see the averaged weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit import training
from toolkit.config import TrainConfig


def _train_settings(**changes) -> TrainConfig:
    settings = dict(
        epochs=2, learning_rate=0.01, schedule="constant", early_stopping_patience=None, verbose=0
    )
    settings.update(changes)
    return TrainConfig(**settings)


def _checkpoint_drift(tmp_path, ema_momentum) -> float:
    """How far the last checkpoint's weights moved from the initial ones, in mean absolute
    value, after 20 Adam steps down a constant slope (each step moves a weight by about the
    learning rate)."""
    keras.utils.set_random_seed(0)
    settings = _train_settings(ema_momentum=ema_momentum)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=training.build_optimizer(settings, steps_per_epoch=10), loss="mae")
    initial = model.get_weights()[0].copy()
    inputs = np.ones((80, 4), "float32")
    targets = np.full((80, 1), 1e3, "float32")
    data = tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(8)
    training.fit(model, data, None, settings, tmp_path, monitor="loss", scores=[])
    saved = keras.saving.load_model(tmp_path / "checkpoints" / "last.keras", compile=False)
    return float(np.mean(np.abs(saved.get_weights()[0] - initial)))


def test_checkpoints_hold_the_averaged_weights(tmp_path):
    raw = _checkpoint_drift(tmp_path / "raw", None)
    # An average that barely moves stays near the weights after the first step.
    averaged = _checkpoint_drift(tmp_path / "averaged", 0.999)

    assert raw == pytest.approx(20 * 0.01, rel=0.2)
    assert averaged < 0.25 * raw


def test_averaging_is_off_by_default(tmp_path):
    optimizer = training.build_optimizer(_train_settings(), steps_per_epoch=10)
    assert not optimizer.use_ema
    assert not any(
        isinstance(item, keras.callbacks.SwapEMAWeights)
        for item in training.callbacks(_train_settings(), tmp_path, "loss")
    )
