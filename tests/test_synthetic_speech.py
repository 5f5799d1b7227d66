"""Synthetic speech mixed into training: what is rendered, and what happens without espeak-ng."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from toolkit import runner
from toolkit.audio import tts
from toolkit.recipes import load_recipe


@pytest.fixture(autouse=True)
def propagate_toolkit_logs(monkeypatch, tmp_path):
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    # The command line stops propagation to avoid double printing; caplog listens at the root.
    monkeypatch.setattr(logging.getLogger("toolkit"), "propagate", True)


def frames(labels: list[str], rate: int) -> dict[str, pd.DataFrame]:
    train = pd.DataFrame(
        {"audio": ["x.wav"] * len(labels), "label": labels, "source": "t", "file_rate": rate}
    )
    return {"train": train}


@pytest.mark.skipif(not tts.espeak_available(), reason="espeak-ng is not installed")
def test_label_words_are_rendered_at_the_recordings_rate(tiny_recipe: Path, tmp_path: Path, caplog):
    recipe = load_recipe(tiny_recipe, ["data.synthetic_clips_per_label=2"])
    task = runner.build_task(recipe)
    task.labels = ["1", "2", "_silence_"]
    splits = frames(task.labels, 8000)
    with caplog.at_level(logging.INFO, logger="toolkit"):
        splits = task.extend_training_data(splits, data=recipe.data, run_dir=tmp_path)
    synthetic = splits["train"].iloc[3:]
    assert sorted(synthetic["label"]) == ["1", "1", "2", "2"]
    assert (synthetic["file_rate"] == 8000).all()
    assert all(Path(p).is_file() for p in synthetic["audio"])
    assert "mixed 4 espeak-ng clips at 8000 Hz" in caplog.text


def test_without_espeak_training_goes_on_and_says_so(
    tiny_recipe: Path, tmp_path: Path, monkeypatch, caplog
):
    monkeypatch.setattr(tts, "espeak_available", lambda: False)
    recipe = load_recipe(tiny_recipe, ["data.synthetic_clips_per_label=2"])
    task = runner.build_task(recipe)
    task.labels = ["1", "2"]
    splits = frames(task.labels, 16000)
    with caplog.at_level(logging.INFO, logger="toolkit"):
        splits = task.extend_training_data(splits, data=recipe.data, run_dir=tmp_path)
    assert len(splits["train"]) == 2
    assert "training without synthetic speech" in caplog.text
