"""Runs never overwrite each other, a killed run resumes, and a diverged run keeps no NaN model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from click.testing import CliRunner

from toolkit import run_directory, training
from toolkit.cli import main
from toolkit.config import TrainConfig
from toolkit.errors import ToolkitError
from toolkit.run_directory import Claim

RECIPE = "task: {type: text_classification}\n"


# Claiming a run directory ------------------------------------------------------------


def test_a_new_or_empty_folder_starts_a_new_run(tmp_path: Path):
    assert run_directory.claim(tmp_path / "new", RECIPE) is Claim.NEW
    assert run_directory.read_state(tmp_path / "new")["status"] == "training"
    (tmp_path / "empty").mkdir()
    assert run_directory.claim(tmp_path / "empty", RECIPE) is Claim.NEW


def test_a_folder_of_other_files_is_refused_even_with_force(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(ToolkitError, match="not empty and holds no run"):
            run_directory.claim(tmp_path, RECIPE, force=force)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_interrupted_run_resumes_only_with_the_same_settings(tmp_path: Path):
    run_directory.claim(tmp_path, RECIPE)
    (tmp_path / "checkpoints" / "state").mkdir(parents=True)
    (tmp_path / "checkpoints" / "state" / "training_metadata.json").write_text("{}")
    assert run_directory.claim(tmp_path, RECIPE) is Claim.RESUME
    with pytest.raises(ToolkitError, match="interrupted run of other settings"):
        run_directory.claim(tmp_path, RECIPE + "train: {epochs: 3}\n")
    assert run_directory.claim(tmp_path, RECIPE + "x\n", force=True) is Claim.NEW


def test_a_run_stopped_before_saving_any_training_state_starts_over(tmp_path: Path):
    run_directory.claim(tmp_path, RECIPE)
    (tmp_path / "data_summary.txt").write_text("stopped on a bad row")
    assert run_directory.claim(tmp_path, RECIPE + "x\n") is Claim.NEW
    assert not (tmp_path / "data_summary.txt").exists()


def test_a_finished_run_is_refused_unless_force_or_resume_says_what_to_do(tmp_path: Path):
    run_directory.claim(tmp_path, RECIPE)
    (tmp_path / "checkpoints" / "state").mkdir(parents=True)
    (tmp_path / "model.keras").write_text("trained")
    run_directory.mark_trained(tmp_path)
    assert not (tmp_path / "checkpoints" / "state").exists()

    with pytest.raises(ToolkitError, match="holds a finished run; --force replaces it"):
        run_directory.claim(tmp_path, RECIPE)
    assert run_directory.claim(tmp_path, RECIPE, resume=True) is Claim.TRAINED
    assert (tmp_path / "model.keras").is_file()
    assert run_directory.claim(tmp_path, RECIPE, force=True) is Claim.NEW
    assert not (tmp_path / "model.keras").exists()


def test_a_run_made_before_run_states_counts_as_finished(tmp_path: Path):
    (tmp_path / "model.keras").write_text("trained")
    with pytest.raises(ToolkitError, match="finished run"):
        run_directory.claim(tmp_path, RECIPE)


def test_an_output_folder_under_a_regular_file_is_one_clear_error(tmp_path: Path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ToolkitError, match="cannot make the folder"):
        run_directory.claim(tmp_path / "file" / "run", RECIPE)
    with pytest.raises(ToolkitError, match="is a file"):
        run_directory.claim(tmp_path / "file", RECIPE)


# Through the command line ---------------------------------------------------------


def _run(recipe: Path, run_dir: Path, *extra: str):
    return CliRunner().invoke(
        main,
        ["run", str(recipe), "--output", str(run_dir), "--device", "cpu"]
        + ["--set", "export.enabled=false", *extra],
    )


def test_run_into_a_finished_run_is_refused_and_its_files_are_kept(
    tiny_recipe: Path, tmp_path: Path
):
    run_dir = tmp_path / "run"
    assert _run(tiny_recipe, run_dir, "--epochs", "1").exit_code == 0
    model = (run_dir / "model.keras").read_bytes()
    log = (run_dir / "log.txt").read_text()

    refused = _run(tiny_recipe, run_dir, "--epochs", "1")
    assert refused.exit_code == 2
    assert "holds a finished run" in refused.output
    assert (run_dir / "model.keras").read_bytes() == model
    assert (run_dir / "log.txt").read_text() == log

    again = _run(tiny_recipe, run_dir, "--epochs", "1", "--resume")
    assert again.exit_code == 0, again.output
    assert (run_dir / "model.keras").read_bytes() == model  # not trained again
    assert "test:" in again.output

    replaced = _run(tiny_recipe, run_dir, "--epochs", "1", "--force")
    assert replaced.exit_code == 0, replaced.output
    assert "removed (--force)" in (run_dir / "log.txt").read_text()


def test_a_run_killed_during_its_second_epoch_resumes_there(tiny_recipe: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    arguments = ["run", str(tiny_recipe), "--output", str(run_dir), "--device", "cpu"]
    arguments += ["--epochs", "6", "--set", "train.verbose=2", "--set", "export.enabled=false"]
    process = subprocess.Popen(
        [sys.executable, "-c", "from toolkit.cli import main; main()", *arguments],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("epoch 1/6"):
            process.send_signal(signal.SIGKILL)  # epoch 2 has just started
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    assert not (run_dir / "model.keras").exists()
    before = pd.read_csv(run_dir / "history.csv")

    resumed = CliRunner().invoke(main, arguments)
    assert resumed.exit_code == 0, resumed.output
    log = (run_dir / "log.txt").read_text()
    assert "resuming the interrupted run" in log
    assert "training state restored: epoch 2 of 6" in log
    history = pd.read_csv(run_dir / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3, 4, 5]
    # The epoch saved before the kill was not trained again.
    pd.testing.assert_frame_equal(history.iloc[: len(before)], before)
    assert run_directory.read_state(run_dir)["status"] == "trained"
    assert not (run_dir / "checkpoints" / "state").exists()
    assert json.loads((run_dir / "metrics.json").read_text())["test"]["accuracy"] >= 0.0


# Settings and a diverging loss ------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("train.learning_rate=.nan", "train.learning_rate: must be a finite number"),
        ("train.learning_rate=-0.1", "train.learning_rate: must be ≥ 0"),
        ("train.batch_size=0", "train.batch_size: must be ≥ 1"),
        ("train.epochs=0", "train.epochs: must be ≥ 1"),
        ("data.valid_fraction=1.5", "data.valid_fraction: must be below 1"),
    ],
)
def test_impossible_training_settings_are_refused_before_training(
    tiny_recipe: Path, tmp_path: Path, setting: str, message: str
):
    result = _run(tiny_recipe, tmp_path / "run", "--set", setting)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "run").exists()


def test_a_loss_that_is_never_finite_keeps_no_model(tmp_path: Path):
    settings = TrainConfig(epochs=2, schedule="constant", verbose=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=training.build_optimizer(settings, 2), loss="mse")
    inputs = np.ones((16, 2), "float32")
    data = tf.data.Dataset.from_tensor_slices((inputs, np.full((16, 1), np.inf, "float32")))
    with pytest.raises(
        training.Diverged, match="training loss became inf at epoch 1, batch 1"
    ) as caught:
        training.fit(model, data.batch(8), None, settings, tmp_path, monitor="loss")
    assert caught.value.kept is None
    assert "no epoch before it gave a model to keep" in str(caught.value)


def test_a_finished_ensemble_member_is_not_trained_again(tiny_recipe: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    arguments = ["run", str(tiny_recipe), "--output", str(run_dir), "--device", "cpu"]
    arguments += ["--set", "train.ensemble=2", "--set", "export.enabled=false"]
    process = subprocess.Popen(
        [sys.executable, "-c", "from toolkit.cli import main; main()", *arguments],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    for line in process.stderr:
        if line.startswith("ensemble member 2 of 2"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    first = (run_dir / "members" / "1" / "history.csv").read_text()

    resumed = CliRunner().invoke(main, arguments)
    assert resumed.exit_code == 0, resumed.output
    assert (
        "training state restored: these 2 epochs had finished" in (run_dir / "log.txt").read_text()
    )
    assert (run_dir / "members" / "1" / "history.csv").read_text() == first
    assert len(pd.read_csv(run_dir / "history.csv")) == 4  # both members' epochs
