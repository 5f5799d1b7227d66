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

# Ops of the feature layer (spectrum, mel filters, log, normalization) that int8 quantization
# leaves in float: quantized, the utterance normalization divides by a zero spread and the
# log of small energies loses its range. The backbone's convolutions are quantized.
FLOAT_OPS = [
    "RFFT2D",
    "COMPLEX_ABS",
    "REAL",
    "IMAG",
    "SQUARE",
    "POW",
    "LOG",
    "EXP",
    "DIV",
    "SQRT",
    "RSQRT",
    "MEAN",
    "SUM",
    "REDUCE_MAX",
    "SQUARED_DIFFERENCE",
    "MAXIMUM",
    "MINIMUM",
    "SUB",
    "ADD",
    "MUL",
    "BATCH_MATMUL",
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
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize != "int8":
        return converter.convert()
    samples = np.load(calibration)

    def representative():
        for sample in samples:
            yield [sample[np.newaxis].astype(np.float32)]

    converter.representative_dataset = representative
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=representative,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=FLOAT_OPS),
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
