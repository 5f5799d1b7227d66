"""The ONNX format: `model.onnx` that takes raw input (the feature layer inside), float or
quantized by ONNX Runtime, checked against the Keras model by ONNX Runtime before it is kept
(`toolkit.export.checked`). Needs the `onnx` extra: tf2onnx converts, onnxruntime checks.

The graph is converted at opset 13, where tf2onnx turns the feature layer's FFT into matrix
products (its opset-17 route leaves an op ONNX Runtime lacks). Quantization keeps the feature
layer in float, as LiteRT's does: `dynamic` stores the backbone's weights as int8, `int8`
also quantizes its activations, calibrated on training clips.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.errors import ToolkitError
from toolkit.export.checked import PortableFormat, export_checked

OPSET = 13
INSTALL_HINT = "pip install 'speech-text-toolkit[onnx]' (tf2onnx and onnxruntime)"


def export_run(run: Any, output: Path, force: bool, quantize: str) -> Path:
    """Write RUN's model as ONNX to the folder `output`, checked against Keras."""
    require_packages()
    return export_checked(run, output, force, quantize, ONNX)


def require_packages() -> None:
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ToolkitError(f"ONNX export needs tf2onnx and onnxruntime: {INSTALL_HINT}") from None


class UnsupportedOps(logging.Handler):
    """Collects tf2onnx's "Tensorflow op [...] is not supported" lines."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.ops: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "is not supported" in message:
            self.ops.append(message.split("[", 1)[-1].split("]", 1)[0])


def convert(run: Any, model_file: Path, quantize: str, calibration: np.ndarray | None) -> None:
    import tensorflow as tf
    import tf2onnx

    function, (spec,) = run.task.litert_function(model=run.model)
    batch_free = tf.TensorSpec([None, *spec.shape[1:]], spec.dtype, name=spec.name)
    unsupported = UnsupportedOps()
    converter_log = logging.getLogger("tf2onnx")
    converter_log.addHandler(unsupported)
    with tempfile.TemporaryDirectory() as folder:
        float_file = Path(folder) / "float.onnx"
        try:
            tf2onnx.convert.from_function(
                tf.function(function, input_signature=[batch_free]),
                input_signature=[batch_free],
                opset=OPSET,
                output_path=str(float_file),
            )
        except Exception as error:  # tf2onnx raises several types
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ToolkitError(f"the ONNX converter cannot convert this model: {first}") from None
        finally:
            converter_log.removeHandler(unsupported)
        if unsupported.ops:
            raise ToolkitError(
                "the ONNX converter cannot convert these ops: " + ", ".join(unsupported.ops)
            )
        if quantize == "none":
            model_file.write_bytes(float_file.read_bytes())
        else:
            quantized(float_file, model_file, quantize, calibration, feature_nodes(float_file, run))


def feature_nodes(model_file: Path, run: Any) -> list[str]:
    """Nodes of the converted graph that the feature layers compute (named after them)."""
    import onnx

    from toolkit.export.litert_convert import feature_layer_names

    names = feature_layer_names(run.model)
    graph = onnx.load(str(model_file)).graph
    return [node.name for node in graph.node if any(f"/{name}" in node.name for name in names)]


@contextlib.contextmanager
def quiet_root_logger():
    """onnxruntime's quantizer logs advice on the root logger; the check says what matters."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantized(
    float_file: Path,
    model_file: Path,
    quantize: str,
    calibration: np.ndarray | None,
    float_nodes: list[str],
) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if quantize == "dynamic":
        with quiet_root_logger():
            quantize_dynamic(
                str(float_file),
                str(model_file),
                weight_type=QuantType.QInt8,
                nodes_to_exclude=float_nodes,
            )
        return
    input_name = input_of(float_file)

    class Clips(CalibrationDataReader):
        def __init__(self):
            self.pending = iter(calibration)

        def get_next(self):
            clip = next(self.pending, None)
            return None if clip is None else {input_name: clip[np.newaxis].astype(np.float32)}

    with quiet_root_logger():
        quantize_static(
            str(float_file),
            str(model_file),
            Clips(),
            nodes_to_exclude=float_nodes,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )


def session(model_file: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own exception types
        first = str(error).strip().splitlines()[0]
        raise ToolkitError(f"ONNX Runtime cannot load the converted model: {first}") from None


def input_of(model_file: Path) -> str:
    return session(model_file).get_inputs()[0].name


def run_onnx(model_file: Path, inputs: np.ndarray) -> np.ndarray:
    """The model's probabilities for each input, one at a time (batch 1, as on a device)."""
    runner = session(model_file)
    name = runner.get_inputs()[0].name
    return np.stack(
        [runner.run(None, {name: item[np.newaxis].astype(np.float32)})[0][0] for item in inputs]
    )


ONNX = PortableFormat("ONNX", "model.onnx", convert, run_onnx)
