"""Load a YAML recipe, apply `--set` overrides, validate every key, resolve paths.

A recipe has the blocks `task`, `data`, `features`, `augment`, `model`, `train`, `export`, and
`finetune` when the model starts from a trained one.
`task`, `features` and `model` name a registered class with `type`; their other keys are
that class's constructor arguments. The resolved recipe has every default filled in and
absolute paths, so it can be saved in the run directory and run again as it is.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from toolkit import atomic, registry, resources, schema
from toolkit.config import (
    FIXED_BLOCKS,
    OPTIONAL_BLOCKS,
    DataConfig,
    ExportConfig,
    FinetuneConfig,
    TrainConfig,
)
from toolkit.errors import RecipeError

BLOCKS = ("task", "data", "features", "augment", "model", "train", "export", "finetune", "tune")
COMPONENT_BLOCKS = {"task": "task", "features": "features", "model": "model"}
# The one model-block key that is not a backbone argument (see Recipe.pretrained).
PRETRAINED = "pretrained"
# Constructor arguments the toolkit derives and passes itself (never written in a recipe).
# Which of them a component receives is up to its constructor: a backbone over spectrograms takes
# `num_features`, one over tokens `vocabulary_size`.
DERIVED = {
    "task": set(),
    "features": {"sample_rate"},
    "model": {
        "num_features",
        "vocabulary_size",
        "character_vocabulary_size",
        "casing_vocabulary_size",
    },
}
RECIPES_ROOT = resources.recipes_dir()


class RecipeLoader(yaml.SafeLoader):
    """YAML's safe loader, reading `1e-10` and `3E5` as floats.

    PyYAML follows YAML 1.1, where a float needs a dot (`1.0e-10`), so `log_offset: 1e-10`
    would arrive as the string '1e-10' and fail validation; YAML 1.2 and Python read a float.
    """


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """A YAML document or a single `--set` value, read with `RecipeLoader`."""
    return yaml.load(text, Loader=RecipeLoader)


@dataclass
class Recipe:
    """A validated recipe: `blocks` maps block name to a complete dict of settings (what is
    saved as YAML). Code reads the fixed blocks as the typed settings of `toolkit.config`
    (`recipe.train.batch_size`) and the component blocks with `component`."""

    blocks: dict[str, dict[str, Any]]
    source: str

    @property
    def data(self) -> DataConfig:
        return DataConfig(**self.blocks["data"])

    @property
    def augment(self) -> Any:
        """The task's augment settings: `AudioAugmentConfig`, `SpeechAugmentConfig` or none."""
        task_class = registry.get("task", self.blocks["task"]["type"])
        return task_class.augment_config(**self.blocks["augment"])

    @property
    def train(self) -> TrainConfig:
        return TrainConfig(**self.blocks["train"])

    @property
    def export(self) -> ExportConfig:
        return ExportConfig(**self.blocks["export"])

    @property
    def finetune(self) -> FinetuneConfig:
        """The fine-tuning settings; their defaults (no source) when the recipe has none."""
        return FinetuneConfig(**self.blocks.get("finetune", {}))

    @property
    def pretrained(self) -> str | None:
        """`model.pretrained`: the shipped model (or run directory) whose features and
        backbone the run starts from instead of the recipe's own; None trains from scratch."""
        return self.blocks["model"].get(PRETRAINED)

    def component(self, block: str) -> dict[str, Any]:
        """A copy of a component block (`task`, `features`, `model`): its `type` and the
        constructor arguments of that registered class."""
        if block not in COMPONENT_BLOCKS:
            raise KeyError(f"{block!r} is not a component block ({', '.join(COMPONENT_BLOCKS)})")
        values = dict(self.blocks[block])
        if block == "model":
            values.pop(PRETRAINED, None)
        return values

    def with_component(self, block: str, values: dict[str, Any]) -> None:
        """Replace a component block (e.g. the task's, once its label list is fixed)."""
        self.component(block)
        self.blocks[block] = dict(values)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.blocks, sort_keys=False, default_flow_style=None)

    def save(self, path: str | Path) -> None:
        header = f"# Resolved from {self.source}; run again with `toolkit run {Path(path).name}`.\n"
        atomic.write_text(path, header + self.to_yaml())


def parse_override(text: str) -> tuple[list[str], Any]:
    """`model.filters=64` -> (["model", "filters"], 64); the value is read as YAML."""
    if "=" not in text:
        raise RecipeError(f"--set {text!r}: expected key.sub=value")
    key, raw_value = text.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) < 2 or not all(parts):
        raise RecipeError(
            f"--set {text!r}: the key must name a block and a setting, e.g. train.epochs=5"
        )
    try:
        value = parse_yaml(raw_value) if raw_value.strip() else None
    except yaml.YAMLError as error:
        raise RecipeError(f"--set {text!r}: value is not valid YAML ({error})") from None
    return parts, value


