"""The Python API: `toolkit.run` and `toolkit.load(...).predict/evaluate/export`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit
from tests.tiny_data import ASSETS, subset_manifest
from toolkit.audio.io import read_audio


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory) -> toolkit.api.RunModel:
    folder = tmp_path_factory.mktemp("api")
    train = subset_manifest("train", ["0", "1"], 4, folder)
    test = subset_manifest("test", ["0", "1"], 2, folder)
    recipe = {
        "task": {"type": "audio_classification", "sample_rate": 8000, "clip_duration": 1.0},
        "data": {"train": str(train), "test": str(test), "valid_fraction": 0.25},
        "features": {"type": "log_mel", "num_mel_bins": 16},
        "model": {"type": "ds_cnn", "filters": 8, "num_blocks": 1},
        "train": {"epochs": 1, "batch_size": 4, "verbose": 0},
    }
    return toolkit.run(recipe, overrides={"export.top_k": 2}, output=str(folder / "run"))


@pytest.fixture(scope="module")
def clips() -> list[Path]:
    table = pd.read_csv(ASSETS / "test.csv")
    return [ASSETS / path for path in table["audio"][:3]]


def test_run_returns_the_trained_run(audio_run):
    assert isinstance(audio_run.directory, Path) and (audio_run.directory / "model.keras").is_file()
    assert "accuracy" in audio_run.metrics["test"]
    assert (audio_run.directory / "export" / "saved_model" / "saved_model.pb").is_file()
    assert (audio_run.directory / "log.txt").is_file()


def test_predict_takes_paths_arrays_batches_and_bytes_alike(audio_run, clips):
    model = toolkit.load(str(audio_run.directory))
    from_paths = model.predict([str(path) for path in clips], top_k=2)
    assert len(from_paths) == 3 and {"label", "score", "label_2"} <= set(from_paths.columns)
    waveforms = [read_audio(path, 8000) for path in clips]
    from_arrays = model.predict(waveforms, sample_rate=8000)
    np.testing.assert_allclose(from_arrays["score"], from_paths["score"], atol=1e-5)
    one = model.predict(waveforms[0], sample_rate=8000)
    assert len(one) == 1 and one["label"][0] == from_paths["label"][0]
    # At another rate the waveform is resampled to the model's.
    resampled = model.predict(read_audio(clips[0], 16000), sample_rate=16000)
    assert resampled["label"][0] == from_paths["label"][0]
    assert len(model.predict(Path(clips[1]))) == 1
    from_bytes = model.predict(clips[2].read_bytes())
    np.testing.assert_allclose(from_bytes["score"][0], from_paths["score"][2], atol=1e-4)
    width = 8000
    batch = np.stack([np.resize(waveform, width) for waveform in waveforms[:2]])
    assert len(model.predict(batch, sample_rate=8000)) == 2


def test_a_saved_model_predicts_as_the_run_does(audio_run, clips):
    run_model = toolkit.load(audio_run.directory)
    saved = toolkit.load(audio_run.directory / "export" / "saved_model")
    assert saved.task_name == "audio_classification" and saved.sample_rate == 8000
    waveforms = [read_audio(path, 8000) for path in clips]
    expected = run_model.predict(waveforms, sample_rate=8000)
    served = saved.predict(waveforms, sample_rate=8000)
    assert list(served["label"]) == list(expected["label"])
    np.testing.assert_allclose(served["score"], expected["score"], atol=1e-5)
    with pytest.raises(toolkit.ToolkitError, match="run directory"):
        saved.evaluate("test.csv")


def test_evaluate_and_export_from_the_api(audio_run, tmp_path):
    model = toolkit.load(audio_run.directory)
    test = audio_run.directory.parent / "test.csv"
    metrics = model.evaluate(test)
    assert metrics["data:test.csv"]["examples"] == 4
    exported = model.export(tmp_path / "exported")
    assert (exported / "saved_model.pb").is_file()


def test_audio_model_given_text_or_no_rate_says_what_it_takes(audio_run):
    model = toolkit.load(audio_run.directory)
    with pytest.raises(toolkit.ToolkitError, match="sample_rate"):
        model.predict(np.zeros(800, dtype=np.float32))
    with pytest.raises(toolkit.ToolkitError, match="no such file; this model takes audio"):
        model.predict("a sentence, not a file")
    with pytest.raises(toolkit.ToolkitError, match="bytes that are not audio"):
        model.predict(b"not a wav file")


def test_load_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(toolkit.ToolkitError, match="neither a run directory"):
        toolkit.load(tmp_path)
    with pytest.raises(toolkit.ToolkitError, match="no such folder"):
        toolkit.load(tmp_path / "missing")


def test_text_model_predicts_one_row_per_string_and_refuses_audio(tmp_path, clips):
    run = toolkit.run(
        "text_classification/tiny_reviews",
        overrides={"train.epochs": 1, "train.verbose": 0},
        output=tmp_path / "reviews",
        export=False,
    )
    model = toolkit.load(run.directory)
    single = model.predict("Works well and the battery lasts.", top_k=1)
    assert len(single) == 1 and single["text"][0] == "Works well and the battery lasts."
    assert len(model.predict(["good", "bad"])) == 2
    with pytest.raises(toolkit.ToolkitError, match="this model takes text"):
        model.predict(np.zeros(800, dtype=np.float32))
    with pytest.raises(toolkit.ToolkitError, match="an audio file; this model takes text"):
        model.predict(str(clips[0]))


def test_recipe_overrides_as_a_dict_are_checked(tmp_path):
    with pytest.raises(toolkit.RecipeError, match="train.epochs"):
        toolkit.run("text_classification/tiny_reviews", {"train.epochs": "many"}, tmp_path)
