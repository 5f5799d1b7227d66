"""Hyper-parameter search over a recipe's `tune` block (`toolkit tune`), run by KerasTuner.

Each trial trains the recipe with one draw of the space into OUTPUT/trials/<id>/ (a normal run
directory, without its baseline) and is scored on the validation split by the task's selection
metric. KerasTuner keeps the search's state in OUTPUT/search/, so the same command resumes an
interrupted search: finished trials are kept and the interrupted one is trained again (from
its own saved training state). Once the search ends (trials done, or the time budget spent),
OUTPUT/trials.csv and OUTPUT/trials.png list the trials, OUTPUT/best_recipe.yaml is the
recipe with the best draw written in, and OUTPUT/best/ is a normal run of it (evaluated and
exported).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from toolkit import atomic
from toolkit.errors import RecipeError, ToolkitError
from toolkit.quiet import retracing_hints_off
from toolkit.recipes import Recipe, load_recipe

log = logging.getLogger("toolkit")

TUNABLE_BLOCKS = ("model", "train", "features", "augment")
STATE = "tune_state.json"


@dataclass(frozen=True)
class Dimension:
    """One key of the search space: choices, or a range of whole or real numbers."""

    key: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def declare(self, hyperparameters: Any) -> None:
        """Add this dimension to KerasTuner `HyperParameters`. Choices are given as YAML
        text, so that lists, nulls and mixed types can be chosen as well as numbers."""
        if self.choices:
            hyperparameters.Choice(self.key, [encode(value) for value in self.choices])
        elif self.is_integer:
            hyperparameters.Int(
                self.key,
                int(self.low),
                int(self.high),
                step=int(self.step) if self.step else None,
                sampling="log" if self.log else "linear",
            )
        else:
            hyperparameters.Float(
                self.key,
                float(self.low),
                float(self.high),
                step=self.step,
                sampling="log" if self.log else "linear",
            )

    def value(self, drawn: Any) -> Any:
        """The recipe value of what KerasTuner drew."""
        return yaml.safe_load(drawn) if self.choices else drawn

    def extremes(self) -> list[Any]:
        return list(self.choices) if self.choices else [self.low, self.high]


def encode(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def parse_space(space: dict[str, Any]) -> list[Dimension]:
    """The `tune.space` mapping as dimensions; RecipeError naming the key otherwise."""
    if not space:
        raise RecipeError(
            "tune.space: empty; name the settings to search, e.g. "
            "{train.learning_rate: {min: 0.0003, max: 0.01, log: true}, model.dropout_rate: [0.1, 0.3]}"
        )
    dimensions = []
    for key, spec in space.items():
        where = f"tune.space.{key}"
        if not isinstance(key, str) or key.split(".")[0] not in TUNABLE_BLOCKS or "." not in key:
            raise RecipeError(
                f"{where}: not a key of the {', '.join(TUNABLE_BLOCKS)} blocks "
                "(write block.key, e.g. model.dropout_rate)"
            )
        if key.endswith(".type"):
            raise RecipeError(f"{where}: the type of a component cannot be searched")
        if isinstance(spec, list):
            if len(spec) < 2:
                raise RecipeError(f"{where}: give at least two choices, got {spec!r}")
            dimensions.append(Dimension(key, choices=tuple(spec)))
            continue
        if not isinstance(spec, dict) or not {"min", "max"} <= set(spec):
            raise RecipeError(
                f"{where}: expected a list of choices or {{min, max}} (log, step optional), "
                f"got {spec!r}"
            )
        unknown = set(spec) - {"min", "max", "log", "step"}
        if unknown:
            raise RecipeError(
                f"{where}: unknown range key {sorted(unknown)[0]!r} (min, max, log, step)"
            )
        low, high = spec["min"], spec["max"]
        numbers = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in (low, high)
        )
        if not numbers:
            raise RecipeError(f"{where}: min and max must be numbers, got {low!r} and {high!r}")
        if not low < high:
            raise RecipeError(f"{where}: min must be below max, got {low} and {high}")
        log_scale = spec.get("log", False)
        if not isinstance(log_scale, bool):
            raise RecipeError(f"{where}.log: true or false, got {log_scale!r}")
        if log_scale and low <= 0:
            raise RecipeError(f"{where}: a log range needs min > 0, got {low}")
        step = spec.get("step")
        if step is not None and (
            isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
        ):
            raise RecipeError(f"{where}.step: a positive number, got {step!r}")
        dimensions.append(Dimension(key, low=low, high=high, log=log_scale, step=step))
    return dimensions


def trial_recipe(base: dict[str, Any], values: dict[str, Any], source: str) -> Recipe:
    """The recipe (without its tune block) with `values` ({"block.key": value}) written in."""
    blocks = {name: block for name, block in base.items() if name != "tune"}
    try:
        recipe = load_recipe(blocks, values)
    except RecipeError as error:
        raise RecipeError(f"{source}: tune.space: {error}") from None
    recipe.source = source
    return recipe


def check_space(base: dict[str, Any], dimensions: list[Dimension], source: str) -> None:
    """Every choice and both ends of every range make a valid recipe (key exists, type fits)."""
    for dimension in dimensions:
        for value in dimension.extremes():
            trial_recipe(base, {dimension.key: value}, source)


def recipe_values(base: dict[str, Any], dimensions: list[Dimension]) -> dict[str, Any]:
    """The recipe's own value of each dimension, as KerasTuner holds it, where the space
    holds that value; {} unless it holds all of them."""
    found = {}
    for dimension in dimensions:
        block, _, key = dimension.key.partition(".")
        value = (base.get(block) or {}).get(key)
        if dimension.choices:
            if value not in dimension.choices:
                return {}
            found[dimension.key] = encode(value)
        elif isinstance(value, (int, float)) and dimension.low <= value <= dimension.high:
            found[dimension.key] = int(value) if dimension.is_integer else float(value)
        else:
            return {}
    return found


def fingerprint(recipe: Recipe) -> str:
    return hashlib.sha256(recipe.to_yaml().encode()).hexdigest()[:16]


def claim_output(output: Path, recipe: Recipe, force: bool) -> bool:
    """Make OUTPUT the search's folder; whether it resumes a search of the same recipe and
    space. Another recipe's search there is refused unless `force` (start over)."""
    import shutil

    state = output / STATE
    mark = fingerprint(recipe)
    if state.is_file():
        if json.loads(state.read_text())["recipe"] == mark and not force:
            return True
        if not force:
            raise ToolkitError(
                f"{output}: holds a search of another recipe or space; use another --output, "
                "or --force to start over"
            )
        shutil.rmtree(output)
    elif output.exists() and any(path.name != "log.txt" for path in output.iterdir()):
        raise ToolkitError(f"{output}: not empty and holds no search; use another --output")
    output.mkdir(parents=True, exist_ok=True)
    atomic.write_json(state, {"recipe": mark})
    return False


