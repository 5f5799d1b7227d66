"""Fine-tuning: a trained model's features, backbone and head carried onto the user's data.

The source is a run directory, or a `.keras` file of one (model.keras, checkpoints/*.keras),
with its resolved recipe beside it. That recipe gives the task, the feature extractor or
tokenizer (its vocabulary kept, never learnt again; `finetune.extend_vocabulary` appends the
new data's words to it) and the backbone; the user's data replaces
its data, and `--set` may change training, augmentation and data settings only. The new model
is the task's model built on the source's trained layers: outputs shared with the source
(labels, tags, characters) keep their rows of its output layer, so the same outputs continue
the source's head and new ones get a new head, trained alone first (`finetune.freeze`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import atomic, model_files, registry
from toolkit.errors import DataError, RecipeError, ToolkitError
from toolkit.recipes import Recipe, load_recipe, parse_override, split_key

log = logging.getLogger("toolkit")
# The blocks that define what the source model is: fine-tuning keeps them as they are.
SOURCE_BLOCKS = ("features", "model")
# Data settings that say where the source's data was; the user's data replaces them.
DATA_LOCATION = {"dataset": None, "root": None, "options": {}, "columns": {}}


@dataclass
class Source:
    """A trained model to start from, with the resolved recipe of its run."""

    path: Path
    model_path: Path
    recipe: Recipe


def locate_source(source: str | Path) -> Source:
    """The run directory or .keras file `source`, with its recipe; ToolkitError otherwise."""
    from toolkit import pretrained
    from toolkit.baselines.comparison import BASELINE_FOLDER, NETWORK_FOLDER, network_model_path
    from toolkit.runner import RESOLVED_RECIPE

    path = Path(source).expanduser()
    if not path.exists() and pretrained.is_name(source):
        path = pretrained.find(str(source))
    elif not path.exists():
        raise ToolkitError(f"{source}: no such run directory or .keras file")
    if path.is_dir():
        # Where the run's model is its linear baseline, the network it trained is the start.
        directory, model_path = path, network_model_path(path)
        if model_path != path / "model.keras":
            log.info("%s: its model is its baseline; fine-tuning its network instead", source)
    elif path.suffix == ".keras":
        if path.parent.name == BASELINE_FOLDER:
            raise ToolkitError(
                f"{source}: a linear baseline has no backbone to fine-tune; start from the "
                "run directory (its network)"
            )
        # A checkpoint lies in RUN_DIR/checkpoints, the network beside a baseline in
        # RUN_DIR/network, next to nothing else of the run.
        nested = path.parent.name in ("checkpoints", NETWORK_FOLDER)
        directory = path.parent.parent if nested else path.parent
        model_path = path
    else:
        raise ToolkitError(f"{source}: neither a run directory nor a .keras file")
    if not (directory / RESOLVED_RECIPE).is_file():
        raise ToolkitError(
            f"{source}: not a run (no {RESOLVED_RECIPE} in {directory}); fine-tune from a run "
            "directory or a .keras file inside one"
        )
    if not model_path.is_file():
        raise ToolkitError(f"{source}: the run has no trained model ({model_path.name} missing)")
    recipe = load_recipe(directory / RESOLVED_RECIPE)
    if recipe.train.ensemble > 1:
        raise ToolkitError(
            f"{source}: an ensemble of {recipe.train.ensemble} models; fine-tuning starts from "
            "one model (train one without train.ensemble)"
        )
    return Source(path.resolve(), model_path.resolve(), recipe)


def check_override(parts: list[str], task_class: type, source: Recipe) -> None:
    """Refuse a `--set` on what the source model is (its features, backbone, input)."""
    key = ".".join(parts)
    block = parts[0]
    if block in SOURCE_BLOCKS:
        raise RecipeError(
            f"--set {key}: fine-tuning keeps the source model's {block} block (its trained "
            f"{'feature extractor or tokenizer' if block == 'features' else 'backbone'})"
        )
    if block == "task" and (parts[1] == "type" or parts[1] in task_class.source_settings):
        value = source.component("task").get(parts[1])
        hint = (
            "; audio at other sample rates is resampled to it" if parts[1] == "sample_rate" else ""
        )
        raise RecipeError(
            f"--set {key}: fine-tuning keeps the source model's task.{parts[1]} ({value}){hint}"
        )
    if parts[:2] == ["finetune", "source"]:
        raise RecipeError(f"--set {key}: give the model to start from as SOURCE")


def parse_freeze(value: str | int | None) -> str | int | None:
    """`--freeze backbone|none|head_first|N`: a word, or a number of backbone layers."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if text not in ("backbone", "none", "head_first"):
        raise RecipeError(
            f"--freeze {value!r}: expected backbone, none, head_first or a number of layers"
        )
    return text


