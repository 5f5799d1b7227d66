"""Convert a run's model to LiteRT in a process of its own (see `toolkit.export.litert`).

    python -m toolkit.export.litert_convert RUN_DIR MODEL.tflite none|dynamic|int8 [CALIBRATION.npy]

Exit status 0 with the file written; 2 with one `error: ...` line on stderr when the converter
refuses the model (the op it cannot convert is named).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np


def feature_layer_names(model) -> list[str]:
    """Names of the feature layers (log-mel, MFCC) in `model`, nested models included."""
    from toolkit.audio.features import LogMelSpectrogram

    names, pending = [], [model]
    while pending:
        layer = pending.pop()
        if isinstance(layer, LogMelSpectrogram):
            names.append(layer.name)
        pending.extend(getattr(layer, "layers", []))
    return names


def float_tensors(float_model: bytes, layer_names: list[str]) -> list[str]:
    """The tensors of a converted model that the feature layers compute (named after them)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=float_model)
    return [
        detail["name"]
        for detail in interpreter.get_tensor_details()
        if any(f"/{name}" in detail["name"] for name in layer_names)
    ]


def convert(run_dir: str, quantize: str, calibration: str | None) -> bytes:
    import tensorflow as tf

    from toolkit import runner

    run = runner.open_run(run_dir)
    function, signature = run.task.litert_function(model=run.model)
    concrete = tf.function(function, input_signature=signature).get_concrete_function()
    # Variables become constants first: left as resources, those read inside a recurrent
    # layer's loop fail at run time (READ_VARIABLE) and the SavedModel route gives NaNs.
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    frozen = convert_variables_to_constants_v2(concrete)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if quantize == "none":
        return converter.convert()
    float_model = converter.convert() if quantize == "int8" else b""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "dynamic":
        return converter.convert()
    samples = np.load(calibration)

    def representative():
        for sample in samples:
            yield [sample[np.newaxis].astype(np.float32)]

    converter.representative_dataset = representative
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=representative,
        # The feature layer stays float: in int8 the raw waveform loses its quiet parts, the
        # mel filters' small weights round to zero and the normalization divides by zero.
        debug_options=tf.lite.experimental.QuantizationDebugOptions(
            denylisted_nodes=float_tensors(float_model, feature_layer_names(run.model))
        ),
    )
    return debugger.get_nondebug_quantized_model()


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    run_dir, output, quantize = arguments[:3]
    calibration = arguments[3] if len(arguments) > 3 else None
    try:
        content = convert(run_dir, quantize, calibration)
    except Exception as error:  # the converter's errors come in several types
        print(f"error: {conversion_error(error)}", file=sys.stderr)
        return 2
    Path(output).write_bytes(content)
    return 0


def conversion_error(error: Exception) -> str:
    """One line for a conversion failure: the converter's first `error:` line names the op."""
    text = str(error)
    for line in text.splitlines():
        if "error:" in line:
            return (
                "the LiteRT converter cannot convert this model: "
                + line.split("error:", 1)[1].strip()
            )
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"the LiteRT converter cannot convert this model: {first}"


if __name__ == "__main__":
    sys.exit(main())
