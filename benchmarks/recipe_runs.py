"""Train and score a recipe through the toolkit's library calls, for every benchmark."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def select_device(device: str) -> None:
    """Hide GPUs for --device cpu; must run before TensorFlow is imported."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train_and_evaluate(
    recipe_path: str,
    overrides: list[str],
    run_dir: Path,
    device: str,
    export: bool = False,
    metric: str = "accuracy",
) -> dict:
    """Train a recipe through the toolkit's library calls and score its test split
    (`score` is the test `metric`; classification adds accuracy, F1 and error counts)."""
    from toolkit.recipes import load_recipe

    return train_and_evaluate_recipe(
        load_recipe(recipe_path, overrides), run_dir, device, export, metric
    )


def train_and_evaluate_recipe(
    recipe, run_dir: Path, device: str, export: bool = False, metric: str = "accuracy"
) -> dict:
    """`train_and_evaluate` for a loaded recipe (a fine-tuning one from
    `toolkit.finetuning.finetune_recipe`, as `toolkit finetune` trains it)."""
    from toolkit import runner
    from toolkit.cli.common import setup_logging

    setup_logging(run_dir)
    started = time.perf_counter()
    run = runner.train(recipe, run_dir, device=device)
    results = runner.evaluate(run)
    wall_seconds = time.perf_counter() - started
    if "test" not in results:
        raise SystemExit(f"error: {recipe.source}: the run has no test split to report")
    if export and recipe.export.enabled:
        runner.export(run, force=True)
    training = json.loads((run_dir / "training.json").read_text())
    test = results["test"]
    return {
        "score": float(test[metric]),
        "accuracy": float(test.get("accuracy", float("nan"))),
        "macro_f1": float(test.get("macro_f1", float("nan"))),
        "errors": int(test.get("errors", -1)),
        "examples": int(test.get("examples", test.get("sentences", 0))),
        "seconds": float(training["seconds"]),
        # Data checks, synthetic speech, training and evaluation: everything but the export.
        "wall_seconds": wall_seconds,
        "parameters": int(training["parameters"]),
        "members": int(training.get("ensemble", 1)),
        "train_examples": int(training["train_examples"]),
        "valid_examples": int(training["valid_examples"]),
        "epochs_run": epochs_run(run_dir),
        "epochs": int(recipe.train.epochs),
        "select": recipe.train.select,
    }


def epochs_run(run_dir: Path) -> int | None:
    """Epochs trained (for an ensemble, by its longest-trained member)."""
    import pandas as pd

    history = run_dir / "history.csv"
    if not history.is_file() or history.stat().st_size == 0:
        return None
    rows = pd.read_csv(history)
    return int(rows.groupby("member").size().max()) if "member" in rows else len(rows)


def display_path(path: str | Path) -> str:
    """A path relative to the repository root where it lies inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def resolve_recipe(name: str) -> str:
    """A recipe path as given, or relative to the repository root."""
    path = Path(name)
    if not path.is_file() and not path.is_absolute() and (REPO_ROOT / path).is_file():
        return str(REPO_ROOT / path)
    return name


def items_per_second(call, items: list, batch_size: int = 64) -> float:
    """Throughput of `call(batch)` over `items` in batches, after one warm-up call (tracing)."""
    call(items[:batch_size])
    started = time.perf_counter()
    for start in range(0, len(items), batch_size):
        call(items[start : start + batch_size])
    return len(items) / (time.perf_counter() - started)


def spread(values: list[float]) -> str:
    """Fractions as a percentage: the mean, with the standard deviation over several runs."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return f"{100 * mean:.2f}%"
    return f"{100 * mean:.2f} ± {100 * statistics.stdev(values):.2f}%"


def fingerprint(paths: dict[str, Path]) -> str:
    """The files' content, so that --resume never reuses a run trained on other data."""
    digest = hashlib.sha256()
    for name in sorted(paths):
        digest.update(paths[name].read_bytes())
    return digest.hexdigest()


def reusable(record: Path, settings: dict, resume: bool) -> bool:
    """With --resume: whether the run beside `record` (the settings it was trained with)
    finished with the same `settings`."""
    if not resume or not record.is_file():
        return False
    return json.loads(record.read_text()) == settings and (record.parent / "metrics.json").is_file()


def fresh(run_dir: Path) -> None:
    """An empty run directory: checkpoints of an earlier run must not be selected."""
    if run_dir.exists():
        shutil.rmtree(run_dir)


def finished_run(path: str | Path, option: str = "--source") -> Path:
    """A run directory given on the command line, which must hold a trained model."""
    found = Path(path).expanduser().resolve()
    if not (found / "model.keras").is_file() or not (found / "training.json").is_file():
        raise SystemExit(f"error: {option} {found}: not a finished run directory")
    return found
