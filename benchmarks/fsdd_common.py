"""Pieces shared by the FSDD benchmarks: device setup, a small subset, train + evaluate a recipe."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from recipe_runs import display_path, resolve_recipe, select_device, train_and_evaluate  # noqa: F401

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
