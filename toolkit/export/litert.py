"""The LiteRT (TensorFlow Lite) format: a `.tflite` model that takes raw input, float or
quantized, checked against the Keras model by the LiteRT interpreter before it is kept
(`toolkit.export.checked`).

The conversion runs in a child process (`toolkit.export.litert_convert`): the converter is
C++ and can crash outright on some graphs (int8 quantization of recurrent layers), and a crash
must end in one clear line, not take the command with it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.errors import ToolkitError
from toolkit.export.checked import PortableFormat, export_checked


def export_run(run: Any, output: Path, force: bool, quantize: str) -> Path:
    """Write RUN's model as LiteRT to the folder `output`, checked against Keras."""
    return export_checked(run, output, force, quantize, LITERT)


def convert(run: Any, model_file: Path, quantize: str, calibration: np.ndarray | None) -> None:
    """Convert in a child process; int8 calibrates on `calibration`."""
    with tempfile.TemporaryDirectory() as folder:
        calibration_file = None
        if calibration is not None:
            calibration_file = Path(folder) / "calibration.npy"
            np.save(calibration_file, calibration)
        convert_in_child(run.directory, model_file, quantize, calibration_file)


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


def run_model_file(model_file: Path, inputs: np.ndarray) -> np.ndarray:
    return run_litert(model_file.read_bytes(), inputs)


LITERT = PortableFormat("LiteRT", "model.tflite", convert, run_model_file)
