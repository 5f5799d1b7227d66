"""Audio classification (keyword spotting): a waveform in, one label out.

The model takes fixed-length waveforms at the task's sample rate; the exported SavedModel
pads or crops any length in the graph, exactly as the training pipeline does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit.config import AudioAugmentConfig, DataConfig, ExportConfig
from toolkit.errors import DataError
from toolkit.tasks import classification
from toolkit.tasks.audio import AudioTask
from toolkit.tasks.base import Task, single_label_loss

log = logging.getLogger("toolkit")


class AudioClassification(AudioTask):
    """Head, loss, metrics, evaluation and export signatures for audio classification."""

    name = "audio_classification"
    required_columns = ("audio", "label")
    default_monitor = "val_accuracy"
    # Clips are padded or cropped before the model, so XLA compiles it once per batch size.
    fixed_input_shapes = True
    export_formats = ("saved_model", "litert", "onnx")
    averages_members = True
    output_setting = "labels"
    source_settings = ("sample_rate", "clip_duration", "pooling")
    output_layers = {"probabilities": "last"}
    baseline_description = "MFCC statistics + logistic regression"

    def __init__(
        self,
        sample_rate: int = 16000,
        clip_duration: float = 1.0,
        labels: list[str] | None = None,
        pooling: Literal["mean", "max", "mean_max", "attention"] = "mean",
        head_dropout_rate: float = 0.2,
        label_smoothing: float = 0.0,
        class_weights: Literal["auto", "none"] = "auto",
        background_share: float = 0.0,
    ):
        if sample_rate <= 0 or clip_duration <= 0:
            raise ValueError(
                f"sample_rate and clip_duration must be positive, got {sample_rate} and {clip_duration}"
            )
        if background_share < 0:
            raise ValueError(f"background_share must be 0 or more, got {background_share}")
        self.sample_rate = sample_rate
        self.clip_duration = clip_duration
        self.labels = list(labels) if labels else None
        self.pooling = pooling
        self.head_dropout_rate = head_dropout_rate
        self.label_smoothing = label_smoothing
        self.class_weights = class_weights
        # Clips of noise, near-silence and word fragments as the class `_background_`, this
        # many times the average class's count (training and validation), for a classifier
        # that `toolkit detect` slides over long recordings; 0 adds none.
        self.background_share = background_share

    def register_layers(self) -> None:
        import toolkit.audio.augment  # noqa: F401  (SpecAugment, FrequencyWarp)
        import toolkit.audio.features  # noqa: F401  (a baseline's MFCC)
        import toolkit.baselines.audio  # noqa: F401  (ClipStatistics)
        import toolkit.losses  # noqa: F401  (a compiled checkpoint's loss)
        import toolkit.models.pooling  # noqa: F401  (AttentionPooling)

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_duration))

    def get_config(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "clip_duration": self.clip_duration,
            "labels": self.labels,
            "pooling": self.pooling,
            "head_dropout_rate": self.head_dropout_rate,
            "label_smoothing": self.label_smoothing,
            "class_weights": self.class_weights,
            "background_share": self.background_share,
        }

    # Data ----------------------------------------------------------------------------

    def read_folder(self, folder: Path) -> pd.DataFrame:
        from toolkit.data.preparers.folder import read_class_folders

        return read_class_folders(folder)

    def check_splits(
        self, splits: dict[str, pd.DataFrame], *, on_error: str, skipped: list[dict]
    ) -> dict[str, pd.DataFrame]:
        """Check audio files and labels; fix the label list from training when not given."""
        from toolkit.data.audio_check import check_audio_rows

        checked = {
            name: check_audio_rows(frame, name, on_error, skipped) for name, frame in splits.items()
        }
        for name, frame in checked.items():
            empty = frame["label"].astype(str).str.strip() == ""
            if empty.any():
                row = frame[empty].iloc[0]
                raise DataError(f"{name} {row.source}: empty label")
            if frame.empty:
                raise DataError(f"{name}: no usable rows left")
        if self.labels is None:
            self.labels = sorted(checked["train"]["label"].astype(str).unique().tolist())
        classification.check_known_labels(checked, self.labels, lambda label: (label,))
        return checked

    def extend_training_data(
        self, splits: dict[str, pd.DataFrame], *, data: DataConfig, run_dir: Path
    ) -> dict[str, pd.DataFrame]:
        """Mix `data.synthetic_clips_per_label` espeak-ng renderings of each label word into
        training, when asked and espeak-ng is installed; add background clips when
        `background_share` asks for them."""
        if data.synthetic_clips_per_label:
            from toolkit.data.synthetic_speech import add_synthetic_speech

            train = add_synthetic_speech(
                splits["train"],
                self.labels,
                self.sample_rate,
                data.synthetic_clips_per_label,
                data.seed,
            )
            splits = {**splits, "train": train}
        if self.background_share:
            from toolkit.data.background_clips import BACKGROUND_LABEL, add_background

            splits = add_background(
                splits,
                self.background_share,
                run_dir,
                self.sample_rate,
                self.clip_samples,
                data.seed,
            )
            if BACKGROUND_LABEL not in self.labels:
                self.labels.append(BACKGROUND_LABEL)
        return splits

    def summary(self, splits: dict[str, pd.DataFrame], *, min_examples: int) -> list[str]:
        """Lines describing what was found: classes, counts, sample rates, durations."""
        lines = []
        train = splits["train"]
        counts = train["label"].value_counts()
        lines.append(
            f"{len(self.labels)} classes; examples per split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in splits.items())
        )
        lines.append(
            "train counts: " + ", ".join(f"{label} {counts.get(label, 0)}" for label in self.labels)
        )
        for name, frame in splits.items():
            if "duration" in frame:
                rates = ", ".join(
                    f"{int(rate)} Hz x{count}"
                    for rate, count in frame["file_rate"].value_counts().items()
                )
                lines.append(
                    f"{name} audio: {rates}; duration {frame['duration'].min():.2f}-{frame['duration'].max():.2f} s "
                    f"(median {frame['duration'].median():.2f} s); clips are padded or cropped to {self.clip_duration} s"
                )
        few = [label for label in self.labels if counts.get(label, 0) < min_examples]
        if few:
            lines.append(
                f"WARNING: classes with fewer than {min_examples} training clips: {', '.join(few)} "
                "(add recordings; accuracy on these classes will be unreliable)"
            )
        return lines

    def label_ids(self, frame: pd.DataFrame) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return frame["label"].map(index).to_numpy(dtype=np.int32)

    def class_weight(self, train: pd.DataFrame) -> dict[int, float] | None:
        """Balanced class weights (n / (k * count)) so rare classes are not ignored."""
        if self.class_weights == "none":
            return None
        return classification.balanced_class_weight(self.label_ids(train), len(self.labels))

    def dataset(
        self,
        frame: pd.DataFrame,
        *,
        batch_size: int,
        training: bool,
        augment: AudioAugmentConfig | None = None,
        resources: np.ndarray | None = None,
        cache: bool = True,
        seed: int = 0,
    ):
        from toolkit.data.audio_pipeline import classification_dataset

        return classification_dataset(
            frame["audio"].tolist(),
            self.label_ids(frame),
            self.sample_rate,
            self.clip_samples,
            batch_size,
            training,
            augment,
            resources,
            cache,
            seed,
        )

    # Model ---------------------------------------------------------------------------

    def build_model(self, *, features: Any, backbone: Any, augment: AudioAugmentConfig):
        """waveform -> features -> (warp, SpecAugment) -> backbone -> pooling -> softmax."""
        import keras

        from toolkit.audio.augment import augment_features
        from toolkit.models.pooling import AttentionPooling

        waveform = keras.Input(shape=(self.clip_samples,), name="waveform")
        hidden = features(waveform)
        hidden = augment_features(hidden, augment, features)
        sequence = backbone(hidden)
        if len(sequence.shape) == 4:  # [batch, time, frequency, channels]
            sequence = keras.layers.Reshape((-1, sequence.shape[-1]))(sequence)
        pooled = {
            "mean": lambda: keras.layers.GlobalAveragePooling1D(name="mean_pool")(sequence),
            "max": lambda: keras.layers.GlobalMaxPooling1D(name="max_pool")(sequence),
            "mean_max": lambda: keras.layers.Concatenate(name="mean_max_pool")(
                [
                    keras.layers.GlobalAveragePooling1D()(sequence),
                    keras.layers.GlobalMaxPooling1D()(sequence),
                ]
            ),
            "attention": lambda: AttentionPooling(name="attention_pool")(sequence),
        }[self.pooling]()
        pooled = keras.layers.Dropout(self.head_dropout_rate, name="head_dropout")(pooled)
        probabilities = keras.layers.Dense(
            len(self.labels), activation="softmax", dtype="float32", name="probabilities"
        )(pooled)
        return keras.Model(waveform, probabilities, name="audio_classifier")

    def fit_baseline(self, *, splits: dict[str, pd.DataFrame], batch_size: int) -> Any:
        from toolkit.baselines.audio import fit_audio_baseline

        def clips(frame: pd.DataFrame):
            return self.dataset(frame, batch_size=batch_size, training=False, cache=False)

        return fit_audio_baseline(
            sample_rate=self.sample_rate,
            clip_samples=self.clip_samples,
            train=clips(splits["train"]),
            valid=clips(splits["valid"]),
            train_ids=self.label_ids(splits["train"]),
            valid_ids=self.label_ids(splits["valid"]),
            classes=len(self.labels),
        )

    def loss(self, *, model: Any):
        return single_label_loss(self.label_smoothing, len(self.labels))

    def metrics(self) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # Fine-tuning ---------------------------------------------------------------------

    def output_names(self) -> list[str]:
        return list(self.labels)

    def output_names_in(self, *, source: Task) -> list[str]:
        """A label the source lacks is matched by its spoken word ("3" as "three"), so a
        model pretrained on words keeps its rows for the digits of a digit dataset."""
        from toolkit.audio.tts import spoken_form

        known = set(source.output_names())
        return [
            label if label in known or spoken_form(label) not in known else spoken_form(label)
            for label in self.labels
        ]

    def adopt_source_outputs(self, *, source: Task) -> bool:
        """The same label set (in any order) keeps the source's order, so its head continues."""
        return classification.adopt_labels(self, source.get_config()["labels"])

    # Evaluation ----------------------------------------------------------------------

    def evaluate(
        self, *, model: Any, frame: pd.DataFrame, split: str, output_dir: Path, batch_size: int
    ) -> dict[str, Any]:
        """Metrics for one split, its confusion matrix PNG and the misclassified clips."""
        from toolkit.evaluation import classification_metrics
        from toolkit.progress import keras_progress

        probabilities = model.predict(
            self.dataset(frame, batch_size=batch_size, training=False, cache=False),
            verbose=0,
            callbacks=[keras_progress(f"evaluating {split}", -(-len(frame) // batch_size))],
        )
        true_ids = self.label_ids(frame)
        metrics = classification_metrics(true_ids, probabilities, self.labels)
        classification.write_single_label_report(
            metrics=metrics,
            probabilities=probabilities,
            true_ids=true_ids,
            frame=frame,
            labels=self.labels,
            split=split,
            output_dir=output_dir,
            columns=("source", "audio"),
            most_confident_first=False,
        )
        return metrics

    def predict(
        self, *, model: Any, inputs: list[Any], names: list[str], top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """Top-k labels and scores for waveforms at the task's rate, padded or cropped as in
        training."""
        from toolkit.audio.io import pad_or_crop
        from toolkit.evaluation import top_k_table

        clips = np.stack([pad_or_crop(waveform, self.clip_samples) for waveform in inputs])
        probabilities = model.predict(clips, batch_size=batch_size, verbose=0)
        return top_k_table(names, probabilities, self.labels, top_k)

    # Export --------------------------------------------------------------------------

    def litert_function(self, *, model: Any) -> tuple[Any, list]:
        """One clip of float32 samples at the task's rate in, class probabilities out; the
        feature layer runs inside (its FFT length is a power of two, as LiteRT's RFFT2D
        needs)."""
        import tensorflow as tf

        def classify(waveform):
            return {"probabilities": model(waveform, training=False)}

        return classify, [tf.TensorSpec([1, self.clip_samples], tf.float32, name="waveform")]

    def litert_metadata(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "labels": list(self.labels),
            "sample_rate": self.sample_rate,
            "clip_samples": self.clip_samples,
            "input": f"waveform: float32 [1, {self.clip_samples}] (mono, padded or cropped to the clip)",
            "output": f"probabilities: float32 [1, {len(self.labels)}] in the order of labels",
        }

    def export_inputs(self, frame: pd.DataFrame, *, count: int) -> np.ndarray:
        from toolkit.audio.io import pad_or_crop, read_audio

        paths = list(frame["audio"])[:count]
        return np.stack(
            [pad_or_crop(read_audio(path, self.sample_rate), self.clip_samples) for path in paths]
        ).astype(np.float32)

    def synthetic_export_inputs(self, *, count: int) -> np.ndarray:
        rng = np.random.default_rng(0)
        time = np.arange(self.clip_samples) / self.sample_rate
        clips = []
        for index in range(count):
            tone = np.sin(2 * np.pi * rng.uniform(100, 0.4 * self.sample_rate) * time)
            noise = rng.normal(size=self.clip_samples)
            level = 10 ** rng.uniform(-3, -0.5)
            clips.append(level * (tone if index % 2 else noise))
        return np.stack(clips).astype(np.float32)

    def export_endpoints(self, *, model: Any, export: ExportConfig) -> dict[str, tuple[Any, list]]:
        """SavedModel signatures: float32 waveforms, WAV bytes decoded in the graph, and
        keyword detection in a whole recording (`detect`) or a stream of chunks (`stream`)."""
        import tensorflow as tf

        from toolkit.audio import signal
        from toolkit.detection import DetectionSettings, KeywordDetector

        clip_samples, sample_rate = self.clip_samples, self.sample_rate
        settings = DetectionSettings(
            export.detect_hop_ms, export.detect_smoothing_ms, export.detect_threshold
        )
        detector = KeywordDetector(
            lambda windows: model(windows, training=False),
            self.labels,
            sample_rate,
            clip_samples,
            settings,
        )

        def classify(waveforms):
            probabilities = model(signal.pad_or_crop(waveforms, clip_samples), training=False)
            return classification.classification_outputs(probabilities, self.labels, export.top_k)

        def from_waveforms(waveforms):
            return classify(waveforms)

        def from_wav_bytes(wav_bytes):
            def decode(item):
                audio, rate = signal.decode_wav(*item)
                mono = signal.mix_down(audio)
                mono = signal.resample(mono, rate, sample_rate)
                return signal.pad_or_crop(mono, clip_samples)

            waveforms = tf.map_fn(
                decode,
                (wav_bytes, tf.range(tf.size(wav_bytes))),
                fn_output_signature=tf.TensorSpec([clip_samples], tf.float32),
            )
            return classify(waveforms)

        def stream(chunk, sample_rate, state, position):
            check = tf.debugging.assert_equal(
                sample_rate,
                self.sample_rate,
                message=f"stream: chunks must be {self.sample_rate} Hz mono float32 samples",
            )
            with tf.control_dependencies([check]):
                return detector.process(tf.identity(chunk), state, position)

        def metadata():
            return {
                "labels": tf.constant(self.labels),
                "task": tf.constant(self.name),
                "sample_rate": tf.constant(sample_rate),
                "clip_samples": tf.constant(clip_samples),
                "detect_hop_ms": tf.constant(settings.hop_ms),
                "detect_smoothing_ms": tf.constant(settings.smoothing_ms),
                "detect_threshold": tf.constant(settings.threshold),
                "stream_state_size": tf.constant(detector.state_size),
                "stream_flush_samples": tf.constant(detector.flush_samples()),
            }

        return {
            "serving_default": (
                from_waveforms,
                [tf.TensorSpec([None, None], tf.float32, name="waveforms")],
            ),
            "wav_bytes": (from_wav_bytes, [tf.TensorSpec([None], tf.string, name="wav_bytes")]),
            "detect": (detector.detect, [tf.TensorSpec([None], tf.float32, name="waveform")]),
            "stream": (
                stream,
                [
                    tf.TensorSpec([None], tf.float32, name="chunk"),
                    tf.TensorSpec([], tf.int32, name="sample_rate"),
                    tf.TensorSpec([detector.state_size], tf.float32, name="state"),
                    tf.TensorSpec([], tf.int64, name="position"),
                ],
            ),
            "metadata": (metadata, []),
        }
