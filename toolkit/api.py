"""The Python API: train a recipe, load a run or a SavedModel, predict on what you hold.

    import toolkit

    run = toolkit.run("keyword_spotting/tts_digits", overrides={"train.epochs": 5})
    model = toolkit.load(run.directory)            # or an exported SavedModel folder
    model.predict(waveform, sample_rate=16000)     # a pandas DataFrame, one row per input
    model.evaluate("test.csv")                     # metrics of a manifest or class folder
    model.export("exported/")                      # a SavedModel that takes raw input
    toolkit.finetune(run.directory, "my_clips/")   # the trained model on your own data

The command line calls the same functions.
"""

from __future__ import annotations

import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

log = logging.getLogger("toolkit")


class Model(ABC):
    """A trained model of one task, whatever it was loaded from."""

    # The task's registry name ("audio_classification", ...) and what it predicts from.
    task_name: str
    input_kind: str
    # The sample rate that audio models take (waveforms at other rates are resampled).
    sample_rate: int | None
    # Audio classifiers: the length of the clip they classify (longer inputs are cropped).
    clip_samples: int | None
    path: Path

    def predict(
        self, inputs: Any, *, sample_rate: int | None = None, top_k: int = 3, batch_size: int = 32
    ) -> pd.DataFrame:
        """One row per input. Audio models take a float waveform, a batch or list of them
        (with `sample_rate`), WAV/FLAC/OGG bytes, or audio file and folder paths; text models
        take strings, .txt files or manifests, taggers also token lists."""
        from toolkit import inputs as user_inputs

        if self.input_kind == "audio":
            names, items = user_inputs.audio_inputs(inputs, self.sample_rate, sample_rate)
            for line in user_inputs.audio_warnings(
                names, items, self.sample_rate, self.clip_samples
            ):
                log.warning("warning: %s", line)
        else:
            names, items = user_inputs.text_inputs(
                inputs, token_lists=self.task_name == "sequence_tagging"
            )
        return self.predict_items(items, names, top_k=top_k, batch_size=batch_size)

    @abstractmethod
    def predict_items(
        self, items: list[Any], names: list[str], *, top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """Predictions for inputs already turned into what the task takes."""

    def detect(
        self,
        recordings: Any,
        *,
        sample_rate: int | None = None,
        threshold: float | None = None,
        hop_ms: float | None = None,
        smoothing_ms: float | None = None,
    ) -> pd.DataFrame:
        """Keywords in long recordings (audio classifiers): the classifier slid over each
        recording, one row per detection with its recording, keyword, start and end
        (seconds) and score. Settings left out come from the recipe's `export.detect_*`."""
        from toolkit import inputs as user_inputs

        self.check_detection()
        names, items = user_inputs.audio_inputs(recordings, self.sample_rate, sample_rate)
        detector = self.detector(
            {"threshold": threshold, "hop_ms": hop_ms, "smoothing_ms": smoothing_ms}
        )
        tables = [
            detection_table(name, detector(waveform))
            for name, waveform in zip(names, items, strict=True)
        ]
        return pd.concat(tables, ignore_index=True)

    def detect_stream(
        self,
        chunks: Iterable[np.ndarray],
        *,
        name: str = "stream",
        threshold: float | None = None,
        hop_ms: float | None = None,
        smoothing_ms: float | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Detections in a stream of float32 chunks (any sizes) at the model's sample rate,
        each yielded as it closes (about half a second after its word); the end of `chunks`
        closes the last. The same detections as `detect` on the whole recording."""
        self.check_detection()
        process, state_size, flush = self.stream_processor(
            {"threshold": threshold, "hop_ms": hop_ms, "smoothing_ms": smoothing_ms}
        )
        state, position = np.zeros(state_size, np.float32), 0
        for chunk in itertools.chain(chunks, [np.zeros(flush, np.float32)]):
            found = process(np.asarray(chunk, np.float32).reshape(-1), state, position)
            state, position = found["state"], found["position"]
            if found["keywords"].shape[0]:
                yield detection_table(name, found)

    def check_detection(self) -> None:
        """Refuse a model that is not an audio classifier; warn when it has no class for
        silence or noise."""
        from toolkit.audio.tts import is_catch_all

        if self.task_name != "audio_classification":
            raise ToolkitError(
                f"{self.path}: detection needs an audio classifier; this is a "
                f"{self.task_name} model"
            )
        if not any(is_catch_all(label) for label in self.class_labels()):
            log.warning(
                "warning: the model has no class for silence or noise, so it names a keyword "
                "in them too; train it with task.background_share (e.g. 1.0) for detection"
            )

    @abstractmethod
    def class_labels(self) -> list[str]:
        """What the model chooses from: class labels, tags, or a recognizer's output units."""

    def detection_settings(self) -> Any:
        """The `toolkit.detection.DetectionSettings` that `detect` uses by default."""
        raise ToolkitError(f"{self.path}: detection needs an audio classifier")

    def detector(self, overrides: dict[str, float | None]) -> Any:
        """A function from a waveform at the model's rate to the detection tensors."""
        raise ToolkitError(f"{self.path}: detection needs an audio classifier")

    def stream_processor(self, overrides: dict[str, float | None]) -> tuple[Any, int, int]:
        """(a function (chunk, state, position) -> detections, state and position; the
        state's size; the samples of silence that close the last detection)."""
        raise ToolkitError(f"{self.path}: detection needs an audio classifier")

    @abstractmethod
    def evaluate(
        self, data: str | Path | None = None, *, decoder: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Metrics of a manifest or class folder (or of the run's own splits); speech
        recognition scores `decoder` (greedy, beam, beam_lm or all; default all)."""

    @abstractmethod
    def export(
        self,
        path: str | Path | None = None,
        *,
        force: bool = False,
        format: str = "saved_model",
        quantize: str = "none",
    ) -> Path:
        """Write a model that takes raw input: a SavedModel, or for audio classifiers a
        LiteRT or ONNX file (`format="litert"` or `"onnx"`, `quantize` none, dynamic or
        int8), checked against this model before it is kept."""


def detection_table(name: str, found: dict[str, Any]) -> pd.DataFrame:
    """Rows of the detection tensors `found`, for the recording `name`."""
    return pd.DataFrame(
        {
            "recording": name,
            "keyword": [value.decode("utf-8") for value in found["keywords"].numpy()],
            "start": found["starts"].numpy(),
            "end": found["ends"].numpy(),
            "score": found["scores"].numpy(),
        }
    )


class RunModel(Model):
    """A run directory: the Keras model with its recipe and task."""

    def __init__(self, run: Any):
        self.run = run
        self.path = run.directory
        self.task_name = run.task.name
        self.input_kind = run.task.input_kind
        self.sample_rate = run.recipe.component("task").get("sample_rate")
        from toolkit.tasks.audio_classification import AudioClassification

        self.clip_samples = (
            run.task.clip_samples if isinstance(run.task, AudioClassification) else None
        )

    @property
    def directory(self) -> Path:
        return self.run.directory

    @property
    def metrics(self) -> dict[str, Any]:
        """The run's metrics.json ({} before evaluation)."""
        import json

        path = self.run.directory / "metrics.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def predict_items(
        self, items: list[Any], names: list[str], *, top_k: int, batch_size: int
    ) -> pd.DataFrame:
        return self.run.task.predict(
            model=self.run.model, inputs=items, names=names, top_k=top_k, batch_size=batch_size
        )

    def evaluate(
        self, data: str | Path | None = None, *, decoder: str | None = None
    ) -> dict[str, dict[str, Any]]:
        from toolkit import runner

        return runner.evaluate(self.run, data, decoder=decoder)

    def class_labels(self) -> list[str]:
        return self.run.task.output_names()

    def detection_settings(self) -> Any:
        from toolkit.detection import DetectionSettings

        export = self.run.recipe.export
        return DetectionSettings(
            export.detect_hop_ms, export.detect_smoothing_ms, export.detect_threshold
        )

    def keyword_detector(self, overrides: dict[str, float | None]) -> Any:
        import dataclasses

        from toolkit.detection import KeywordDetector

        chosen = {key: value for key, value in overrides.items() if value is not None}
        settings = dataclasses.replace(self.detection_settings(), **chosen)
        model = self.run.model
        return KeywordDetector(
            lambda windows: model(windows, training=False),
            self.run.task.labels,
            self.sample_rate,
            self.clip_samples,
            settings,
        )

    def detector(self, overrides: dict[str, float | None]) -> Any:
        import tensorflow as tf

        detect = tf.function(self.keyword_detector(overrides).detect, reduce_retracing=True)
        return lambda waveform: detect(tf.constant(waveform, tf.float32))

    def stream_processor(self, overrides: dict[str, float | None]) -> tuple[Any, int, int]:
        import tensorflow as tf

        detector = self.keyword_detector(overrides)
        process = tf.function(
            detector.process,
            input_signature=[
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([detector.state_size], tf.float32),
                tf.TensorSpec([], tf.int64),
            ],
        )

        def call(chunk, state, position):
            return process(tf.constant(chunk), state, tf.constant(position, tf.int64))

        return call, detector.state_size, detector.flush_samples()

    def export(
        self,
        path: str | Path | None = None,
        *,
        force: bool = False,
        format: str = "saved_model",
        quantize: str = "none",
    ) -> Path:
        from toolkit import runner

        return runner.export(self.run, path, force, format, quantize)

    def __repr__(self) -> str:
        return f"RunModel({str(self.path)!r}, task={self.task_name!r})"


class SavedModelModel(Model):
    """An exported SavedModel, called through its signatures; its metadata says the task."""

    def __init__(self, path: Path):
        from toolkit.predict import load_saved_model

        self.path = path
        self.loaded = load_saved_model(str(path))
        metadata = {key: value.numpy() for key, value in self.loaded.metadata().items()}
        task = metadata.get("task")
        if task is None:
            raise ToolkitError(f"{path}: a SavedModel without the toolkit's metadata (no task)")
        self.task_name = task.decode("utf-8")
        self.metadata = metadata
        from toolkit import registry

        self.input_kind = registry.get("task", self.task_name).input_kind
        self.sample_rate = int(metadata["sample_rate"]) if "sample_rate" in metadata else None
        self.clip_samples = int(metadata["clip_samples"]) if "clip_samples" in metadata else None

    def predict_items(
        self, items: list[Any], names: list[str], *, top_k: int, batch_size: int
    ) -> pd.DataFrame:
        from toolkit import predict

        serve = self.loaded.signatures
        return predict.SAVED_MODEL_PREDICTORS[self.task_name](
            serve, self.metadata, items, names, top_k=top_k, batch_size=batch_size
        )

    def class_labels(self) -> list[str]:
        from toolkit.predict import labels_of

        return labels_of(self.metadata) if "labels" in self.metadata else []

    def detection_settings(self) -> Any:
        from toolkit.detection import DetectionSettings

        if "detect_hop_ms" not in self.metadata:
            raise ToolkitError(f"{self.path}: this SavedModel has no `detect` signature")
        return DetectionSettings(
            float(self.metadata["detect_hop_ms"]),
            float(self.metadata["detect_smoothing_ms"]),
            float(self.metadata["detect_threshold"]),
        )

    def check_settings(self, overrides: dict[str, float | None]) -> None:
        """Refuse detection settings other than those the SavedModel was exported with."""
        import dataclasses

        settings = dataclasses.asdict(self.detection_settings())
        for key, value in overrides.items():
            if value is not None and abs(value - settings[key]) > 1e-9:
                raise ToolkitError(
                    f"{self.path}: this SavedModel detects with {key} {settings[key]:g}; "
                    "pass the run directory to detect with other settings"
                )

    def detector(self, overrides: dict[str, float | None]) -> Any:
        import tensorflow as tf

        self.check_settings(overrides)
        detect = self.loaded.signatures["detect"]
        return lambda waveform: detect(waveform=tf.constant(waveform, tf.float32))

    def stream_processor(self, overrides: dict[str, float | None]) -> tuple[Any, int, int]:
        import tensorflow as tf

        self.check_settings(overrides)
        stream = self.loaded.signatures["stream"]
        rate = tf.constant(self.sample_rate)

        def call(chunk, state, position):
            return stream(
                chunk=tf.constant(chunk),
                sample_rate=rate,
                state=tf.convert_to_tensor(state),
                position=tf.constant(position, tf.int64),
            )

        return (
            call,
            int(self.metadata["stream_state_size"]),
            int(self.metadata["stream_flush_samples"]),
        )

    def evaluate(
        self, data: str | Path | None = None, *, decoder: str | None = None
    ) -> dict[str, dict[str, Any]]:
        raise ToolkitError(
            f"{self.path}: evaluation needs the run directory the SavedModel came from "
            "(its recipe says how to read and score the data)"
        )

    def export(
        self,
        path: str | Path | None = None,
        *,
        force: bool = False,
        format: str = "saved_model",
        quantize: str = "none",
    ) -> Path:
        raise ToolkitError(f"{self.path}: already an exported SavedModel")

    def __repr__(self) -> str:
        return f"SavedModelModel({str(self.path)!r}, task={self.task_name!r})"


def load(path: str | Path) -> Model:
    """A trained run directory or an exported SavedModel folder, ready to predict."""
    from toolkit import predict, runner

    ensure_logging()
    path = Path(path)
    if predict.is_saved_model(path):
        return SavedModelModel(path)
    if (path / runner.RESOLVED_RECIPE).is_file() and (path / "model.keras").is_file():
        return RunModel(runner.open_run(path))
    if not path.exists():
        raise ToolkitError(f"{path}: no such folder (expected a run directory or a SavedModel)")
    raise ToolkitError(
        f"{path}: neither a run directory ({runner.RESOLVED_RECIPE} and model.keras) nor a "
        "SavedModel (saved_model.pb)"
    )


def run(
    recipe: str | Path | dict[str, Any],
    overrides: dict[str, Any] | list[str] | tuple[str, ...] = (),
    output: str | Path | None = None,
    *,
    device: str = "auto",
    export: bool | None = None,
    force: bool = False,
    resume: bool = False,
) -> RunModel:
    """Train a recipe (a name such as "keyword_spotting/tts_digits", a path, or a dict of
    blocks), evaluate it on its test split and export it (unless `export` is False or the
    recipe's `export.enabled` is); returns the trained run.

    An interrupted run of the same recipe in `output` resumes; a finished one there is
    refused (ToolkitError) unless `force` (start over) or `resume` (evaluate and export it
    again without training)."""
    from toolkit import runner
    from toolkit.recipes import load_recipe

    if device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    resolved = load_recipe(recipe, overrides)
    stem = resolved.source if not isinstance(recipe, dict) else "recipe"
    run_dir = Path(output) if output is not None else runner.default_run_dir(stem)
    ensure_logging(run_dir)
    trained = runner.train(resolved, run_dir, device, force=force, resume=resume)
    runner.evaluate(trained)
    if resolved.export.enabled if export is None else export:
        runner.export(trained, force=True)
    return RunModel(trained)


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
    force: bool = False,
    resume: bool = False,
) -> RunModel:
    """Fine-tune a run directory or .keras file on `data` (see `toolkit.finetune`), evaluate
    it on its test split and export it; returns the new run (`force` and `resume` as for
    `run`)."""
    from toolkit import finetuning, runner

    if device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    recipe = finetuning.finetune_recipe(
        source,
        data=data,
        valid=valid,
        test=test,
        freeze=freeze,
        epochs=epochs,
        overrides=overrides,
        extend_vocabulary=extend_vocabulary,
    )
    run_dir = Path(output) if output is not None else finetuning.default_output(source)
    ensure_logging(run_dir)
    trained = runner.train(recipe, run_dir, device, force=force, resume=resume)
    runner.evaluate(trained)
    if recipe.export.enabled if export is None else export:
        runner.export(trained, force=True)
    return RunModel(trained)


def tune(
    recipe: str | Path | dict[str, Any],
    overrides: dict[str, Any] | list[str] | tuple[str, ...] = (),
    output: str | Path | None = None,
    *,
    budget_minutes: float | None = None,
    trials: int | None = None,
    device: str = "auto",
    force: bool = False,
) -> RunModel:
    """Search the settings of the recipe's `tune` block (see `toolkit.tuning`), then train
    the best into OUTPUT/best (evaluated and exported); returns that run. The same `output`
    resumes an interrupted search; another recipe's search there is refused unless `force`."""
    from toolkit import tuning
    from toolkit.recipes import load_recipe

    if device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    resolved = load_recipe(recipe, overrides)
    stem = Path(resolved.source).stem if not isinstance(recipe, dict) else "recipe"
    folder = Path(output) if output is not None else Path("runs") / f"{stem}-tune"
    ensure_logging(folder)
    found = tuning.tune(
        resolved, folder, budget_minutes=budget_minutes, trials=trials, device=device, force=force
    )
    return RunModel(found.run)


def ensure_logging(run_dir: Path | None = None) -> None:
    """Progress lines on stderr without the caller configuring logging (and RUN_DIR/log.txt)."""
    from toolkit.cli.common import setup_logging

    setup_logging(run_dir)
