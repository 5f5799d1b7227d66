"""`toolkit run` with its output in a pipe: no TensorFlow start-up noise, one line per epoch."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

NOISE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages)|Warning:|oneDNN|cuInit")


@pytest.mark.slow
def test_a_run_in_a_pipe_is_quiet_and_logs_each_epoch(tiny_recipe, tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", "TOOLKIT_DEBUG")
    }
    command = [sys.executable, "-c", "from toolkit.cli import main; main()", "run"]
    arguments = [str(tiny_recipe), "--output", str(tmp_path / "run"), "--set", "train.verbose=1"]
    result = subprocess.run(
        command + arguments, capture_output=True, text=True, env=environment, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if NOISE.search(line)] == []
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert "val_accuracy" in epochs[0]
    assert any(re.match(r"ran all 2 epochs; keeping epoch \d \(val_accuracy", x) for x in lines)
    # No progress bar redrawn into the pipe.
    assert "\r" not in result.stdout + result.stderr and "━" not in result.stdout
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "epoch 2/2" in log
