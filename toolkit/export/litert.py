"""The LiteRT (TensorFlow Lite) format: a `.tflite` model that takes raw input, float or
quantized, checked against the Keras model by the LiteRT interpreter before it is kept.

The conversion runs in a child process (`toolkit.export.litert_convert`): the converter is
C++ and can crash outright on some graphs (int8 quantization of recurrent layers), and a crash
must end in one clear line, not take the command with it. The parent then runs the `.tflite`
on held-out inputs (the run's validation clips, else its test clips; synthetic clips when the
run's data cannot be read and nothing is calibrated), compares it with the Keras model and
writes the agreement into `metadata.json`; a model that disagrees is an error, not a warning.

The folder, written under a temporary name and renamed: `model.tflite`, `metadata.json` (task,
labels, sample rate, clip length, quantization, check figures, the model's SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from toolkit import atomic
from toolkit.errors import ToolkitError

log = logging.getLogger("toolkit")

QUANTIZATIONS = ("none", "dynamic", "int8")
# Held-out inputs run through both models, and training inputs that calibrate int8.
CHECK_INPUTS = 100
CALIBRATION_INPUTS = 200
# A float model may differ from Keras by kernel round-off only; a quantized one must give
# the same label for nearly every input, or probabilities this close (a model unsure between
# labels can swap them on a tiny difference).
FLOAT_TOLERANCE = 1e-3
QUANTIZED_AGREEMENT = 0.95
QUANTIZED_TOLERANCE = 0.05


def export_run(run: Any, output: Path, force: bool, quantize: str) -> Path:
    """Write RUN's model as LiteRT to the folder `output`, checked (see the module's text)."""
    if quantize not in QUANTIZATIONS:
        raise ToolkitError(f"--quantize: {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    task = run.task
    check_inputs, source = held_out_inputs(run, quantize)
    with atomic.replacing_folder(output, force) as built:
        calibration = None
        if quantize == "int8":
            calibration = built.parent / "calibration.npy"
            np.save(calibration, training_inputs(run))
        model_file = built / "model.tflite"
        convert_in_child(run.directory, model_file, quantize, calibration)
        check = compare(run, model_file.read_bytes(), check_inputs, quantize)
        check["inputs"] = f"{len(check_inputs)} {source}"
        metadata = {
            **task.litert_metadata(),
            "quantization": quantize,
            "bytes": model_file.stat().st_size,
            "sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
            "check": check,
        }
        if calibration is not None:
            metadata["calibration"] = f"{CALIBRATION_INPUTS} training clips at most"
        (built / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
        log.info("LiteRT check (%s): %s", quantize, describe(check))
        if not check_passed(check, quantize):
            raise ToolkitError(
                f"the LiteRT model ({quantize}) does not agree with the Keras model: "
                f"{describe(check)}; nothing was written"
                + ("" if quantize == "none" else " (try --quantize none)")
            )
    return Path(output)


def describe(check: dict[str, Any]) -> str:
    return (
        f"on {check['inputs']}, max abs difference of probabilities "
        f"{check['max_abs_difference']:.2g}, same label for {check['label_agreement']:.1%}"
    )


def check_passed(check: dict[str, Any], quantize: str) -> bool:
    if quantize == "none":
        return check["max_abs_difference"] <= FLOAT_TOLERANCE
    return (
        check["label_agreement"] >= QUANTIZED_AGREEMENT
        or check["max_abs_difference"] <= QUANTIZED_TOLERANCE
    )


def held_out_inputs(run: Any, quantize: str) -> tuple[np.ndarray, str]:
    """Inputs to check the conversion on: validation (else test) clips of the run's data;
    synthetic clips (noise and tones) when the data cannot be read."""
    from toolkit import runner

    try:
        splits = runner.load_data(run.recipe, run.task, run.directory)
    except Exception as error:  # any reason the data is not there: say it, check on synthetic
        if quantize == "int8":
            raise ToolkitError(
                f"--quantize int8 calibrates on the run's training data, which cannot be read: {error}"
            ) from None
        log.warning(
            "warning: the run's data cannot be read (%s); checking on synthetic clips", error
        )
        return run.task.synthetic_export_inputs(count=CHECK_INPUTS), "synthetic clips"
    for name in ("valid", "test"):
        if name in splits and len(splits[name]):
            return run.task.export_inputs(splits[name], count=CHECK_INPUTS), f"{name} clips"
    return run.task.synthetic_export_inputs(count=CHECK_INPUTS), "synthetic clips"


def training_inputs(run: Any) -> np.ndarray:
    from toolkit import runner

    train = runner.load_data(run.recipe, run.task, run.directory)["train"]
    shuffled = train.sample(frac=1.0, random_state=0)
    return run.task.export_inputs(shuffled, count=CALIBRATION_INPUTS)


def convert_in_child(run_dir: Path, model_file: Path, quantize: str, calibration: Path | None):
    command = [
        sys.executable,
        "-m",
        "toolkit.export.litert_convert",
        str(run_dir),
        str(model_file),
        quantize,
    ]
    if calibration is not None:
        command.append(str(calibration))
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode < 0:
        name = signal.Signals(-finished.returncode).name
        raise ToolkitError(
            f"the LiteRT converter crashed ({name}) converting this model with --quantize "
            f"{quantize}"
            + (
                " (int8 quantization of recurrent layers is a known converter crash, "
                "tensorflow#87468); use --quantize none"
                if quantize == "int8"
                else ""
            )
        )
    if finished.returncode != 0:
        lines = [line for line in finished.stderr.strip().splitlines() if line.startswith("error:")]
        raise ToolkitError(
            lines[-1].removeprefix("error: ") if lines else finished.stderr.strip()[-500:]
        )


def interpreter(model_content: bytes):
    """The LiteRT interpreter (the ai-edge-litert package when installed, else TensorFlow's)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806  (a class)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TensorFlow's interpreter warns it is deprecated
        runner = Interpreter(model_content=model_content)
    runner.allocate_tensors()
    return runner


def run_litert(model_content: bytes, inputs: np.ndarray) -> np.ndarray:
    """The `.tflite` model's outputs for each input, one at a time (batch 1)."""
    runner = interpreter(model_content)
    source, target = runner.get_input_details()[0], runner.get_output_details()[0]
    outputs = []
    for item in inputs:
        runner.set_tensor(source["index"], item[np.newaxis].astype(source["dtype"]))
        runner.invoke()
        outputs.append(runner.get_tensor(target["index"])[0])
    return np.stack(outputs)


def compare(run: Any, model_content: bytes, inputs: np.ndarray, quantize: str) -> dict[str, Any]:
    expected = np.asarray(run.model.predict(inputs, batch_size=32, verbose=0))
    got = run_litert(model_content, inputs).astype(np.float32)
    return {
        "max_abs_difference": float(np.max(np.abs(got - expected))),
        "label_agreement": float(np.mean(got.argmax(-1) == expected.argmax(-1))),
        "quantization": quantize,
    }
