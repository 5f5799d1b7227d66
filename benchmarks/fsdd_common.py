"""Pieces shared by the FSDD benchmarks: device setup, a small subset, train + evaluate a recipe."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# FSDD's official split: takes 0-4 of every speaker and digit are test, 5-49 train.
TEST_TAKES = 5


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fsdd",
        required=True,
        help="FSDD root folder (the one containing recordings/), e.g. ../shared/data/fsdd",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a recipe setting, e.g. --set train.epochs=5 (repeatable).",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="Do not run the MFCC + SVM baseline."
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="Smoke test: keep only N test takes (0..N-1) and N train takes (5..4+N) of every "
        "speaker and digit. Figures from such runs are not comparable with full runs.",
    )


def select_device(device: str) -> None:
    """Hide GPUs for --device cpu; must run before TensorFlow is imported."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def check_fsdd(root: str) -> Path:
    path = Path(root).expanduser().resolve()
    if not (path / "recordings").is_dir():
        raise SystemExit(f"error: {path}: no recordings/ folder (pass the FSDD root with --fsdd)")
    return path


def subset_root(root: Path, output: Path, limit: int) -> Path:
    """An FSDD-shaped folder under `output` with links to a few takes of each speaker and digit."""
    from toolkit.data.preparers import fsdd

    if limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    table = fsdd.read_recordings(root)
    index = table["index"]
    keep = (index < min(limit, TEST_TAKES)) | ((index >= TEST_TAKES) & (index < TEST_TAKES + limit))
    recordings = output / "recordings"
    if recordings.exists():
        shutil.rmtree(recordings)
    recordings.mkdir(parents=True)
    for source in table.loc[keep, "audio"]:
        source = Path(source)
        try:
            os.symlink(source.resolve(), recordings / source.name)
        except OSError:
            shutil.copy2(source, recordings / source.name)
    return output


def train_and_evaluate(
    recipe_path: str, overrides: list[str], run_dir: Path, device: str, export: bool = False
) -> dict:
    """Train a recipe through the toolkit's library calls and score its test split."""
    from toolkit import runner
    from toolkit.cli.common import setup_logging
    from toolkit.recipes import load_recipe

    recipe = load_recipe(recipe_path, overrides)
    setup_logging(run_dir)
    started = time.perf_counter()
    run = runner.train(recipe, run_dir, device=device)
    results = runner.evaluate(run)
    wall_seconds = time.perf_counter() - started
    if "test" not in results:
        raise SystemExit(f"error: {recipe_path}: the run has no test split to report")
    if export and recipe["export"]["enabled"]:
        runner.export(run, force=True)
    training = json.loads((run_dir / "training.json").read_text())
    test = results["test"]
    return {
        "accuracy": float(test["accuracy"]),
        "macro_f1": float(test["macro_f1"]),
        "errors": int(test["errors"]),
        "examples": int(test["examples"]),
        "seconds": float(training["seconds"]),
        # Data checks, synthetic speech, training and evaluation: everything but the export.
        "wall_seconds": wall_seconds,
        "parameters": int(training["parameters"]),
        "train_examples": int(training["train_examples"]),
        "valid_examples": int(training["valid_examples"]),
        "epochs_run": epochs_run(run_dir),
        "epochs": int(recipe["train"]["epochs"]),
    }


def epochs_run(run_dir: Path) -> int | None:
    history = run_dir / "history.csv"
    if not history.is_file():
        return None
    lines = [line for line in history.read_text().splitlines() if line.strip()]
    return max(0, len(lines) - 1)


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