def finetune_recipe(
    source: str | Path,
    *,
    data: str | Path,
    valid: str | Path | None = None,
    test: str | Path | None = None,
    freeze: str | int | None = None,
    epochs: int | None = None,
    overrides: list[str] | tuple[str, ...] | dict[str, Any] = (),
    extend_vocabulary: bool | None = None,
) -> Recipe:
    """The recipe that fine-tunes `source` on `data`: the source's, with the user's data, an
    empty output list (fixed from the new data) and a `finetune` block naming the source."""
    found = locate_source(source)
    task_block = found.recipe.component("task")
    task_class = registry.get("task", task_block["type"])
    if isinstance(overrides, dict):
        parsed = [(split_key(key), value) for key, value in overrides.items()]
    else:
        parsed = [parse_override(text) for text in overrides]
    for parts, _ in parsed:
        check_override(parts, task_class, found.recipe)
    raw = copy.deepcopy(found.recipe.blocks)
    paths = {"train": data, "valid": valid, "test": test}
    raw["data"].update(
        copy.deepcopy(DATA_LOCATION),
        **{name: str(Path(p).expanduser().resolve()) if p else None for name, p in paths.items()},
    )
    if task_class.output_setting is not None:
        raw["task"][task_class.output_setting] = None
    for name in task_class.scratch_settings:
        raw["task"][name] = None
    raw["finetune"] = {"source": str(found.path)}
    freeze = parse_freeze(freeze)
    if freeze is not None:
        raw["finetune"]["freeze"] = freeze
    if extend_vocabulary is not None:
        raw["finetune"]["extend_vocabulary"] = extend_vocabulary
    settings = [(".".join(parts), value) for parts, value in parsed]
    if epochs is not None:
        settings.append(("train.epochs", epochs))
    try:
        recipe = load_recipe(raw, dict(settings))
    except RecipeError as error:
        raise RecipeError(str(error).removeprefix("recipe given as a dict: ")) from None
    recipe.source = f"fine-tuning of {found.path}"
    return recipe


def start_from_pretrained(recipe: Recipe) -> Recipe:
    """A recipe with `model.pretrained` as one that fine-tunes that model: its features and
    backbone replace the recipe's, the rest (task, data, augmentation, training) stays. A
    model that does not fit the task (another task, sample rate or clip length) is left out
    and the recipe trains from scratch; the log says which happened."""
    name = recipe.pretrained
    found = locate_source(name)
    source_task = found.recipe.component("task")
    task = recipe.component("task")
    task_class = registry.get("task", task["type"])
    differences = [
        f"task.{key} {source_task.get(key)!r} (this recipe: {task.get(key)!r})"
        for key in ("type", *task_class.source_settings)
        if source_task.get(key) != task.get(key)
    ]
    raw = copy.deepcopy(recipe.blocks)
    if differences:
        log.warning(
            "model.pretrained %s does not fit this recipe (it takes %s); training from scratch",
            name,
            "; ".join(differences),
        )
        del raw["model"]["pretrained"]
        return dataclasses.replace(recipe, blocks=raw)
    log.info(
        "starting from the pretrained model %s (%s); --set model.pretrained=null trains the "
        "recipe's own model from scratch",
        name,
        found.path,
    )
    raw["features"] = found.recipe.component("features")
    raw["model"] = {**found.recipe.component("model"), "pretrained": name}
    raw["finetune"] = {**raw.get("finetune", {}), "source": str(found.path)}
    return dataclasses.replace(recipe, blocks=raw)


def default_output(source: str | Path) -> Path:
    """runs/<source run>-finetune-<time>."""
    from toolkit.runner import default_run_dir

    path = Path(source).expanduser().resolve()
    run = path if path.is_dir() else path.parent
    if run.name == "checkpoints":
        run = run.parent
    return default_run_dir(f"{run.name}-finetune")


