"""The one path every task goes through: recipe -> data -> model -> fit -> evaluate -> export.

The command line is a thin layer over these functions; tests call them directly.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import atomic, model_files, registry
from toolkit.config import TrainConfig
from toolkit.errors import RecipeError, ToolkitError
from toolkit.recipes import Recipe, load_recipe
from toolkit.tasks.base import Task

log = logging.getLogger("toolkit")
RESOLVED_RECIPE = "recipe.resolved.yaml"


@dataclass
class Run:
    """A run directory with its recipe, task and (once trained or loaded) model."""

    directory: Path
    recipe: Recipe
    task: Task
    model: Any = None
    splits: dict[str, pd.DataFrame] | None = None


@dataclass
class BuiltModel:
    """What `build_model` makes: the Keras model and the two components inside it."""

    model: Any
    features: Any
    backbone: Any


@dataclass
class Phase:
    """One stretch of training of a model: its settings (epochs, learning rate) and what it
    freezes (sets `trainable` on) before it is compiled; None trains everything as built."""

    train: TrainConfig
    freeze: Callable[[BuiltModel], None] | None = None


def default_run_dir(recipe_path: str | Path) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{Path(recipe_path).stem}-{stamp}"


def build_task(recipe: Recipe, run_dir: Path | None = None) -> Task:
    """The recipe's task; `run_dir` is where it keeps files beside the model."""
    try:
        task = registry.build("task", recipe.component("task"))
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: task: {error}") from None
    task.run_directory = run_dir
    return task


def build_features(recipe: Recipe, task: Task):
    """The feature extractor or tokenizer, before any vocabulary is learnt."""
    try:
        return registry.build("features", recipe.component("features"), **task.feature_arguments())
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: features: {error}") from None


def build_model(recipe: Recipe, task: Task, train: pd.DataFrame | None = None) -> BuiltModel:
    """Feature extractor or tokenizer (sizes from the task, vocabularies from the training
    split) -> backbone (sizes from the features) -> head."""
    features = build_features(recipe, task)
    try:
        if train is not None:
            task.adapt(features=features, train=train)
        sizes = features.derived_sizes()
        check_compatible(recipe, sizes)
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: {error}") from None
    backbone = build_backbone(recipe, sizes)
    try:
        model = task.build_model(features=features, backbone=backbone, augment=recipe.augment)
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: {error}") from None
    return BuiltModel(model, features, backbone)


def build_backbone(recipe: Recipe, sizes: dict[str, int]):
    try:
        return registry.build("model", recipe.component("model"), **sizes)
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: model: {error}") from None


def check_settings(recipe: Recipe, task) -> None:
    """Build the features, the backbone and the feature augmentation once before any data is
    read, so that a bad setting in those blocks stops the run first. Sizes the features learn
    from data (vocabularies) are not known yet: the backbone is checked with those of the
    features as they are before adaptation."""
    if recipe.train.baseline != "none" and task.baseline_description is None:
        raise RecipeError(
            f"{recipe.source}: train.baseline: the {task.name} task has no baseline; use none"
        )
    features = build_features(recipe, task)
    sizes = features.derived_sizes()
    check_compatible(recipe, sizes)
    build_backbone(recipe, sizes)
    try:
        task.check_augment(augment=recipe.augment, features=features)
    except ValueError as error:
        raise ToolkitError(f"{recipe.source}: {error}") from None


def check_compatible(recipe: Recipe, sizes: dict[str, int]) -> None:
    """A backbone must take what the features produce (spectrogram frames or token ids)."""
    import inspect

    model_type = recipe.component("model")["type"]
    features_type = recipe.component("features")["type"]
    accepted = inspect.signature(registry.get("model", model_type).__init__).parameters
    if not set(sizes) <= set(accepted):
        raise ToolkitError(
            f"{recipe.source}: model.type {model_type!r} does not take the output of "
            f"features.type {features_type!r} (it gives {', '.join(sorted(sizes))})"
        )


def load_data(recipe: Recipe, task: Task, run_dir: Path) -> dict[str, pd.DataFrame]:
    from toolkit.data.manifest import load_splits
    from toolkit.data.skipped import write_skipped

    data = recipe.data
    splits = load_splits(
        data,
        task.required_columns,
        task.path_columns,
        task.read_folder,
        stratify=task.stratify_column,
        file_reader=task.read_file,
    )
    if "test" not in splits:
        log.warning("no test split (data.test): metrics are reported on the validation split only")
    skipped: list[dict] = []
    splits = task.check_splits(splits, on_error=data.on_error, skipped=skipped)
    listed = write_skipped(skipped, run_dir)
    if listed:
        log.warning("skipped %d bad rows (listed in %s)", len(skipped), listed)
    return splits


