"""The task contract: every hook the runner, prediction, evaluation and the command line call.

A task turns a backbone into a model and knows its data, loss, decoding, reports and exports.
Hooks take keyword arguments and return what they build; optional capabilities are class
attributes with defaults here, so callers never probe a task with `hasattr`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from toolkit.config import DataConfig, ExportConfig, NoAugmentConfig
from toolkit.errors import DataError, RecipeError, ToolkitError

InputKind = Literal["audio", "text"]


def single_label_loss(label_smoothing: float, classes: int):
    """Cross-entropy on label ids, with label smoothing when asked for."""
    import keras

    if label_smoothing <= 0:
        return keras.losses.SparseCategoricalCrossentropy()
    from toolkit.losses import SmoothedSparseCategoricalCrossentropy

    return SmoothedSparseCategoricalCrossentropy(classes, label_smoothing)


class Task(ABC):
    """Base class of the tasks; the registry name of each is its `name`."""

    # Registry name; also the SavedModel's metadata["task"], which says how to call it.
    name: ClassVar[str]
    # What a model of this task predicts from: waveforms ("audio") or strings ("text").
    input_kind: ClassVar[InputKind]
    # The typed settings of the recipe's `augment` block.
    augment_config: ClassVar[type] = NoAugmentConfig
    # Canonical manifest columns the task reads, and those holding file paths.
    required_columns: ClassVar[tuple[str, ...]] = ()
    path_columns: ClassVar[tuple[str, ...]] = ()
    # Validation is carved out of train stratified by this column (None: a plain random split).
    stratify_column: str | None = "label"
    # The validation metric that checkpoints and early stopping watch unless train.monitor says.
    default_monitor: str = "val_loss"
    # Whether the model always sees the same input shape (per batch size) in the exported
    # endpoints; only then is it worth compiling with XLA (`export.jit_compile`).
    fixed_input_shapes: ClassVar[bool] = False
    # Whether the model's output is class probabilities that several trained models can
    # average (`train.ensemble`).
    averages_members: ClassVar[bool] = False
    # The export formats (names in `toolkit.export.FORMATS`) this task's models can be written in.
    export_formats: ClassVar[tuple[str, ...]] = ("saved_model",)
    # The run directory, given by the runner when it builds the task for a run (files the
    # task writes or reads beside the model: subword units, a language model).
    run_directory: Path | None = None
    # The setting that holds the model's outputs (labels, tags, alphabet), fixed from the
    # training data when a recipe leaves it empty; fine-tuning fixes it from the new data.
    output_setting: ClassVar[str | None] = None
    # Task settings a trained model is bound to (its sample rate, clip length, kind of head):
    # fine-tuning keeps the source's and refuses a change.
    source_settings: ClassVar[tuple[str, ...]] = ()
    # The layers whose units are the outputs, by name: "last" when a weight's last axis runs
    # over the outputs (a Dense kernel and bias), "all" when every axis does (CRF transitions).
    # Fine-tuning keeps their rows of the outputs a new model shares with its source.
    output_layers: ClassVar[dict[str, Literal["last", "all"]]] = {}
    # Settings that only initialise a model trained from scratch (pretrained word vectors);
    # fine-tuning clears them, as the source's trained weights take their place.
    scratch_settings: ClassVar[tuple[str, ...]] = ()
    # What `fit_baseline` fits (`train.baseline`), in a few words; None: the task has none.
    baseline_description: ClassVar[str | None] = None

    @abstractmethod
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this task (saved in the resolved recipe)."""

    # Settings ------------------------------------------------------------------------

    def feature_arguments(self) -> dict[str, Any]:
        """Constructor arguments the task gives its feature extractor or tokenizer."""
        return {}

    def check_augment(self, *, augment: Any, features: Any) -> None:
        """Raise ValueError for an `augment` setting the model could not be built with; runs
        before any data is read."""
        return None

    def register_layers(self) -> None:
        """Import the modules of the task's own layers so saved models can be loaded."""
        return None

    # Data ----------------------------------------------------------------------------

    def read_folder(self, folder: Path) -> pd.DataFrame:
        """Rows from a folder given as a split (audio tasks: one sub-folder per class)."""
        raise DataError(
            f"{folder}: is a folder; this task reads manifest files (.csv, .tsv, .jsonl)"
        )

    def read_file(self, path: Path, *, encoding_errors: str = "strict") -> pd.DataFrame | None:
        """Rows from a file in a format of the task's own (CoNLL for tagging); None reads it
        as a manifest table."""
        return None

    @abstractmethod
    def check_splits(
        self, splits: dict[str, pd.DataFrame], *, on_error: str, skipped: list[dict]
    ) -> dict[str, pd.DataFrame]:
        """Checked splits: bad rows refused (on_error "raise") or dropped and appended to
        `skipped`; fixes what training fixes (label list, alphabet) when not given."""

    def extend_training_data(
        self, splits: dict[str, pd.DataFrame], *, data: DataConfig, run_dir: Path
    ) -> dict[str, pd.DataFrame]:
        """The splits with what the task adds to training (synthetic speech); as they are
        by default."""
        return splits

    @abstractmethod
    def summary(self, splits: dict[str, pd.DataFrame], *, min_examples: int) -> list[str]:
        """Lines describing what was found: labels, counts, lengths, warnings."""

    def adapt(self, *, features: Any, train: pd.DataFrame) -> None:
        """Fit what the features learn from training data (e.g. a vocabulary); none by default."""
        return None

    def augmentation_resources(self, *, augment: Any, data: DataConfig) -> Any:
        """What training-time augmentation reads beside the data (a bank of background
        noise), built once per run and given to `dataset`; None by default."""
        return None

    @abstractmethod
    def dataset(
        self,
        frame: pd.DataFrame,
        *,
        batch_size: int,
        training: bool,
        augment: Any = None,
        resources: Any = None,
        cache: bool = True,
        seed: int = 0,
    ) -> Any:
        """A tf.data pipeline of (inputs, targets) batches; augmented when `training`."""

    def class_weight(self, train: pd.DataFrame) -> dict[int, float] | None:
        """Per-class loss weights for Keras `fit`; None by default."""
        return None

    # Model ---------------------------------------------------------------------------

    @abstractmethod
    def build_model(self, *, features: Any, backbone: Any, augment: Any) -> Any:
        """The Keras model: raw input -> features -> backbone -> the task's head."""

    def prepare_training(
        self,
        splits: dict[str, pd.DataFrame],
        *,
        run_dir: Path,
        augment: Any,
        features: Any,
        backbone: Any,
    ) -> list[dict]:
        """Once the model is built: leave out rows it cannot learn from (changing `splits` in
        place) and write what training needs beside the model; returns the rows left out."""
        return []

    @abstractmethod
    def loss(self, *, model: Any) -> Any:
        """The training loss for `model` (built by `build_model`)."""

    def metrics(self) -> list:
        """Keras metrics compiled with the model."""
        return []

    def validation_callbacks(self, *, valid: pd.DataFrame, batch_size: int) -> list:
        """Callbacks that score the validation split beyond Keras metrics (span F1, WER)."""
        return []

    # Fine-tuning ---------------------------------------------------------------------

    def output_names(self) -> list[str]:
        """The names of the output layer's units in order (labels, tags, characters)."""
        raise ToolkitError(f"the {self.name} task has no outputs that fine-tuning can map")

    def adopt_source_outputs(self, *, source: Task) -> bool:
        """Once `check_splits` has fixed this task's outputs from new training data: take the
        trained `source` task's outputs instead where they serve the new data (so its head
        continues as it is); returns whether they did."""
        return False

    def output_names_in(self, *, source: Task) -> list[str]:
        """Each of `output_names()` as the trained `source` task calls it, so that outputs
        named alike share the source's rows of the output layer (the same name by default)."""
        return self.output_names()

    def carry_head(self, *, source_model: Any, source: Task, model: Any) -> list[str]:
        """Give `model`, built by `build_model` on the features and backbone of `source_model`
        (a trained model of `source`), that model's head: the rows of its `output_layers` for
        the outputs both have (by name), and other head layers' weights whole. Returns the
        outputs whose rows were kept."""
        from toolkit.tasks.heads import carry_head_weights

        return carry_head_weights(
            source_model,
            model,
            self.output_layers,
            source.output_names(),
            self.output_names_in(source=source),
        )

    def report_unknown_tokens(self, *, features: Any, train: pd.DataFrame) -> float | None:
        """With a vocabulary kept from a trained model rather than learnt from `train`: log
        the share of training tokens outside it and return it; None without a vocabulary."""
        return None

    def extend_vocabulary(
        self, *, features: Any, train: pd.DataFrame
    ) -> dict[str, tuple[int, int]]:
        """With `finetune.extend_vocabulary`: append what `train` holds outside the
        vocabularies kept in `features` (a trained model's), as their own adapt counts it;
        returns {what: (entries added, vocabulary size)}, e.g. {"words": (12, 5012)}. Raises
        ValueError for features whose vocabulary cannot grow; refused by tasks without one."""
        raise RecipeError(
            f"finetune.extend_vocabulary: the {self.name} task reads {self.input_kind}, "
            "which has no vocabulary to extend; fine-tune without it"
        )

    # Baseline ------------------------------------------------------------------------

    @property
    def selection_metric(self) -> str:
        """The key of `evaluate`'s metrics (higher is better) that decides between the model
        and its baseline on validation."""
        return "accuracy"

    def fit_baseline(self, *, splits: dict[str, pd.DataFrame], batch_size: int) -> Any:
        """The linear model a user of this task would have tried (`baseline_description`),
        fitted on `splits["train"]` with its settings chosen on `splits["valid"]`: a Keras
        model with the same input and output as `build_model`'s, so that it is evaluated and
        exported as the run's model is."""
        raise RecipeError(f"train.baseline: the {self.name} task has no baseline; use none")

    # Evaluation and prediction ---------------------------------------------------------

    @abstractmethod
    def evaluate(
        self, *, model: Any, frame: pd.DataFrame, split: str, output_dir: Path, batch_size: int
    ) -> dict[str, Any]:
        """Metrics for one split; writes its report (plots, errors_<split>.csv)."""

    def set_evaluation_decoder(self, decoder: str) -> None:
        """Score only this decoder ("all": every one) in `evaluate`, for tasks that decode in
        several ways."""
        raise RecipeError(f"--decoder: the {self.name} task has no decoders to choose from")

    @abstractmethod
    def predict(
        self, *, model: Any, inputs: list[Any], names: list[str], top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """One row per input: for audio tasks `inputs` are float32 waveforms at the task's
        sample rate, for text tasks strings (tagging also takes token lists); `names` label
        the rows."""

    # Export --------------------------------------------------------------------------

    @abstractmethod
    def export_endpoints(self, *, model: Any, export: ExportConfig) -> dict[str, tuple[Any, list]]:
        """SavedModel signatures {name: (function, input signature)}, including `metadata`
        whose `task` is this task's name."""

    def litert_function(self, *, model: Any) -> tuple[Any, list]:
        """For tasks whose `export_formats` hold "litert": the function a `.tflite` model
        runs (one raw input in, the task's output out) and its fixed input signature."""
        raise ToolkitError(f"the {self.name} task has no LiteRT export")

    def litert_metadata(self) -> dict[str, Any]:
        """What a LiteRT export's metadata.json says about its input and output."""
        raise ToolkitError(f"the {self.name} task has no LiteRT export")

    def export_inputs(self, frame: pd.DataFrame, *, count: int) -> np.ndarray:
        """The first `count` rows of a split as the exported function takes them (to check
        an export against the model, or calibrate its quantization)."""
        raise ToolkitError(f"the {self.name} task has no LiteRT export")

    def synthetic_export_inputs(self, *, count: int) -> np.ndarray:
        """`count` made-up inputs of the exported function's shape, for a check when the
        run's data cannot be read."""
        raise ToolkitError(f"the {self.name} task has no LiteRT export")

    def export_resources(self) -> list[Any]:
        """TensorFlow resources the endpoints use besides the model's own (lookup tables
        built for decoding), for the export to carry."""
        return []
