"""What every portable export (LiteRT, ONNX) shares: a model file converted from the run's
Keras model, then run by its own runtime on held-out inputs and compared with Keras before
the folder is kept.

The inputs are the run's validation clips, else its test clips; synthetic clips when the
run's data cannot be read and nothing is calibrated. int8 calibrates on training clips. The
folder, written under a temporary name and renamed: the model file and `metadata.json` (task,
labels, sample rate, clip length, quantization, check figures, size, SHA-256). A model that
disagrees is an error, not a warning, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PortableFormat:
    """One format: its name in messages, the model file it writes, how it converts (run,
    model file, quantization, calibration inputs or None) and how its runtime answers
    (model file, inputs -> probabilities)."""

    name: str
    file_name: str
    convert: Callable[[Any, Path, str, np.ndarray | None], None]
    outputs: Callable[[Path, np.ndarray], np.ndarray]


def export_checked(
    run: Any, output: Path, force: bool, quantize: str, portable: PortableFormat
) -> Path:
    """Write RUN's model in `portable` format to the folder `output`, checked (module text)."""
    if quantize not in QUANTIZATIONS:
        raise ToolkitError(f"--quantize: {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    check_inputs, source = held_out_inputs(run, quantize)
    calibration = training_inputs(run) if quantize == "int8" else None
    with atomic.replacing_folder(output, force) as built:
        model_file = built / portable.file_name
        portable.convert(run, model_file, quantize, calibration)
        check = compare(run, portable.outputs(model_file, check_inputs), check_inputs, quantize)
        check["inputs"] = f"{len(check_inputs)} {source}"
        content = model_file.read_bytes()
        metadata = {
            **run.task.litert_metadata(),
            "format": portable.name,
            "quantization": quantize,
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "check": check,
        }
        if calibration is not None:
            metadata["calibration"] = f"{len(calibration)} training clips"
        (built / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
        log.info("%s check (%s): %s", portable.name, quantize, describe(check))
        if not check_passed(check, quantize):
            raise ToolkitError(
                f"the {portable.name} model ({quantize}) does not agree with the Keras model: "
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


def compare(run: Any, got: np.ndarray, inputs: np.ndarray, quantize: str) -> dict[str, Any]:
    expected = np.asarray(run.model.predict(inputs, batch_size=32, verbose=0))
    got = np.asarray(got, np.float32)
    return {
        "max_abs_difference": float(np.max(np.abs(got - expected))),
        "label_agreement": float(np.mean(got.argmax(-1) == expected.argmax(-1))),
        "quantization": quantize,
    }
