"""What training writes: one line per epoch off a terminal, how it ended, which epoch is kept."""

from __future__ import annotations

import logging
import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit import training
from toolkit.config import TrainConfig


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture()
def toolkit_log():
    handler = _Lines()
    logger = logging.getLogger("toolkit")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def _fit(tmp_path, **changes):
    options = dict(epochs=3, schedule="constant", early_stopping_patience=None, verbose=1)
    options.update(changes)
    settings = TrainConfig(**options)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=training.build_optimizer(settings, steps_per_epoch=4), loss="mse")
    inputs = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((inputs, inputs.sum(1, keepdims=True))).batch(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.fit(model, data, data, settings, tmp_path, monitor="val_loss")
    return [str(w.message) for w in caught]


def test_one_line_per_epoch_off_a_terminal(tmp_path, toolkit_log, capsys):
    caught = _fit(tmp_path)
    epochs = [line for line in toolkit_log if line.startswith("epoch ")]
    assert len(epochs) == 3
    assert re.fullmatch(r"epoch 1/3: loss [\d.e+-]+, val_loss [\d.e+-]+ \(\d+ s\)", epochs[0]), (
        epochs[0]
    )
    assert re.fullmatch(r"ran all 3 epochs; keeping epoch \d \(val_loss [\d.]+\)", toolkit_log[-1])
    # No progress bar in a pipe, and no warning about `shuffle` the user cannot act on.
    assert "━" not in capsys.readouterr().out
    assert not [message for message in caught if "shuffle" in message]


def test_early_stopping_says_when_and_what_it_kept(tmp_path, toolkit_log):
    # A learning rate of 0 leaves the loss where it is: no improvement after the first epoch.
    _fit(tmp_path, epochs=6, learning_rate=0.0, early_stopping_patience=2, verbose=0)
    assert not [line for line in toolkit_log if line.startswith("epoch ")]
    assert re.fullmatch(
        r"early stopping: no val_loss improvement for 2 epochs, stopped after epoch 3 of 6; "
        r"keeping epoch 1 \(val_loss [\d.]+\)",
        toolkit_log[-1],
    ), toolkit_log[-1]


def test_verbosity(monkeypatch):
    monkeypatch.setattr(training, "interactive_output", lambda: True)
    assert training.keras_verbosity(1) == (1, False)
    assert training.keras_verbosity(2) == (0, True)
    assert training.keras_verbosity(0) == (0, False)
    monkeypatch.setattr(training, "interactive_output", lambda: False)
    assert training.keras_verbosity(1) == (0, True)


def test_metrics_line():
    logs = {"val_loss": 0.5, "loss": 0.25, "learning_rate": 0.001, "accuracy": np.float32(0.9)}
    assert training.format_metrics(logs) == "loss 0.25, accuracy 0.9, val_loss 0.5"