def train(
    recipe: Recipe,
    run_dir: str | Path,
    device: str = "auto",
    *,
    force: bool = False,
    resume: bool = False,
) -> Run:
    """Train a recipe into `run_dir` and keep the selected checkpoint as model.keras (with
    `train.ensemble`, each member's, averaged); from its `finetune.source` when it has one.

    An interrupted run of the same recipe in `run_dir` resumes from its saved training state.
    A finished run there is refused, unless `force` (start over) or `resume` (take it as it
    is: returned without training); see `toolkit.run_directory.claim`."""
    from toolkit import run_directory

    run_dir = Path(run_dir)
    claimed = run_directory.claim(run_dir, recipe.to_yaml(), force=force, resume=resume)
    if claimed is run_directory.Claim.TRAINED:
        log.info("%s: a finished run, taken as it is (no training)", run_dir)
        return open_run(run_dir)
    try:
        trained = train_recipe(recipe, run_dir, device)
    except KeyboardInterrupt:
        log.warning(
            "interrupted: the training state saved so far is kept in %s; the same command "
            "with --output %s resumes it",
            run_dir,
            run_dir,
        )
        raise
    run_directory.mark_trained(run_dir)
    return trained


def train_recipe(recipe: Recipe, run_dir: Path, device: str = "auto") -> Run:
    """`train` in a run directory claimed for it."""
    from toolkit import training

    if recipe.finetune.source is None and recipe.pretrained is not None:
        from toolkit.finetuning import start_from_pretrained

        recipe = start_from_pretrained(recipe)
    if recipe.finetune.source is not None:
        from toolkit.finetuning import train_from_source

        return train_from_source(recipe, run_dir, device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe.save(run_dir / RESOLVED_RECIPE)
    task = build_task(recipe, run_dir)
    check_settings(recipe, task)
    splits = load_data(recipe, task, run_dir)
    splits = task.extend_training_data(splits, data=recipe.data, run_dir=run_dir)
    # The label list is now fixed: the saved recipe carries it so evaluate/predict/re-runs agree.
    recipe.with_component("task", {"type": task.name, **task.get_config()})
    recipe.save(run_dir / RESOLVED_RECIPE)
    summary = task.summary(splits, min_examples=recipe.data.min_examples_per_class)
    atomic.write_text(run_dir / "data_summary.txt", "\n".join(summary) + "\n")
    for line in summary:
        log.info("%s", line)

    settings = recipe.train
    training.set_precision(settings.mixed_precision)
    strategy = training.make_strategy(device)
    resources = task.augmentation_resources(augment=recipe.augment, data=recipe.data)
    members = settings.ensemble
    # One model trains in the run directory itself; an ensemble's members each in their own.
    folders = (
        [run_dir] if members == 1 else [run_dir / "members" / str(i + 1) for i in range(members)]
    )
    started = time.monotonic()
    models = []
    for index, folder in enumerate(folders):
        seed = settings.seed + index
        if members > 1:
            log.info("ensemble member %d of %d (seed %d)", index + 1, members, seed)
        models.append(
            train_member(
                recipe,
                task,
                splits,
                folder,
                strategy,
                resources,
                seed,
                run_dir if index == 0 else None,
            )
        )
    seconds = time.monotonic() - started
    if members == 1:
        model = models[0]
    else:
        from toolkit.ensemble import average_models, merge_histories

        model = average_models(models, models[0].name)
        merge_histories(folders, run_dir / "history.csv")
    model, baseline = fit_baseline(recipe, task, model, splits, run_dir)
    save_trained(run_dir, model, seconds, splits, {"ensemble": members, **baseline})
    log.info(
        "trained in %.0f s; %s model%s saved to %s",
        seconds,
        settings.select,
        f" of each of {members} members, averaged," if members > 1 else "",
        run_dir / "model.keras",
    )
    return Run(run_dir, recipe, task, model, splits)


def fit_baseline(
    recipe: Recipe, task: Task, model: Any, splits: dict[str, pd.DataFrame], run_dir: Path
) -> tuple[Any, dict[str, Any]]:
    """The run's model once `train.baseline` has had its say, and {"baseline": what was
    found} for training.json ({} without a baseline); see `toolkit.baselines.comparison`."""
    from toolkit.baselines.comparison import fit_beside

    model, record = fit_beside(
        mode=recipe.train.baseline,
        task=task,
        model=model,
        splits=splits,
        run_dir=run_dir,
        batch_size=recipe.train.batch_size,
    )
    return model, ({"baseline": record} if record else {})


def save_trained(
    run_dir: Path,
    model: Any,
    seconds: float,
    splits: dict[str, pd.DataFrame],
    record: dict[str, Any],
) -> None:
    """RUN_DIR/model.keras, and training.json: time, size, examples and `record`."""
    model_files.save_model(model, run_dir / "model.keras")
    atomic.write_text(
        run_dir / "training.json",
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "parameters": int(model.count_params()),
                **record,
                "train_examples": len(splits["train"]),
                "valid_examples": len(splits["valid"]),
                "peak_memory_mb": round(peak_memory_mb(), 1),
            },
            indent=2,
        ),
    )


