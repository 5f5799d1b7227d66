"""The SavedModel format: built in a temporary folder beside the target, then renamed
(`toolkit.atomic.replacing_folder`), so a failed export never leaves a half-written model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit import atomic
from toolkit.errors import ToolkitError


def export_run(run: Any, output: Path, force: bool, quantize: str) -> Path:
    """Write RUN's model with its task's endpoints as a SavedModel (never quantized)."""
    if quantize != "none":
        raise ToolkitError(
            f"--quantize {quantize}: a SavedModel keeps float weights; quantize a LiteRT "
            "export (--format litert)"
        )
    serving_model = run.model
    if run.recipe.export.jit_compile and run.task.fixed_input_shapes:
        serving_model = xla_compiled(run.model)
    endpoints = run.task.export_endpoints(model=serving_model, export=run.recipe.export)
    return write_saved_model(run.model, endpoints, output, force, run.task.export_resources())


def xla_compiled(model):
    """`model` for inference, compiled with XLA (string ops stay outside it, in the endpoint)."""
    import tensorflow as tf

    compiled = tf.function(lambda inputs: model(inputs, training=False), jit_compile=True)

    def call(inputs, training: bool = False):
        return compiled(inputs)

    return call


def write_saved_model(
    model,
    endpoints: dict[str, tuple[Any, list]],
    output: Path,
    force: bool,
    resources: list[Any] | tuple = (),
) -> Path:
    """Export `endpoints` ({name: (function, input_signature)}) of `model` to `output`, with
    the TensorFlow `resources` (lookup tables) they use besides the model's."""
    import keras

    with atomic.replacing_folder(output, force) as built:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for resource in resources:
            archive.track(resource)
        for name, (function, signature) in endpoints.items():
            archive.add_endpoint(name=name, fn=function, input_signature=signature)
        # ExportArchive writes into a folder it creates.
        built.rmdir()
        archive.write_out(str(built), verbose=False)
    return Path(output)
