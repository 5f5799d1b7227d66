"""The command line: help without TensorFlow, one-line errors with exit status 2."""

import subprocess
import sys
import time

from click.testing import CliRunner

from toolkit.cli import main


def test_help_does_not_import_tensorflow_and_is_fast():
    code = (
        "import sys, time; start = time.perf_counter();"
        "from toolkit.cli import main;"
        "import click.testing as t; r = t.CliRunner().invoke(main, ['run', '--help']);"
        "assert r.exit_code == 0, r.output;"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules;"
        "print(time.perf_counter() - start)"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert float(result.stdout.strip()) < 0.5
    assert time.perf_counter() - started < 5


def test_every_command_has_help():
    runner = CliRunner()
    for command in (
        ["--help"],
        ["run", "--help"],
        ["train", "--help"],
        ["evaluate", "--help"],
        ["predict", "--help"],
        ["export", "--help"],
        ["recipes", "list"],
        ["recipes", "--help"],
        ["data", "--help"],
        ["data", "list"],
    ):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, (command, result.output)
    assert "fsdd" in runner.invoke(main, ["data", "list"]).output


def test_recipes_list_and_show():
    runner = CliRunner()
    assert "keyword_spotting/tts_digits" in runner.invoke(main, ["recipes", "list"]).output
    shown = runner.invoke(main, ["recipes", "show", "keyword_spotting/tts_digits", "--resolved"])
    assert shown.exit_code == 0 and "num_mel_bins: 40" in shown.output


def test_unknown_recipe_key_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            "keyword_spotting/tts_digits",
            "--set",
            "train.epoch=1",
            "--output",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert (
        len(lines) == 1 and "train.epoch: unknown key" in lines[0] and "tts_digits.yaml" in lines[0]
    )
    assert "Traceback" not in result.output


def test_missing_recipe_file(tmp_path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "recipe file not found" in result.output


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DEBUG", "1")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0 and result.exception is not None