def train_member(
    recipe: Recipe,
    task: Task,
    splits: dict[str, pd.DataFrame],
    folder: Path,
    strategy: Any,
    resources: Any,
    seed: int,
    prepare_in: Path | None,
    *,
    initial: BuiltModel | None = None,
    phases: list[Phase] | None = None,
):
    """Fit one model with `seed` (weights, shuffling, augmentation) and its checkpoints,
    history and logs in `folder`; returns the model with the `train.select` weights.

    Given `prepare_in` (the run directory, for the first model), the task's preparation
    for training runs there once the model is built. `initial` is a model built already
    (fine-tuning: on a trained one) to train instead of one from the recipe; `phases` train it
    in turn, each compiled anew (all but the last keep their checkpoints in folder/phases/N;
    history.csv holds them all)."""

    from toolkit import training
    from toolkit.data.skipped import write_skipped

    settings = recipe.train
    training.set_seeds(seed)
    steps = max(1, -(-len(splits["train"]) // settings.batch_size))
    with strategy.scope():
        built = initial if initial is not None else build_model(recipe, task, splits["train"])
        model = built.model
    if prepare_in is not None:
        left_out = task.prepare_training(
            splits,
            run_dir=prepare_in,
            augment=recipe.augment,
            features=built.features,
            backbone=built.backbone,
        )
        write_skipped(left_out, prepare_in)
    train_data = task.dataset(
        splits["train"],
        batch_size=settings.batch_size,
        training=True,
        augment=recipe.augment,
        resources=resources,
        cache=recipe.data.cache,
        seed=seed,
    )
    valid_data = task.dataset(
        splits["valid"], batch_size=settings.batch_size, training=False, cache=recipe.data.cache
    )
    if prepare_in is not None:
        log.info("model %s: %s parameters", model.name, f"{model.count_params():,}")
    phases = phases or [Phase(settings)]
    folders = [folder / "phases" / str(index) for index in range(1, len(phases))] + [folder]
    # Each phase keeps its own history; after several, folder/history.csv joins them (the last
    # phase's own is kept apart so that a resumed run joins them again the same way).
    histories = [phase_folder / "history.csv" for phase_folder in folders]
    if len(phases) > 1:
        histories[-1] = folder / "phases" / str(len(phases)) / "history.csv"
        histories[-1].parent.mkdir(parents=True, exist_ok=True)
    diverged = None
    for phase, phase_folder, history in zip(phases, folders, histories, strict=True):
        with strategy.scope():
            if phase.freeze is not None:
                phase.freeze(built)
            model.compile(
                optimizer=training.build_optimizer(phase.train, steps),
                loss=task.loss(model=model),
                metrics=task.metrics(),
            )
        try:
            training.fit(
                model,
                train_data,
                valid_data,
                phase.train,
                phase_folder,
                settings.monitor or task.default_monitor,
                task.class_weight(splits["train"]),
                task.validation_callbacks(valid=splits["valid"], batch_size=settings.batch_size),
                history,
            )
        except training.Diverged as error:
            if error.kept is None or phase_folder != folder:
                raise
            # The diverged weights are dropped for the best epoch before them.
            log.warning("%s", error)
            diverged = error.kept
            break
    if len(phases) > 1:
        join_histories(histories, folder / "history.csv")
    # Without that checkpoint (e.g. no epoch ended with a finite monitor), keep the weights
    # in memory.
    selected = diverged or folder / "checkpoints" / f"{settings.select}.keras"
    if selected.is_file():
        model = model_files.load_model(selected)
    return model


def join_histories(histories: list[Path], path: Path) -> None:
    """The `history.csv` files of phases trained one after another as one, epochs counted on."""
    frames, offset = [], 0
    for history in map(Path, histories):
        if history.is_file() and history.stat().st_size > 0:
            frame = pd.read_csv(history)
            frames.append(frame.assign(epoch=frame["epoch"] + offset))
            offset += len(frame)
    if frames:
        atomic.write_csv(pd.concat(frames, ignore_index=True), path)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_run(run_dir: str | Path) -> Run:
    """A trained run directory: its resolved recipe, task and best model."""

    run_dir = Path(run_dir)
    recipe_path = run_dir / RESOLVED_RECIPE
    model_path = run_dir / "model.keras"
    if not recipe_path.is_file() or not model_path.is_file():
        raise ToolkitError(
            f"{run_dir}: not a trained run directory (no {RESOLVED_RECIPE} or model.keras)"
        )
    recipe = load_recipe(recipe_path)
    task = build_task(recipe, run_dir)
    # Importing the component classes registers them for deserialization.
    registry.get("features", recipe.component("features")["type"])
    registry.get("model", recipe.component("model")["type"])
    task.register_layers()

    model = model_files.load_model(model_path)
    return Run(run_dir, recipe, task, model)


def evaluate(
    run: Run,
    manifest: str | Path | None = None,
    splits: tuple[str, ...] = ("valid", "test"),
    decoder: str | None = None,
) -> dict:
    """Metrics for the run's test (and validation) split, or for another manifest; `decoder`
    picks what a task that decodes in several ways scores (speech: greedy, beam, beam_lm or
    all; by default all)."""
    from toolkit.data.manifest import read_source
    from toolkit.evaluation import plot_learning_curves, update_metrics

    recipe, task = run.recipe, run.task
    if decoder is not None:
        task.set_evaluation_decoder(decoder)
    batch_size = recipe.train.batch_size
    if manifest is not None:
        data = recipe.data
        frame = read_source(
            str(manifest),
            data.columns,
            task.required_columns,
            task.path_columns,
            task.read_folder,
            data.encoding_errors,
            task.read_file,
        )
        frames = task.check_splits({"data": frame}, on_error=data.on_error, skipped=[])
        metrics = task.evaluate(
            model=run.model,
            frame=frames["data"],
            split=Path(manifest).stem,
            output_dir=run.directory,
            batch_size=batch_size,
        )
        name = f"data:{Path(manifest).name}"
        update_metrics(run.directory, name, compact(metrics))
        return {name: metrics, **evaluate_alternatives(run, {name: frames["data"]})}
    if run.splits is None:
        run.splits = load_data(recipe, task, run.directory)
    results = {}
    for name in splits:
        if name in run.splits:
            results[name] = task.evaluate(
                model=run.model,
                frame=run.splits[name],
                split=name,
                output_dir=run.directory,
                batch_size=batch_size,
            )
            update_metrics(run.directory, name, compact(results[name]))
    results.update(
        evaluate_alternatives(
            run, {name: run.splits[name] for name in splits if name in run.splits}
        )
    )
    plot_learning_curves(
        run.directory / "history.csv",
        run.directory / "plots" / "learning_curves.png",
        recipe.train.monitor or task.default_monitor,
        recipe.train.select,
    )
    return results


def evaluate_alternatives(run: Run, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The model beside the run's own (its baseline, or the network where the baseline was
    chosen) scored on the same `frames`: {"baseline": {split: metrics}}, also filed under
    that name in metrics.json, its reports in its folder, and plots/baseline.png."""
    from toolkit.baselines import comparison
    from toolkit.quiet import retracing_hints_off

    results: dict[str, Any] = {}
    for name, path in comparison.alternatives(run.directory).items():
        if not path.is_file():
            log.warning("%s: missing, so the %s is not scored beside the model", path, name)
            continue
        other = model_files.load_model(path)
        with retracing_hints_off():
            results[name] = {
                split: run.task.evaluate(
                    model=other,
                    frame=frame,
                    split=split,
                    output_dir=path.parent,
                    batch_size=run.recipe.train.batch_size,
                )
                for split, frame in frames.items()
            }
        comparison.file_metrics(
            run.directory,
            name,
            {split: compact(metrics) for split, metrics in results[name].items()},
            run.task.selection_metric,
        )
    if results:
        comparison.plot_comparison(run.directory, run.task.selection_metric)
    return results


def compact(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json keeps the confusion matrix out (it is a PNG beside it)."""
    return {key: value for key, value in metrics.items() if key != "confusion_matrix"}


def export(
    run: Run,
    output: str | Path | None = None,
    force: bool = False,
    format_name: str = "saved_model",
    quantize: str = "none",
) -> Path:
    """Write the run's model in `format_name` (one of the task's `export_formats`) so that it
    takes raw input, quantized as `quantize` says (none, dynamic or int8; LiteRT and ONNX);
    RUN_DIR/export/<format_name> unless `output` says."""
    from toolkit.export import writer

    write = writer(format_name, run.task.export_formats)
    target = Path(output) if output else run.directory / "export" / format_name
    path = write(run, target, force, quantize)
    log.info("exported %s to %s", format_name, path)
    return path
