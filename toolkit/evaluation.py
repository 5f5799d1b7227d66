"""Metrics, plots and the metrics.json file shared by every task."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(
    true_ids: np.ndarray, probabilities: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision/recall/F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    predicted = probabilities.argmax(axis=-1)
    label_ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_ids, predicted, labels=label_ids, zero_division=0
    )
    return {
        "accuracy": float(np.mean(predicted == true_ids)) if len(true_ids) else 0.0,
        "macro_f1": float(
            f1_score(true_ids, predicted, labels=label_ids, average="macro", zero_division=0)
        ),
        "errors": int(np.sum(predicted != true_ids)),
        "examples": int(len(true_ids)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(true_ids, predicted, labels=label_ids).tolist(),
    }


def plot_confusion_matrix(
    matrix: list[list[int]], labels: list[str], path: Path, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    size = max(4.0, 0.45 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 12 else 0)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(labels) <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for row in range(matrix.shape[0]):
            for column in range(matrix.shape[1]):
                color = "white" if matrix[row, column] > threshold else "black"
                axes.text(
                    column,
                    row,
                    str(matrix[row, column]),
                    ha="center",
                    va="center",
                    color=color,
                    fontsize=8,
                )
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_learning_curves(history_csv: Path, path: Path) -> bool:
    """Loss and every metric against epochs, training beside validation."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not Path(history_csv).is_file():
        return False
    history = pd.read_csv(history_csv)
    if history.empty:
        return False
    names = [
        c
        for c in history.columns
        if c not in ("epoch", "learning_rate") and not c.startswith("val_")
    ]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    epochs = history["epoch"] + 1 if "epoch" in history else np.arange(1, len(history) + 1)
    for axis, name in zip(axes[0], names, strict=True):
        axis.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="valid")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_json_atomically(path: Path, content: Any) -> None:
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(content, stream, indent=2)
    os.replace(temporary, path)


def update_metrics(run_dir: Path, split: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """Merge one split's metrics into RUN_DIR/metrics.json (other splits are kept)."""
    path = Path(run_dir) / "metrics.json"
    content = json.loads(path.read_text()) if path.is_file() else {}
    content[split] = metrics
    write_json_atomically(path, content)
    return content


def write_csv_atomically(table, path: Path) -> None:
    """Write a DataFrame so that a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    table.to_csv(temporary, index=False)
    os.replace(temporary, path)
