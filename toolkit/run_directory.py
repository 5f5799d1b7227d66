"""Whose files a run directory holds, so that a run never overwrites or mixes with another.

A run writes `run_state.json` into its directory before anything else: the fingerprint of the
recipe it trains and whether training has finished. Running into the same directory again then
means one of three things: a new folder (train), an interrupted run of the same recipe (resume it
from its saved training state), or a finished run (refused unless `force` starts it over or
`resume` takes it as it is, to evaluate and export it again).
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import shutil
from pathlib import Path

from toolkit import atomic
from toolkit.errors import ToolkitError

log = logging.getLogger("toolkit")

STATE_FILE = "run_state.json"
# Written by runs made before STATE_FILE existed: such a folder holds a finished run.
LEGACY_MARKERS = ("model.keras", "recipe.resolved.yaml")
# Per fitted model (run, ensemble member, fine-tuning phase): Keras' saved training state.
TRAINING_STATE = Path("checkpoints") / "state"


class Claim(enum.Enum):
    """What to do in a run directory."""

    NEW = "new"  # train from the start
    RESUME = "resume"  # an interrupted run of this recipe: continue its training
    TRAINED = "trained"  # a finished run taken as it is (no training)


def fingerprint(recipe_yaml: str) -> str:
    return hashlib.sha256(recipe_yaml.encode()).hexdigest()[:16]


def read_state(run_dir: Path) -> dict | None:
    """The run state recorded in `run_dir`, or None where there is none (or it is unreadable)."""
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def write_state(run_dir: Path, recipe_fingerprint: str, status: str) -> None:
    """`run_state.json`, written to a temporary name and renamed (never half-written)."""
    atomic.write_json(run_dir / STATE_FILE, {"recipe": recipe_fingerprint, "status": status})


def claim(run_dir: Path, recipe_yaml: str, *, force: bool = False, resume: bool = False) -> Claim:
    """Decide what a run does in `run_dir` (creating it), or refuse in one line.

    - missing or empty folder: a new run;
    - an interrupted run of the same recipe: resume it (`force` starts it over instead);
    - an interrupted run of other settings: refused, unless `force`;
    - a finished run: refused, unless `force` (start over) or `resume` (take it as it is);
    - any other folder that is not empty: refused (its files are not the toolkit's to remove).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ToolkitError(f"{run_dir}: is a file, not a folder for the run")
    recipe_fingerprint = fingerprint(recipe_yaml)
    state = read_state(run_dir) if run_dir.is_dir() else None
    holds_run = state is not None or any((run_dir / name).exists() for name in LEGACY_MARKERS)
    if run_dir.is_dir() and any(run_dir.iterdir()) and not holds_run:
        raise ToolkitError(
            f"{run_dir}: the folder is not empty and holds no run; choose a new or empty "
            "--output folder"
        )
    finished = holds_run and (state is None or state.get("status") == "trained")
    # A run stopped before its first saved epoch (bad data, a bad setting) has nothing to
    # resume or to keep: it starts over, whatever its settings were.
    replaced = holds_run and (force or (not finished and not has_training_state(run_dir)))
    if replaced:
        shutil.rmtree(run_dir)
    elif holds_run:
        if finished and resume:
            return Claim.TRAINED
        if finished:
            raise ToolkitError(
                f"{run_dir}: holds a finished run; --force replaces it, --resume evaluates and "
                "exports it again without training, or choose another --output folder"
            )
        if state.get("recipe") != recipe_fingerprint:
            raise ToolkitError(
                f"{run_dir}: holds an interrupted run of other settings (see its "
                "recipe.resolved.yaml); the same settings resume it, --force starts over"
            )
        log.info("%s: resuming the interrupted run from its last saved training state", run_dir)
        return Claim.RESUME
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ToolkitError(f"{run_dir}: cannot make the folder: {error.strerror}") from None
    write_state(run_dir, recipe_fingerprint, "training")
    if replaced:
        # Logged once the folder exists again: the log file lives in it.
        why = "--force" if force else "it had saved no training state"
        log.info("%s: the run that was there is removed (%s); a new one starts", run_dir, why)
    return Claim.NEW


def has_training_state(run_dir: Path) -> bool:
    """Whether any model of the run (member, phase) saved a training state to resume from."""
    return any(run_dir.rglob(str(TRAINING_STATE / "training_metadata.json")))


def mark_trained(run_dir: Path) -> None:
    """Training finished and model.keras is saved: the saved training states are no longer
    needed (they hold the optimizer's state too, several times the model's size)."""
    state = read_state(run_dir) or {}
    for folder in sorted(run_dir.rglob(str(TRAINING_STATE))):
        shutil.rmtree(folder, ignore_errors=True)
    write_state(run_dir, state.get("recipe", ""), "trained")
