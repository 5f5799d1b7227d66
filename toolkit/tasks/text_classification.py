"""Text classification: a string in, one label (softmax) or a set of labels (sigmoid) out.

The tokenizer is a layer inside the model, so the exported SavedModel takes raw text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit import atomic
from toolkit.config import ExportConfig, NoAugmentConfig
from toolkit.data import text_check
from toolkit.tasks import classification
from toolkit.tasks.base import Task, single_label_loss

log = logging.getLogger("toolkit")


class TextClassification(Task):
    """Head, loss, metrics, evaluation and export signatures for text classification."""

    name = "text_classification"
    input_kind = "text"
    augment_config = NoAugmentConfig
    required_columns = ("text", "label")
    output_setting = "labels"
    source_settings = ("multi_label",)
    output_layers = {"probabilities": "last"}
    baseline_description = "TF-IDF word 1-2-grams + logistic regression"
    averages_members = True

    def __init__(
        self,
        labels: list[str] | None = None,
        multi_label: bool = False,
        label_delimiter: str = "|",
        threshold: float = 0.5,
        head_dropout_rate: float = 0.2,
        label_smoothing: float = 0.0,
        class_weights: Literal["auto", "none"] = "auto",
    ):
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        if not label_delimiter:
            raise ValueError("label_delimiter must not be empty")
        self.labels = list(labels) if labels else None
        self.multi_label = multi_label
        self.label_delimiter = label_delimiter
        self.threshold = threshold
        self.head_dropout_rate = head_dropout_rate
        self.label_smoothing = label_smoothing
        self.class_weights = class_weights

    @property
    def default_monitor(self) -> str:
        return "val_f1" if self.multi_label else "val_accuracy"

    @property
    def selection_metric(self) -> str:
        return "f1" if self.multi_label else "accuracy"

    @property
    def stratify_column(self) -> str | None:
        return None if self.multi_label else "label"

    def get_config(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "multi_label": self.multi_label,
            "label_delimiter": self.label_delimiter,
            "threshold": self.threshold,
            "head_dropout_rate": self.head_dropout_rate,
            "label_smoothing": self.label_smoothing,
            "class_weights": self.class_weights,
        }

    # Data ----------------------------------------------------------------------------

    def label_sets(self, frame: pd.DataFrame) -> list[list[str]]:
        """Each row's labels: a JSON list, or a string split on the delimiter."""
        return [text_check.split_labels(value, self.label_delimiter) for value in frame["label"]]

    def check_splits(
        self, splits: dict[str, pd.DataFrame], *, on_error: str, skipped: list[dict]
    ) -> dict[str, pd.DataFrame]:
        """Drop or refuse empty texts and labels; fix the label list from training."""
        checked = {}
        for name, frame in splits.items():
            frame = text_check.check_text_rows(frame, name, on_error, skipped)
            if self.multi_label:
                frame = frame.assign(label=[tuple(labels) for labels in self.label_sets(frame)])
            else:
                frame = frame.assign(label=frame["label"].astype(str).str.strip())
            checked[name] = text_check.check_labels_present(frame, name, on_error, skipped)
        if self.labels is None:
            found = (
                {label for labels in checked["train"]["label"] for label in labels}
                if self.multi_label
                else set(checked["train"]["label"])
            )
            self.labels = sorted(found)
        classification.check_known_labels(
            checked, self.labels, lambda label: label if self.multi_label else (label,)
        )
        return checked

    def summary(self, splits: dict[str, pd.DataFrame], *, min_examples: int) -> list[str]:
        """Rows per split, labels with counts, text lengths, and a warning for rare labels."""
        train = splits["train"]
        counts = self.label_counts(train)
        lines = [
            f"{len(self.labels)} labels{' (multi-label)' if self.multi_label else ''}; rows per split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in splits.items()),
            "train counts: "
            + ", ".join(f"{label} {counts.get(label, 0)}" for label in self.labels),
        ]
        for name, frame in splits.items():
            words = frame["text"].str.split().str.len()
            lines.append(
                f"{name} text length in words: {words.min()}-{words.max()} (median {int(words.median())})"
            )
        few = [label for label in self.labels if counts.get(label, 0) < min_examples]
        if few:
            lines.append(
                f"WARNING: labels with fewer than {min_examples} training rows: {', '.join(few)} "
                "(add examples; results on these labels will be unreliable)"
            )
        if counts and max(counts.values()) > 3 * max(min(counts.values()), 1):
            lines.append(
                "labels are imbalanced: "
                + (
                    "class weights are applied"
                    if self.class_weights == "auto" and not self.multi_label
                    else "no class weights"
                )
            )
        return lines

    def label_counts(self, frame: pd.DataFrame) -> dict[str, int]:
        if self.multi_label:
            return (
                pd.Series([label for labels in frame["label"] for label in labels])
                .value_counts()
                .to_dict()
            )
        return frame["label"].value_counts().to_dict()

    def targets(self, frame: pd.DataFrame) -> np.ndarray:
        """Label ids (single-label) or a multi-hot matrix (multi-label)."""
        index = {label: i for i, label in enumerate(self.labels)}
        if not self.multi_label:
            return frame["label"].map(index).to_numpy(dtype=np.int32)
        hot = np.zeros((len(frame), len(self.labels)), dtype=np.float32)
        for row, labels in enumerate(frame["label"]):
            hot[row, [index[label] for label in labels]] = 1.0
        return hot

    def class_weight(self, train: pd.DataFrame) -> dict[int, float] | None:
        """Balanced weights (n / (k * count)); Keras takes them for single-label targets only."""
        if self.class_weights == "none" or self.multi_label:
            return None
        return classification.balanced_class_weight(self.targets(train), len(self.labels))

    def adapt(self, *, features: Any, train: pd.DataFrame) -> None:
        """Build the vocabulary from the training text; say how many texts get cut."""
        tokenizer = features
        texts = train["text"].to_numpy()
        tokenizer.adapt(texts)
        log.info(
            "tokenizer: %d of at most %d entries in the vocabulary",
            tokenizer.vocabulary_size(),
            tokenizer.max_tokens,
        )
        text_check.report_truncation(tokenizer, texts)

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
    ):
        from toolkit.data.text_pipeline import text_dataset

        return text_dataset(
            frame["text"].to_numpy(), self.targets(frame), batch_size, training, seed
        )

    # Model ---------------------------------------------------------------------------

    def build_model(self, *, features: Any, backbone: Any, augment: Any):
        """text -> tokenizer -> backbone -> (dropout) -> softmax or sigmoid."""
        import keras

        tokenizer = features
        text_check.check_tokenizer_fits(tokenizer, backbone)
        text = keras.Input(shape=(), dtype="string", name="text")
        hidden = backbone(tokenizer(text))
        if tokenizer.output_mode == "sequence" or backbone.embedding_dim is not None:
            hidden = keras.layers.Dropout(self.head_dropout_rate, name="head_dropout")(hidden)
        probabilities = keras.layers.Dense(
            len(self.labels),
            activation="sigmoid" if self.multi_label else "softmax",
            dtype="float32",
            name="probabilities",
        )(hidden)
        return keras.Model(text, probabilities, name="text_classifier")

    def fit_baseline(self, *, splits: dict[str, pd.DataFrame], batch_size: int) -> Any:
        from toolkit.baselines.text import fit_text_baseline

        return fit_text_baseline(
            train=splits["train"],
            valid=splits["valid"],
            train_targets=self.targets(splits["train"]),
            valid_targets=self.targets(splits["valid"]),
            classes=len(self.labels),
            multi_label=self.multi_label,
        )

    def register_layers(self) -> None:
        import toolkit.baselines.text  # noqa: F401
        import toolkit.losses  # noqa: F401
        import toolkit.text.subwords  # noqa: F401
        import toolkit.text.tokenizers  # noqa: F401

    def loss(self, *, model: Any):
        import keras

        if self.multi_label:
            return keras.losses.BinaryCrossentropy(label_smoothing=self.label_smoothing)
        return single_label_loss(self.label_smoothing, len(self.labels))

    def metrics(self) -> list:
        import keras

        if self.multi_label:
            return [keras.metrics.F1Score(average="micro", threshold=self.threshold, name="f1")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # Fine-tuning ---------------------------------------------------------------------

    def output_names(self) -> list[str]:
        return list(self.labels)

    def adopt_source_outputs(self, *, source: Task) -> bool:
        """The same label set (in any order) keeps the source's order, so its head continues."""
        return classification.adopt_labels(self, source.get_config()["labels"])

    def report_unknown_tokens(self, *, features: Any, train: pd.DataFrame) -> float | None:
        unknown, total = features.count_unknown(train["text"].to_numpy())
        return text_check.report_unknown(unknown, total, "tokens")

    def extend_vocabulary(
        self, *, features: Any, train: pd.DataFrame
    ) -> dict[str, tuple[int, int]]:
        return {"tokens": features.extend_vocabulary(train["text"].to_numpy())}

    # Evaluation ----------------------------------------------------------------------

    def probabilities(self, model, texts, batch_size: int = 64) -> np.ndarray:
        from toolkit.data.text_pipeline import text_dataset
        from toolkit.progress import keras_progress

        return model.predict(
            text_dataset(np.asarray(texts), None, batch_size, False),
            verbose=0,
            callbacks=[keras_progress("predicting", -(-len(texts) // batch_size))],
        )

    def evaluate(
        self, *, model: Any, frame: pd.DataFrame, split: str, output_dir: Path, batch_size: int
    ) -> dict[str, Any]:
        """Metrics for one split, a confusion matrix PNG and the worst errors as CSV."""
        from toolkit.evaluation import classification_metrics, multi_label_metrics

        probabilities = self.probabilities(model, frame["text"].to_numpy(), batch_size)
        targets = self.targets(frame)
        if self.multi_label:
            predicted = probabilities >= self.threshold
            metrics = multi_label_metrics(targets.astype(bool), predicted, self.labels)
            wrong = np.flatnonzero((predicted != targets.astype(bool)).any(axis=1))
            order = wrong[np.argsort(-np.abs(probabilities[wrong] - targets[wrong]).max(axis=1))]
            errors = pd.DataFrame(
                {
                    "source": frame["source"].to_numpy()[order],
                    "text": frame["text"].to_numpy()[order],
                    "label": [
                        self.label_delimiter.join(labels)
                        for labels in frame["label"].to_numpy()[order]
                    ],
                    "predicted": [
                        self.label_delimiter.join(np.asarray(self.labels)[row])
                        for row in predicted[order]
                    ],
                }
            )
            errors.pipe(atomic.write_csv, Path(output_dir) / f"errors_{split}.csv")
            return metrics
        metrics = classification_metrics(targets, probabilities, self.labels)
        classification.write_single_label_report(
            metrics=metrics,
            probabilities=probabilities,
            true_ids=targets,
            frame=frame,
            labels=self.labels,
            split=split,
            output_dir=output_dir,
            columns=("source", "text"),
            most_confident_first=True,
        )
        return metrics

    def predict(
        self, *, model: Any, inputs: list[Any], names: list[str], top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """Top-k labels and scores for each text."""
        from toolkit.evaluation import top_k_table

        return top_k_table(
            names, self.probabilities(model, inputs, batch_size), self.labels, top_k, "text"
        )

    # Export --------------------------------------------------------------------------

    def export_endpoints(self, *, model: Any, export: ExportConfig) -> dict[str, tuple[Any, list]]:
        """SavedModel signatures: raw text in; labels, scores and probabilities out."""
        import tensorflow as tf

        threshold, multi_label = self.threshold, self.multi_label

        def classify(texts):
            probabilities = model(texts, training=False)
            outputs = classification.classification_outputs(
                probabilities, self.labels, export.top_k
            )
            if multi_label:
                outputs["predicted"] = probabilities >= threshold
            return outputs

        from toolkit.text.subwords import SubwordTokenizer
        from toolkit.text.tokenizers import Tokenizer

        # A loader must import these packages first: they register the ops the graph uses.
        tokenizers = [
            layer for layer in model.layers if isinstance(layer, (Tokenizer, SubwordTokenizer))
        ]
        needs = sorted({package for layer in tokenizers for package in layer.serving_requires})

        def metadata():
            return {
                "labels": tf.constant(self.labels),
                "task": tf.constant(self.name),
                "requires": tf.constant(needs, dtype=tf.string, shape=[len(needs)]),
            }

        return {
            "serving_default": (classify, [tf.TensorSpec([None], tf.string, name="text")]),
            "metadata": (metadata, []),
        }