def finetune(
    source: str | Path,
    *,
    data: str | Path,
    valid: str | Path | None = None,
    test: str | Path | None = None,
    output: str | Path | None = None,
    freeze: str | int | None = None,
    epochs: int | None = None,
    overrides: list[str] | tuple[str, ...] | dict[str, Any] = (),
    device: str = "auto",
    extend_vocabulary: bool | None = None,
    force: bool = False,
    resume: bool = False,
) -> Any:
    """Fine-tune the run directory or .keras file `source` on `data` into `output` (a new
    run directory; `force` and `resume` as for `runner.train`); returns the trained
    `runner.Run`. The source is only read."""
    from toolkit import runner

    recipe = finetune_recipe(
        source,
        data=data,
        valid=valid,
        test=test,
        freeze=freeze,
        epochs=epochs,
        overrides=overrides,
        extend_vocabulary=extend_vocabulary,
    )
    run_dir = Path(output) if output is not None else default_output(source)
    return runner.train(recipe, run_dir, device, force=force, resume=resume)


# Training ----------------------------------------------------------------------------


def data_kind(path: Path) -> tuple[str, str] | None:
    """What a training source holds, as (input kind, why we think so): "audio" for audio
    files or a manifest of them, "text" for CoNLL files or a manifest with text; None when
    it cannot tell (the task's own checks then speak)."""
    from toolkit.data.manifest import read_table
    from toolkit.data.preparers.folder import AUDIO_EXTENSIONS
    from toolkit.tasks.sequence_tagging import CONLL_SUFFIXES

    if path.is_dir():
        files = (p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        return ("audio", "a folder of audio files") if next(files, None) else None
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".jsonl"):
        try:
            table = read_table(path, "replace").head(20)
        except DataError:
            return None
        for column in table.columns:
            values = table[column].dropna().astype(str).str.lower()
            if len(values) and values.str.endswith(AUDIO_EXTENSIONS).all():
                return "audio", f"a manifest whose {column!r} column names audio files"
        for column in ("text", "tokens"):
            if column in table.columns:
                return "text", f"a manifest with a {column!r} column"
        return None
    if suffix in CONLL_SUFFIXES:
        return "text", "a CoNLL file of tokens and tags"
    return None


def check_data_kind(recipe: Recipe, task_class: type) -> None:
    """Refuse training data of another kind than the source model takes, in one line."""
    if not recipe.data.train or not Path(recipe.data.train).exists():
        return
    found = data_kind(Path(recipe.data.train))
    if found is not None and found[0] != task_class.input_kind:
        raise DataError(
            f"{recipe.data.train}: holds {found[0]} ({found[1]}), but the source is a "
            f"{task_class.name} model, which takes {task_class.input_kind}; fine-tune a "
            f"{found[0]} model on it"
        )


def report_resampling(splits: dict[str, pd.DataFrame], sample_rate: int) -> None:
    """Audio at other rates than the source model's is resampled to it: say so."""
    rates = sorted(
        {
            int(rate)
            for frame in splits.values()
            if "file_rate" in frame
            for rate in frame["file_rate"]
        }
        - {sample_rate}
    )
    if rates:
        log.info(
            "audio at %s Hz is resampled to the source model's %d Hz",
            ", ".join(str(rate) for rate in rates),
            sample_rate,
        )


def source_layers(model: Any, recipe: Recipe, source: Path) -> tuple[Any, Any]:
    """The feature extractor and backbone layers of a trained model."""
    features_class = registry.get("features", recipe.component("features")["type"])
    backbone_class = registry.get("model", recipe.component("model")["type"])
    features = [layer for layer in model.layers if isinstance(layer, features_class)]
    backbones = [layer for layer in model.layers if isinstance(layer, backbone_class)]
    if len(features) != 1 or len(backbones) != 1:
        raise ToolkitError(
            f"{source}: the model does not hold one {features_class.__name__} and one "
            f"{backbone_class.__name__} as its recipe says"
        )
    return features[0], backbones[0]


def backbone_layer_weights(backbone: Any) -> list[list[Any]]:
    """The backbone's trainable weights grouped by the layer inside it that holds them, in
    the order the layers were made (input side first)."""
    groups: dict[str, list[Any]] = {}
    prefix = f"{backbone.path}/"
    for variable in backbone.trainable_weights:
        inner = variable.path.removeprefix(prefix)
        groups.setdefault(inner.split("/")[0], []).append(variable)
    return list(groups.values())


