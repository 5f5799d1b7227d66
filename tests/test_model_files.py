"""Saved models are verified against their checksum and loaded in safe mode only."""

from __future__ import annotations

import keras
import pytest

from toolkit import model_files
from toolkit.errors import ToolkitError


def small_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])


def test_a_saved_model_loads_and_a_changed_one_is_refused(tmp_path):
    path = tmp_path / "model.keras"
    model_files.save_model(small_model(), path)
    assert (tmp_path / "model.keras.sha256").read_text().endswith("  model.keras\n")
    assert model_files.load_model(path).count_params() == 3

    model_files.atomic.save_model(small_model(), path)  # other weights, old checksum
    with pytest.raises(ToolkitError, match="does not match the checksum"):
        model_files.load_model(path)


def test_a_damaged_file_is_one_clear_error(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(ToolkitError, match="not a readable .keras file"):
        model_files.load_model(path)


def test_a_model_holding_python_code_is_not_run(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ToolkitError, match="holds Python code"):
        model_files.load_model(path)


def test_the_bundled_models_match_their_checksums():
    from toolkit import pretrained

    for name in pretrained.names():
        model_files.verify(pretrained.find(name) / "model.keras")
        assert (pretrained.find(name) / "model.keras.sha256").is_file()