@dataclass
class SearchResult:
    best_values: dict[str, Any]
    best_score: float
    table: pd.DataFrame
    recipe_path: Path
    run: Any


def tune(
    recipe: Recipe,
    output: str | Path,
    *,
    budget_minutes: float | None = None,
    trials: int | None = None,
    device: str = "auto",
    force: bool = False,
) -> SearchResult:
    """Search `recipe.blocks["tune"]` (see the module), then train the best draw in
    OUTPUT/best; `trials` and `budget_minutes` override the block's limits."""
    import keras_tuner
    from keras_tuner.src import config as keras_tuner_config

    from toolkit import runner, training
    from toolkit.config import TuneConfig
    from toolkit.quiet import debug_enabled

    # KerasTuner prints the traceback of every failed trial while its (only internal) DEBUG
    # flag is on; a trial the budget stops is expected, and TOOLKIT_DEBUG=1 asks for them.
    keras_tuner_config.DEBUG = debug_enabled()

    if "tune" not in recipe.blocks:
        raise RecipeError(f"{recipe.source}: no tune block; add one with a space to search")
    settings = TuneConfig(**recipe.blocks["tune"])
    most = trials or settings.trials
    if most < 1:
        raise RecipeError(f"tune.trials: at least 1, got {most}")
    dimensions = parse_space(settings.space)
    base = recipe.blocks
    check_space(base, dimensions, recipe.source)
    task = runner.build_task(trial_recipe(base, {}, recipe.source))
    metric = task.selection_metric
    output = Path(output)
    resumed = claim_output(output, recipe, force)
    if resumed:
        log.info("%s: resuming the search kept there", output)

    space = keras_tuner.HyperParameters()
    for dimension in dimensions:
        dimension.declare(space)
    by_key = {dimension.key: dimension for dimension in dimensions}
    oracle_class = {
        "bayesian": keras_tuner.oracles.BayesianOptimizationOracle,
        "random": keras_tuner.oracles.RandomSearchOracle,
    }[settings.algorithm]
    start = recipe_values(base, dimensions)

    class StartFromRecipe(oracle_class):
        """The recipe's own settings are the first trial (where the space holds them), so
        the search keeps them unless a draw scores better on validation."""

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if not self.trials and start:
                return {"status": "RUNNING", "values": {**self.hyperparameters.values, **start}}
            return super().populate_space(trial_id)

    oracle = StartFromRecipe(
        objective=keras_tuner.Objective("score", "max"),
        max_trials=most,
        hyperparameters=space,
        tune_new_entries=False,
        seed=recipe.train.seed,
        # A trial that raises is not tried again: the error is a setting, not bad luck.
        max_retries_per_trial=0,
        max_consecutive_failed_trials=most,
    )
    started = time.monotonic()
    deadline = None if budget_minutes is None else started + 60.0 * budget_minutes
    durations: list[float] = []

    def values_of(trial: Any) -> dict[str, Any]:
        return {key: by_key[key].value(v) for key, v in trial.hyperparameters.values.items()}

    class RecipeTuner(keras_tuner.engine.base_tuner.BaseTuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            values = values_of(trial)
            log.info(
                "trial %s: %s",
                trial.trial_id,
                ", ".join(f"{key}={encode(value)}" for key, value in values.items()),
            )
            trial_start = time.monotonic()
            candidate = trial_recipe(
                base,
                {**values, "train.baseline": "none"},
                f"{recipe.source} trial {trial.trial_id}",
            )
            token = training.deadline.set(deadline)
            try:
                run = runner.train(candidate, output / "trials" / trial.trial_id, device)
            finally:
                training.deadline.reset(token)
            if deadline is not None and time.monotonic() > deadline:
                raise keras_tuner.errors.FailedTrialError("stopped by the time budget")
            score = float(runner.evaluate(run, splits=("valid",))["valid"][metric])
            durations.append(time.monotonic() - trial_start)
            atomic.write_json(
                output / "trials" / trial.trial_id / "trial.json",
                {"values": values, "score": score, "seconds": round(durations[-1], 1)},
            )
            log.info("trial %s: validation %s %.4f", trial.trial_id, metric, score)
            return {"score": score}

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            # No trial starts that the ones so far say would end past the budget.
            if deadline is not None:
                expected = sum(durations) / len(durations) if durations else 0.0
                if time.monotonic() + expected > deadline:
                    self.oracle.max_trials = len(self.oracle.trials)

    searcher = RecipeTuner(
        oracle=oracle, directory=str(output), project_name="search", overwrite=False
    )
    with retracing_hints_off():
        searcher.search(verbose=0)
    table = trials_table(output, oracle, by_key)
    atomic.write_csv(table, output / "trials.csv")
    finished = table[table["status"] == "COMPLETED"]
    if finished.empty:
        if deadline is not None:
            raise ToolkitError(
                f"--budget {budget_minutes:g} minutes: spent before the first trial finished "
                "training; give more minutes (or fewer epochs with --set train.epochs=N)"
            )
        raise ToolkitError(
            f"no trial finished (see {output / 'trials.csv'} and the trials' log.txt)"
        )
    plot_trials(table, metric, output / "trials.png")
    best = finished.loc[finished["score"].idxmax()]
    best_values = json.loads((output / "trials" / best["trial"] / "trial.json").read_text())[
        "values"
    ]
    log.info(
        "best of %d trials: %s (validation %s %.4f)",
        len(finished),
        ", ".join(f"{key}={encode(value)}" for key, value in best_values.items()),
        metric,
        best["score"],
    )
    best_recipe = trial_recipe(base, best_values, recipe.source)
    recipe_path = output / "best_recipe.yaml"
    best_recipe.save(recipe_path)
    run = runner.train(best_recipe, output / "best", device, force=True)
    runner.evaluate(run)
    if best_recipe.export.enabled:
        runner.export(run, force=True)
    return SearchResult(best_values, float(best["score"]), table, recipe_path, run)


def trials_table(output: Path, oracle: Any, by_key: dict[str, Dimension]) -> pd.DataFrame:
    """One row per trial: its id, status, score, seconds and each searched value."""
    rows = []
    for trial_id, trial in sorted(oracle.trials.items()):
        record_path = output / "trials" / trial_id / "trial.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        values = record.get("values") or {
            key: by_key[key].value(v) for key, v in trial.hyperparameters.values.items()
        }
        rows.append(
            {
                "trial": trial_id,
                "status": str(trial.status),
                "score": record.get("score", float("nan")),
                "seconds": record.get("seconds", float("nan")),
                **{key: encode(value) for key, value in values.items()},
            }
        )
    return pd.DataFrame(rows)


def plot_trials(table: pd.DataFrame, metric: str, path: Path) -> None:
    """Each finished trial's validation score in the order they ran, and the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finished = table[table["status"] == "COMPLETED"].reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(6, 3.6))
    positions = range(1, len(finished) + 1)
    axis.plot(positions, finished["score"], "o", label="trial")
    axis.plot(positions, finished["score"].cummax(), "-", label="best so far")
    axis.set_xlabel("finished trial")
    axis.set_ylabel(f"validation {metric}")
    axis.legend(loc="lower right")
    figure.tight_layout()
    atomic.save_figure(figure, path, dpi=100)
    plt.close(figure)