def freezer(what: str | int) -> Callable[[Any], None]:
    """A `Phase.freeze` that freezes the backbone ("backbone"), nothing ("none"), or the
    backbone's first N layers (an int)."""

    def freeze(built: Any) -> None:
        built.backbone.trainable = what != "backbone"
        if isinstance(what, int):
            for group in backbone_layer_weights(built.backbone)[:what]:
                for variable in group:
                    variable.trainable = False

    return freeze


def plan_phases(recipe: Recipe, new_head: bool, shared: int, layers: int) -> list[Any]:
    """The phases of training: the new head alone on the frozen backbone at the full rate,
    then the rest at the lowered rate with what `finetune.freeze` keeps frozen."""
    from toolkit.runner import Phase

    settings, train = recipe.finetune, recipe.train
    freeze = settings.freeze
    if isinstance(freeze, int) and not 0 <= freeze <= layers:
        raise RecipeError(
            f"finetune.freeze: {freeze} layers asked for, the backbone has {layers} with weights"
        )
    if freeze == "backbone" and new_head and not shared and settings.head_epochs == 0:
        raise RecipeError(
            "finetune.freeze backbone with finetune.head_epochs 0: the new head shares no "
            "output with the source and would start from random weights at the lowered "
            "learning rate only; set finetune.head_epochs to 1 or more"
        )
    head_epochs = settings.head_epochs if new_head and freeze != "none" else 0
    if new_head and layers == 0:
        # A backbone without weights (a linear model over n-grams): the new head is all there
        # is to train, at the full rate throughout.
        log.info(
            "the source's backbone has no weights: the new head trains alone, at the full rate"
        )
        return [Phase(train, freezer("backbone"))]
    if freeze != "backbone" and head_epochs >= train.epochs > 1:
        # A head phase as long as the run would leave the backbone as the source had it,
        # which only freeze backbone asks for: the second half trains it.
        log.info(
            "finetune.head_epochs %d of train.epochs %d: the head trains alone for the first "
            "%d, the rest as finetune.freeze says",
            head_epochs,
            train.epochs,
            train.epochs // 2,
        )
        head_epochs = train.epochs // 2
    head_epochs = min(head_epochs, train.epochs)
    rest = train.epochs - head_epochs
    lowered = train.learning_rate * settings.learning_rate_factor
    phases = []
    if head_epochs:
        phases.append(Phase(dataclasses.replace(train, epochs=head_epochs), freezer("backbone")))
        log.info(
            "phase 1: %d epoch(s) of the new head alone (backbone frozen) at learning rate %g",
            head_epochs,
            train.learning_rate,
        )
    if rest:
        later = "none" if freeze == "head_first" else freeze
        phases.append(
            Phase(dataclasses.replace(train, epochs=rest, learning_rate=lowered), freezer(later))
        )
        frozen = {
            "none": "nothing frozen",
            "backbone": "backbone frozen",
        }.get(later, f"the backbone's first {later} layers frozen")
        log.info(
            "%s%d epoch(s), %s, at learning rate %g",
            "phase 2: " if head_epochs else "",
            rest,
            frozen,
            lowered,
        )
    return phases


def read_new_data(
    recipe: Recipe, task: Any, source_task: Any, found: Source, run_dir: Path
) -> tuple[dict[str, pd.DataFrame], bool, list[str]]:
    """The checked splits of the user's data, whether the source's outputs serve them (its
    head continues), and the outputs shared with the source; the task's outputs are fixed in
    the saved recipe and the data summary is written."""
    from toolkit import runner

    splits = runner.load_data(recipe, task, run_dir)
    continues = task.adopt_source_outputs(source=source_task)
    source_names = set(source_task.output_names())
    pairs = list(zip(task.output_names(), task.output_names_in(source=source_task), strict=True))
    shared = [name for name, known in pairs if known in source_names]
    added = [name for name, known in pairs if known not in source_names]
    log.info(
        "fine-tuning %s: %s",
        found.path,
        "the same outputs, its head continues"
        if continues
        else f"a new head of {len(pairs)} outputs, {len(shared)} shared with the source "
        f"(new: {', '.join(added) or 'none'})",
    )
    if task.input_kind == "audio":
        report_resampling(splits, found.recipe.component("task")["sample_rate"])
    splits = task.extend_training_data(splits, data=recipe.data, run_dir=run_dir)
    recipe.with_component("task", {"type": task.name, **task.get_config()})
    recipe.save(run_dir / runner.RESOLVED_RECIPE)
    summary = task.summary(splits, min_examples=recipe.data.min_examples_per_class)
    atomic.write_text(run_dir / "data_summary.txt", "\n".join(summary) + "\n")
    for line in summary:
        log.info("%s", line)
    return splits, continues, shared


