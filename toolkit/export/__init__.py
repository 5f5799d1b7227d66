"""Export formats: one module each, behind one table.

A format is a function `(run, output, force, quantize) -> Path` that writes a trained run's
model to `output` so that it takes raw input. A task says which
formats it can produce in `Task.export_formats`; a new format is a module here, an entry in
`FORMATS`, and the tasks that declare it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError

# Format name -> "module:function" (imported when used, so listing formats is cheap).
FORMATS: dict[str, str] = {
    "saved_model": "toolkit.export.saved_model:export_run",
    "litert": "toolkit.export.litert:export_run",
    "onnx": "toolkit.export.onnx:export_run",
}

Writer = Callable[[Any, Path, bool, str], Path]


def writer(format_name: str, supported: tuple[str, ...]) -> Writer:
    """The writer of `format_name`, if the task supports it (`supported`)."""
    if format_name not in FORMATS:
        raise ToolkitError(
            f"export format {format_name!r} is unknown (known: {', '.join(sorted(FORMATS))})"
        )
    if format_name not in supported:
        raise ToolkitError(
            f"export format {format_name!r} is not available for this task "
            f"(it exports: {', '.join(supported)})"
        )
    module_name, attribute = FORMATS[format_name].split(":")
    return getattr(importlib.import_module(module_name), attribute)
