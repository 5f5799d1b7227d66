"""Speech and text recognition recipes on Keras 3 and TensorFlow.

    import toolkit
    run = toolkit.run("keyword_spotting/tts_digits", overrides={"train.epochs": 5})
    toolkit.load(run.directory).predict(waveform, sample_rate=16000)

Importing this package is cheap: TensorFlow is imported only by the modules that need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import quiet as _quiet
from toolkit.errors import DataError, RecipeError, ToolkitError

if TYPE_CHECKING:
    from toolkit.api import Model, RunModel

__version__ = "0.1.0"
__all__ = [
    "DataError",
    "RecipeError",
    "ToolkitError",
    "__version__",
    "finetune",
    "load",
    "run",
    "tune",
]

# TensorFlow's start-up notices stay off the screen (TOOLKIT_DEBUG=1 shows them); nothing is
# imported here, a finder waits for the first `import tensorflow`.
_quiet.install()


def run(
    recipe: str | Path | dict[str, Any],
    overrides: dict[str, Any] | list[str] | tuple[str, ...] = (),
    output: str | Path | None = None,
    *,
    device: str = "auto",
    export: bool | None = None,
) -> RunModel:
    """Train, evaluate and export a recipe (a name, a path or a dict); see `toolkit.api.run`."""
    from toolkit import api

    return api.run(recipe, overrides, output, device=device, export=export)


def finetune(
    source: str | Path,
    data: str | Path,
    *,
    valid: str | Path | None = None,
    test: str | Path | None = None,
    output: str | Path | None = None,
    freeze: str | int | None = None,
    epochs: int | None = None,
    overrides: dict[str, Any] | list[str] | tuple[str, ...] = (),
    device: str = "auto",
    export: bool | None = None,
    extend_vocabulary: bool | None = None,
) -> RunModel:
    """Fine-tune a run directory or .keras file on your data; see `toolkit.api.finetune`."""
    from toolkit import api

    return api.finetune(
        source,
        data,
        valid=valid,
        test=test,
        output=output,
        freeze=freeze,
        epochs=epochs,
        overrides=overrides,
        device=device,
        export=export,
        extend_vocabulary=extend_vocabulary,
    )


def tune(
    recipe: str | Path | dict[str, Any],
    overrides: dict[str, Any] | list[str] | tuple[str, ...] = (),
    output: str | Path | None = None,
    *,
    budget_minutes: float | None = None,
    trials: int | None = None,
    device: str = "auto",
) -> RunModel:
    """Search the recipe's `tune` block and train the best settings; see `toolkit.api.tune`."""
    from toolkit import api

    return api.tune(
        recipe, overrides, output, budget_minutes=budget_minutes, trials=trials, device=device
    )


def load(path: str | Path) -> Model:
    """A run directory or an exported SavedModel, ready to predict; see `toolkit.api.load`."""
    from toolkit import api

    return api.load(path)