def extend_vocabulary(
    recipe: Recipe, task: Any, features: Any, backbone: Any, train: pd.DataFrame
) -> Any:
    """Grow the source's vocabularies in `features` with the training split's new entries
    and log how; returns the backbone to build on (the source's, or a copy for the new sizes
    that `embeddings.carry_backbone_weights` fills once built)."""
    from toolkit.tasks.embeddings import grown_backbone

    try:
        grown = task.extend_vocabulary(features=features, train=train)
    except ValueError as error:
        raise RecipeError(f"finetune.extend_vocabulary: {error}") from None
    log.info(
        "vocabulary extended from the training split: %s",
        ", ".join(f"{added} {what} added ({size} now)" for what, (added, size) in grown.items()),
    )
    if recipe.finetune.freeze == "backbone":
        log.warning(
            "finetune.freeze backbone keeps the embeddings frozen too: the new entries keep "
            "reading as the unknown token did"
        )
    return grown_backbone(backbone, features.derived_sizes())


def train_from_source(recipe: Recipe, run_dir: str | Path, device: str = "auto") -> Any:
    """Train a recipe with `finetune.source` into `run_dir`: the runner's path, with the
    model built on the source's trained layers and trained in phases."""

    from toolkit import runner, training
    from toolkit.tasks.embeddings import carry_backbone_weights

    settings = recipe.finetune
    found = locate_source(settings.source)
    source_task = runner.build_task(found.recipe)
    task_class = registry.get("task", recipe.component("task")["type"])
    if source_task.name != task_class.name:
        raise ToolkitError(
            f"finetune.source: a {source_task.name} model cannot start a {task_class.name} run"
        )
    if recipe.train.ensemble != 1:
        raise RecipeError("train.ensemble: fine-tuning trains one model from the source; use 1")
    check_data_kind(recipe, task_class)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe.save(run_dir / runner.RESOLVED_RECIPE)
    task = runner.build_task(recipe, run_dir)
    runner.check_settings(recipe, task)
    splits, continues, shared = read_new_data(recipe, task, source_task, found, run_dir)

    training.set_precision(recipe.train.mixed_precision)
    strategy = training.make_strategy(device)
    source_task.register_layers()
    task.register_layers()
    started = time.monotonic()
    training.set_seeds(recipe.train.seed)
    with strategy.scope():
        source_model = model_files.load_model(found.model_path)
        features, source_backbone = source_layers(source_model, found.recipe, found.path)
        backbone = source_backbone
        if settings.extend_vocabulary:
            backbone = extend_vocabulary(recipe, task, features, backbone, splits["train"])
        else:
            task.report_unknown_tokens(features=features, train=splits["train"])
        try:
            model = task.build_model(features=features, backbone=backbone, augment=recipe.augment)
        except ValueError as error:
            raise ToolkitError(f"{recipe.source}: {error}") from None
        if backbone is not source_backbone:
            carry_backbone_weights(source_backbone, backbone)
        kept = task.carry_head(source_model=source_model, source=source_task, model=model)
    layers = len(backbone_layer_weights(backbone))
    phases = plan_phases(recipe, not continues, len(shared), layers)
    model = runner.train_member(
        recipe,
        task,
        splits,
        run_dir,
        strategy,
        task.augmentation_resources(augment=recipe.augment, data=recipe.data),
        recipe.train.seed,
        run_dir,
        initial=runner.BuiltModel(model, features, backbone),
        phases=phases,
    )
    seconds = time.monotonic() - started
    recipe.blocks["finetune"]["labels_kept"] = kept
    recipe.save(run_dir / runner.RESOLVED_RECIPE)
    model, baseline = runner.fit_baseline(recipe, task, model, splits, run_dir)
    runner.save_trained(
        run_dir,
        model,
        seconds,
        splits,
        {
            "finetune_source": str(found.path),
            "outputs_kept": len(kept),
            "phases": len(phases),
            **baseline,
        },
    )
    log.info("fine-tuned in %.0f s; model saved to %s", seconds, run_dir / "model.keras")
    return runner.Run(run_dir, recipe, task, model, splits)
