"""Metrics, plots and the metrics.json file shared by every task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toolkit import atomic


def classification_metrics(
    true_ids: np.ndarray, probabilities: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision/recall/F1 and the confusion matrix. Macro F1
    averages the classes that the truth or the predictions hold: a class absent from both
    (a test split without `_background_` clips) has no F1 to count as zero."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    predicted = probabilities.argmax(axis=-1)
    label_ids = list(range(len(labels)))
    present = sorted(set(np.asarray(true_ids).tolist()) | set(predicted.tolist())) or label_ids
    precision, recall, f1, support = precision_recall_fscore_support(
        true_ids, predicted, labels=label_ids, zero_division=0
    )
    return {
        "accuracy": float(np.mean(predicted == true_ids)) if len(true_ids) else 0.0,
        "macro_f1": float(
            f1_score(true_ids, predicted, labels=present, average="macro", zero_division=0)
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


def multi_label_metrics(
    truth: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Micro/macro F1, exact-match accuracy and per-label precision/recall/F1 (boolean matrices)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, zero_division=0
    )
    return {
        "f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "exact_match": float(np.mean((truth == predicted).all(axis=1))) if len(truth) else 0.0,
        "examples": int(len(truth)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
    }


def tagging_metrics(
    truth: list[list[str]], predicted: list[list[str]], scheme: str
) -> dict[str, Any]:
    """Span precision/recall/F1 overall and per entity type (seqeval, CoNLL evaluation), and
    token accuracy; tags without a scheme (POS) are scored by token accuracy alone, as `f1`."""
    flat_truth = [tag for tags in truth for tag in tags]
    flat_predicted = [tag for tags in predicted for tag in tags]
    accuracy = (
        float(np.mean(np.array(flat_truth) == np.array(flat_predicted))) if flat_truth else 0.0
    )
    result: dict[str, Any] = {
        "token_accuracy": accuracy,
        "sentences": len(truth),
        "tokens": len(flat_truth),
    }
    if scheme == "none":
        return {"f1": accuracy, **result}
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOBES

    # BIOES is scored strictly; IOB1/IOB2 the way the CoNLL script does.
    options = {"mode": "strict", "scheme": IOBES} if scheme == "bioes" else {}
    report = classification_report(truth, predicted, output_dict=True, zero_division=0, **options)
    per_type = {
        name: {
            "precision": float(v["precision"]),
            "recall": float(v["recall"]),
            "f1": float(v["f1-score"]),
            "support": int(v["support"]),
        }
        for name, v in report.items()
        if not name.endswith(" avg")
    }
    return {
        "f1": float(f1_score(truth, predicted, zero_division=0, **options)),
        "precision": float(precision_score(truth, predicted, zero_division=0, **options)),
        "recall": float(recall_score(truth, predicted, zero_division=0, **options)),
        **result,
        "per_type": per_type,
    }


def top_k_table(
    keys: list[str],
    probabilities: np.ndarray,
    labels: list[str],
    top_k: int,
    key_column: str = "path",
):
    """One row per input: its key (path or text), the best label and score, then the next k-1."""
    import pandas as pd

    k = min(top_k, len(labels))
    order = np.argsort(-probabilities, axis=-1)[:, :k]
    rows = np.arange(len(keys))
    table = {
        key_column: keys,
        "label": [labels[row[0]] for row in order],
        "score": probabilities[rows, order[:, 0]],
    }
    for rank in range(1, k):
        table[f"label_{rank + 1}"] = [labels[row[rank]] for row in order]
        table[f"score_{rank + 1}"] = probabilities[rows, order[:, rank]]
    return pd.DataFrame(table)


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
    atomic.save_figure(figure, path, dpi=110)
    plt.close(figure)


def plot_learning_curves(
    history_csv: Path, path: Path, monitor: str | None = None, select: str = "best"
) -> bool:
    """Loss and every metric against epochs, training beside validation. Given the `monitor`ed
    metric and `train.select`, a dashed line marks the epoch whose weights were kept."""
    import matplotlib
    import pandas as pd

    from toolkit.history import epoch_numbers, kept_epoch

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not Path(history_csv).is_file():
        return False
    history = pd.read_csv(history_csv)
    if history.empty:
        return False
    names = [
        c
        for c in history.columns
        if c not in ("epoch", "learning_rate", "member") and not c.startswith("val_")
    ]
    # Scores computed on validation only (WER, span F1) get a panel of their own.
    names += [c for c in history.columns if c.startswith("val_") and c[4:] not in history]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    # An ensemble's history has a `member` column: one pair of lines per member.
    runs = history.groupby("member") if "member" in history else [(None, history)]
    for member, rows in runs:
        suffix = "" if member is None else f" {member}"
        epochs = epoch_numbers(rows)
        # Points, not only lines: a run of one epoch would otherwise draw nothing.
        style = {"marker": "o", "markersize": 3 if len(rows) > 1 else 6}
        for axis, name in zip(axes[0], names, strict=True):
            kind = "valid" if name.startswith("val_") else "train"
            axis.plot(epochs, rows[name], label=kind + suffix, **style)
            if f"val_{name}" in rows:
                axis.plot(epochs, rows[f"val_{name}"], label="valid" + suffix, **style)
        kept = kept_epoch(rows, monitor, select) if monitor else None
        if kept is not None:
            for axis in axes[0]:
                axis.axvline(
                    kept.epoch,
                    color="0.4",
                    linestyle="--",
                    linewidth=1,
                    label=f"kept{suffix}: {kept.describe()}",
                )
    last = int(epoch_numbers(history).max())
    for axis, name in zip(axes[0], names, strict=True):
        axis.set_xlabel("epoch")
        axis.set_xlim(0.5, last + 0.5)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(name)
        axis.legend(fontsize="small")
    figure.tight_layout()
    atomic.save_figure(figure, path, dpi=110)
    plt.close(figure)
    return True


def write_json_atomically(path: Path, content: Any) -> None:
    atomic.write_json(path, content)


def update_metrics(run_dir: Path, split: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """Merge one split's metrics into RUN_DIR/metrics.json (other splits are kept)."""
    path = Path(run_dir) / "metrics.json"
    content = json.loads(path.read_text()) if path.is_file() else {}
    content[split] = metrics
    write_json_atomically(path, content)
    return content


def write_csv_atomically(table, path: Path) -> None:
    """Write a DataFrame so that a crash never leaves a half-written file."""
    atomic.write_csv(table, path)