def apply_override(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    block = parts[0]
    if block not in BLOCKS:
        raise RecipeError(
            f"--set {'.'.join(parts)}: unknown block {block!r} (blocks: {', '.join(BLOCKS)})"
        )
    node = raw.setdefault(block, {}) or {}
    raw[block] = node
    # Switching a component's type drops the old type's settings rather than failing on them.
    if (
        len(parts) == 2
        and parts[1] == "type"
        and block in COMPONENT_BLOCKS
        and node.get("type") != value
    ):
        node.clear()
    for part in parts[1:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RecipeError("recipe file not found")
    try:
        raw = parse_yaml(path.read_text())
    except yaml.YAMLError as error:
        raise RecipeError(f"not valid YAML: {yaml_problem(error)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"a recipe is a mapping of blocks ({', '.join(BLOCKS)})")
    return raw


def yaml_problem(error: yaml.YAMLError) -> str:
    """Where and what, e.g. "line 2, column 1: found character '\\t' that cannot start any
    token" (tab indentation)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return str(error).splitlines()[0]


def path_keys(task_class: type, raw: dict[str, Any] | None = None) -> dict[str, set[str]]:
    """Block -> the keys whose values are paths: marked fields of the fixed blocks, and
    component settings whose names end in `_file` (e.g. task.word_vectors_file)."""
    config_classes = dict(FIXED_BLOCKS, **OPTIONAL_BLOCKS, augment=task_class.augment_config)
    keys = {
        block: {field.name for field in dataclasses.fields(config) if field.metadata.get("path")}
        for block, config in config_classes.items()
    }
    for block in COMPONENT_BLOCKS:
        keys[block] = {key for key in (raw or {}).get(block) or {} if key.endswith("_file")}
    return keys


def resolve_paths(raw: dict[str, Any], keys: dict[str, set[str]], base: Path) -> None:
    for block, names in keys.items():
        values = raw.get(block) or {}
        for name in names:
            value = values.get(name)
            if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
                values[name] = str((base / os.path.expanduser(value)).resolve())
            elif isinstance(value, str) and value:
                values[name] = str(Path(os.path.expanduser(value)).resolve())


def validate(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every block and fill in defaults; raises RecipeError naming the key."""
    for block in raw:
        if block not in BLOCKS:
            raise RecipeError(f"{block}: unknown block (blocks: {', '.join(BLOCKS)})")
    blocks: dict[str, dict[str, Any]] = {}
    for block, kind in COMPONENT_BLOCKS.items():
        values = dict(raw.get(block) or {})
        if "type" not in values:
            raise RecipeError(f"{block}.type: required (one of: {', '.join(registry.names(kind))})")
        name = values.pop("type")
        if name not in registry.REGISTRY[kind]:
            raise RecipeError(
                f"{block}.type: unknown {kind} {name!r} (known: {', '.join(registry.names(kind))})"
            )
        annotations, defaults = schema.signature_parameters(
            registry.get(kind, name), DERIVED[block]
        )
        if block == "model":
            annotations, defaults = (
                {**annotations, PRETRAINED: str | None},
                {**defaults, PRETRAINED: None},
            )
        blocks[block] = {"type": name, **schema.check_block(block, values, annotations, defaults)}
        if block == "model" and blocks[block][PRETRAINED] is None:
            # Left out rather than saved as null, so recipes without it read as before.
            del blocks[block][PRETRAINED]
    task_class = registry.get("task", blocks["task"]["type"])
    config_classes = dict(FIXED_BLOCKS, augment=task_class.augment_config)
    for block, config_class in config_classes.items():
        blocks[block] = schema.check_block(
            block,
            raw.get(block) or {},
            schema.dataclass_types(config_class),
            schema.dataclass_defaults(config_class),
        )
    for block, config_class in OPTIONAL_BLOCKS.items():
        if raw.get(block) is not None:
            blocks[block] = schema.check_block(
                block,
                raw[block],
                schema.dataclass_types(config_class),
                schema.dataclass_defaults(config_class),
            )
    check_numbers(blocks)
    momentum = blocks["train"]["ema_momentum"]
    if momentum is not None and not 0.0 <= momentum < 1.0:
        raise RecipeError(f"train.ema_momentum: must be in [0, 1), got {momentum}")
    members = blocks["train"]["ensemble"]
    if members < 1:
        raise RecipeError(f"train.ensemble: must be 1 or more models, got {members}")
    if members > 1 and not task_class.averages_members:
        raise RecipeError(
            f"train.ensemble: the {blocks['task']['type']} task cannot average models; use 1"
        )
    return {block: blocks[block] for block in BLOCKS if block in blocks}


# Settings that only make sense above (">") or from ("≥") a bound; null stays allowed where the
# setting's type allows it.
LOWER_BOUNDS: dict[tuple[str, str], tuple[str, float]] = {
    ("train", "epochs"): ("≥", 1),
    ("train", "batch_size"): ("≥", 1),
    ("train", "learning_rate"): ("≥", 0.0),
    ("train", "weight_decay"): ("≥", 0.0),
    ("train", "warmup_epochs"): ("≥", 0.0),
    ("train", "clip_norm"): (">", 0.0),
    ("train", "early_stopping_patience"): ("≥", 0),
    ("train", "save_every_steps"): ("≥", 1),
    ("data", "valid_fraction"): (">", 0.0),
}


def check_numbers(blocks: dict[str, dict[str, Any]]) -> None:
    """No NaN or infinite number anywhere (a NaN learning rate trains a NaN model), and the
    settings of LOWER_BOUNDS within their bounds."""
    for block, values in blocks.items():
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise RecipeError(f"{block}.{key}: must be a finite number, got {value}")
    for (block, key), (relation, bound) in LOWER_BOUNDS.items():
        value = blocks.get(block, {}).get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if value < bound or (relation == ">" and value == bound):
            raise RecipeError(f"{block}.{key}: must be {relation} {bound}, got {value}")
    fraction = blocks.get("data", {}).get("valid_fraction")
    if isinstance(fraction, float) and fraction >= 1.0:
        raise RecipeError(f"data.valid_fraction: must be below 1, got {fraction}")


def load_recipe(
    source: str | Path | dict[str, Any],
    overrides: list[str] | tuple[str, ...] | dict[str, Any] = (),
) -> Recipe:
    """Read, override, validate and resolve a recipe: a file, a name under recipes/, or a
    dict of blocks (its relative paths are read against the working directory). Overrides
    are `block.key=value` strings, or a dict {"block.key": value}."""
    if isinstance(source, dict):
        raw, path, name = copy.deepcopy(source), Path.cwd() / "recipe", "recipe given as a dict"
    else:
        path = find_recipe(source)
        name = str(path)
    try:
        if not isinstance(source, dict):
            raw = read_yaml(path)
        task_block = raw.get("task") or {}
        if isinstance(overrides, dict):
            parsed = [(split_key(key), value) for key, value in overrides.items()]
        else:
            parsed = [parse_override(text) for text in overrides]
        for parts, value in parsed:
            if parts[:2] == ["task", "type"]:
                task_block = {"type": value}
        task_name = (task_block or {}).get("type")
        if task_name not in registry.REGISTRY["task"]:
            raise RecipeError(
                f"task.type: unknown task {task_name!r} (known: {', '.join(registry.names('task'))})"
            )
        keys = path_keys(registry.get("task", task_name), raw)
        resolve_paths(raw, keys, path.parent)
        for parts, value in parsed:
            # Paths given on the command line are relative to the working directory.
            if (
                len(parts) == 2
                and (parts[1] in keys.get(parts[0], set()) or parts[1].endswith("_file"))
                and isinstance(value, str)
                and value
            ):
                value = str(Path(os.path.expanduser(value)).resolve())
            apply_override(raw, parts, value)
        blocks = validate(raw)
    except RecipeError as error:
        raise RecipeError(f"{name}: {error}") from None
    return Recipe(blocks=blocks, source=name)


def split_key(key: str) -> list[str]:
    """`train.epochs` -> ["train", "epochs"]; the key must name a block and a setting."""
    parts = str(key).strip().split(".")
    if len(parts) < 2 or not all(parts):
        raise RecipeError(
            f"override {key!r}: the key must name a block and a setting, e.g. train.epochs"
        )
    return parts


def find_recipe(name: str | Path) -> Path:
    """A path to a recipe file, or a name like `keyword_spotting/tts_digits` under recipes/.

    Raises RecipeError naming the close matches (or every shipped recipe) when neither exists.
    """
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    for candidate in (RECIPES_ROOT / f"{name}.yaml", RECIPES_ROOT / str(name)):
        if candidate.is_file():
            return candidate
    known = list_recipes()
    close = close_recipes(str(name), known)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
    raise RecipeError(f"{name}: recipe file not found and no shipped recipe has that name ({hint})")


def close_recipes(name: str, known: list[str]) -> list[str]:
    """The shipped names like `name`, best first: its last part must be close to a recipe's
    name, and a task part, if given, close to the recipe's task (`tts_digit` is enough)."""
    query = name.removesuffix(".yaml").replace("\\", "/")
    task, _, stem = query.rpartition("/")

    def similarity(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    scored = []
    for recipe in known:
        recipe_task, _, recipe_stem = recipe.rpartition("/")
        score = similarity(stem, recipe_stem)
        if score >= 0.6 and (not task or similarity(task, recipe_task) >= 0.6):
            scored.append((-score, recipe))
    return [recipe for _, recipe in sorted(scored)]


def list_recipes() -> list[str]:
    """Names of the shipped recipes (task/name)."""
    if not RECIPES_ROOT.is_dir():
        return []
    return sorted(
        p.relative_to(RECIPES_ROOT).with_suffix("").as_posix()
        for p in RECIPES_ROOT.glob("*/*.yaml")
    )
