"""What the two classification tasks (audio and text) share: the label list, balanced class
weights, the unseen-label check, the report (confusion plot, errors file) and the export head."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit import atomic
from toolkit.errors import DataError


def adopt_labels(task: Any, source_labels: list[str]) -> bool:
    """Give `task` the source's label order when its labels are the same set; whether they were."""
    if set(task.labels) != set(source_labels):
        return False
    task.labels = list(source_labels)
    return True


def balanced_class_weight(label_ids: np.ndarray, classes: int) -> dict[int, float]:
    """n / (k * count) for each class, so rare classes are not ignored."""
    counts = np.bincount(label_ids, minlength=classes).astype(float)
    weights = len(label_ids) / (classes * np.maximum(counts, 1.0))
    return {i: float(w) for i, w in enumerate(weights)}


def check_known_labels(
    splits: dict[str, pd.DataFrame],
    labels: list[str],
    row_labels: Callable[[Any], Iterable[str]],
) -> None:
    """Refuse a row whose label training never saw, naming the split, row and label."""
    known = set(labels)
    for name, frame in splits.items():
        for row in frame.itertuples():
            unseen = [label for label in row_labels(row.label) if label not in known]
            if unseen:
                raise DataError(
                    f"{name} {row.source}: label {unseen[0]!r} never seen in training "
                    f"(training labels: {', '.join(labels)})"
                )


def write_single_label_report(
    *,
    metrics: dict[str, Any],
    probabilities: np.ndarray,
    true_ids: np.ndarray,
    frame: pd.DataFrame,
    labels: list[str],
    split: str,
    output_dir: Path,
    columns: tuple[str, ...],
    most_confident_first: bool,
) -> None:
    """plots/confusion_<split>.png and errors_<split>.csv (the misclassified rows with
    `columns` of the frame, their label, the prediction and its score)."""
    from toolkit.evaluation import plot_confusion_matrix

    plots = Path(output_dir) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        labels,
        plots / f"confusion_{split}.png",
        f"{split}: accuracy {metrics['accuracy']:.2%}",
    )
    predicted = probabilities.argmax(axis=-1)
    wrong = np.flatnonzero(predicted != true_ids)
    if most_confident_first:
        # The most confident mistakes first: those are the ones worth reading.
        wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])]
    pd.DataFrame(
        {
            **{column: frame[column].to_numpy()[wrong] for column in columns},
            "label": frame["label"].to_numpy()[wrong],
            "predicted": [labels[i] for i in predicted[wrong]],
            "score": probabilities[wrong, predicted[wrong]],
        }
    ).pipe(atomic.write_csv, Path(output_dir) / f"errors_{split}.csv")


def classification_outputs(probabilities, labels: list[str], top_k: int) -> dict[str, Any]:
    """The export head: the top label and its score, every probability and the top k."""
    import tensorflow as tf

    names = tf.constant(labels)
    scores, indices = tf.math.top_k(probabilities, k=min(top_k, len(labels)))
    return {
        "label": tf.gather(names, indices[:, 0]),
        "score": scores[:, 0],
        "probabilities": probabilities,
        "top_k_labels": tf.gather(names, indices),
        "top_k_scores": scores,
    }
