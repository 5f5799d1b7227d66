"""LiteRT and ONNX exports of an audio classifier: float, dynamic-range and int8 models, each
checked against the Keras model when written, loaded without the toolkit; refusals in one
line."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.tiny_data import TINY_RECIPE, run_without_toolkit, subset_manifest
from toolkit import runner
from toolkit.cli import main
from toolkit.errors import ToolkitError

LITERT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    interpreter = tf.lite.Interpreter(model_path=sys.argv[1] + "/model.tflite")
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    outputs = []
    for clip in np.load(sys.argv[2]):
        interpreter.set_tensor(source["index"], clip[None].astype(np.float32))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"])[0])
    np.save(sys.argv[3], np.stack(outputs))
    assert "toolkit" not in sys.modules
    """
)
ONNX_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import onnxruntime
    assert "toolkit" not in sys.modules
    session = onnxruntime.InferenceSession(sys.argv[1] + "/model.onnx")
    name = session.get_inputs()[0].name
    clips = np.load(sys.argv[2]).astype(np.float32)
    np.save(sys.argv[3], session.run(None, {name: clips})[0])
    assert "toolkit" not in sys.modules and "tensorflow" not in sys.modules
    """
)
SERVE = {"litert": (LITERT_SCRIPT, "model.tflite"), "onnx": (ONNX_SCRIPT, "model.onnx")}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("litert")
    labels = ["0", "1", "2"]
    train = subset_manifest("train", labels, 6, folder)
    test = subset_manifest("test", labels, 3, folder)
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(train=train.name, test=test.name))
    run_dir = folder / "run"
    result = CliRunner().invoke(
        main, ["run", str(recipe), "-o", str(run_dir), "--epochs", "8", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.mark.parametrize("format_name", ["litert", "onnx"])
@pytest.mark.parametrize("quantize", ["none", "dynamic", "int8"])
def test_each_quantization_is_checked_and_runs_without_the_toolkit(
    trained_run: Path, tmp_path: Path, format_name: str, quantize: str
):
    script, model_name = SERVE[format_name]
    output = tmp_path / f"{format_name}_{quantize}"
    result = CliRunner().invoke(
        main,
        [
            "export",
            str(trained_run),
            "--format",
            format_name,
            "--quantize",
            quantize,
            "-o",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in output.iterdir()) == ["metadata.json", model_name]
    metadata = json.loads((output / "metadata.json").read_text())
    assert metadata["quantization"] == quantize and metadata["labels"] == ["0", "1", "2"]
    check = metadata["check"]
    assert check["inputs"].endswith("valid clips") or check["inputs"].endswith("test clips")
    if quantize == "none":
        assert check["max_abs_difference"] <= 1e-3
    else:
        assert check["label_agreement"] >= 0.95 or check["max_abs_difference"] <= 0.05
    # The file runs in a process without the toolkit and gives the Keras model's outputs.
    run = runner.open_run(trained_run)
    splits = runner.load_data(run.recipe, run.task, run.directory)
    clips = run.task.export_inputs(splits["test"], count=9)
    np.save(tmp_path / "clips.npy", clips)
    run_without_toolkit(
        script, tmp_path, str(output), str(tmp_path / "clips.npy"), str(tmp_path / "out.npy")
    )
    got = np.load(tmp_path / "out.npy")
    expected = run.model.predict(clips, verbose=0)
    if quantize == "none":
        np.testing.assert_allclose(got, expected, atol=1e-4)
    else:
        agreement = np.mean(got.argmax(-1) == expected.argmax(-1))
        assert agreement >= 0.75 or np.abs(got - expected).max() <= 0.05
    assert metadata["bytes"] == (output / model_name).stat().st_size


def test_refusals_name_the_problem(trained_run: Path, tmp_path: Path):
    result = CliRunner().invoke(
        main, ["export", str(trained_run), "--quantize", "int8", "-o", str(tmp_path / "sm")]
    )
    assert result.exit_code == 2 and "a SavedModel keeps float weights" in result.output
    assert not (tmp_path / "sm").exists()
    output = tmp_path / "litert"
    output.mkdir()
    result = CliRunner().invoke(
        main, ["export", str(trained_run), "--format", "litert", "-o", str(output)]
    )
    assert result.exit_code == 2 and "an export already exists" in result.output


def test_a_converter_crash_is_one_line_and_writes_nothing(trained_run, tmp_path, monkeypatch):
    from toolkit.export import litert

    def crashed(command, **_):
        return subprocess.CompletedProcess(command, -11, "", "")

    monkeypatch.setattr(litert.subprocess, "run", crashed)
    run = runner.open_run(trained_run)
    with pytest.raises(ToolkitError, match=r"crashed \(SIGSEGV\).*tensorflow#87468"):
        litert.export_run(run, tmp_path / "out", False, "int8")
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_text_tasks_have_no_litert_export(tmp_path: Path):
    from toolkit.export import writer

    with pytest.raises(ToolkitError, match="not available for this task"):
        writer("litert", ("saved_model",))


def test_without_the_runs_data_the_float_check_uses_synthetic_clips(trained_run, tmp_path):
    import shutil

    import yaml

    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("export"))
    recipe = copy / "recipe.resolved.yaml"
    blocks = yaml.safe_load(recipe.read_text())
    blocks["data"]["train"] = str(tmp_path / "gone.csv")
    recipe.write_text(yaml.safe_dump(blocks))
    output = tmp_path / "litert"
    result = CliRunner().invoke(
        main, ["export", str(copy), "--format", "litert", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    check = json.loads((output / "metadata.json").read_text())["check"]
    assert check["inputs"] == "100 synthetic clips" and check["max_abs_difference"] <= 1e-3


def test_an_op_the_onnx_converter_lacks_is_named_in_one_line(trained_run, tmp_path, monkeypatch):
    import logging

    import tf2onnx

    from toolkit.export import onnx

    def unsupported(*_, **__):
        logging.getLogger("tf2onnx").error("Tensorflow op [model/Imag: Imag] is not supported")

    monkeypatch.setattr(tf2onnx.convert, "from_function", unsupported)
    run = runner.open_run(trained_run)
    with pytest.raises(ToolkitError, match=r"cannot convert these ops: model/Imag: Imag"):
        onnx.export_run(run, tmp_path / "out", False, "none")
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_onnx_export_without_its_packages_says_how_to_install_them(monkeypatch):
    import builtins

    from toolkit.export import onnx

    real_import = builtins.__import__

    def missing(name, *arguments, **options):
        if name == "tf2onnx":
            raise ImportError(name)
        return real_import(name, *arguments, **options)

    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(ToolkitError, match=r"speech-text-toolkit\[onnx\]"):
        onnx.require_packages()
