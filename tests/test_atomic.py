"""Outputs are complete or absent: a writer that fails leaves the previous file as it was."""

from __future__ import annotations

import keras
import pandas as pd
import pytest

from toolkit import atomic


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_partial_one(tmp_path):
    path = tmp_path / "metrics.json"
    atomic.write_json(path, {"accuracy": 0.9})
    with pytest.raises(RuntimeError), atomic.replacing(path) as temporary:
        temporary.write_text('{"accur')
        raise RuntimeError("killed mid-write")
    assert path.read_text() == '{\n  "accuracy": 0.9\n}\n'
    assert [item.name for item in tmp_path.iterdir()] == ["metrics.json"]


def test_partial_names_keep_the_suffix_writers_check(tmp_path):
    assert atomic.partial_path(tmp_path / "model.keras").name == ".model.partial.keras"
    assert atomic.partial_path(tmp_path / "latest.weights.h5").name == ".latest.partial.weights.h5"
    assert atomic.partial_path(tmp_path / "README").name == ".README.partial"


def test_models_tables_and_folders_made_on_the_way(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    atomic.save_model(model, tmp_path / "deep" / "model.keras")
    atomic.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "deep" / "table.csv")
    assert sorted(item.name for item in (tmp_path / "deep").iterdir()) == [
        "model.keras",
        "table.csv",
    ]
    assert keras.saving.load_model(tmp_path / "deep" / "model.keras").count_params() == 3
