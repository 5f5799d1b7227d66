"""The SavedModel format: built in a temporary folder beside the target, then renamed, so a
failed export never leaves a half-written model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError


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

    output = Path(output)
    if output.exists() and not force:
        raise ToolkitError(
            f"{output}: an export already exists (replace it with --force, or force=True from Python)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.tmp"))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for resource in resources:
            archive.track(resource)
        for name, (function, signature) in endpoints.items():
            archive.add_endpoint(name=name, fn=function, input_signature=signature)
        archive.write_out(str(staging / "saved_model"), verbose=False)
        if output.exists():
            # Move the old export aside first so a failure never leaves neither in place.
            previous = output.with_name(f".{output.name}.old")
            shutil.rmtree(previous, ignore_errors=True)
            output.rename(previous)
            (staging / "saved_model").rename(output)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            (staging / "saved_model").rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output
