"""Logistic regression with its regularisation chosen on the validation split, as Keras weights.

The fitted coefficients become the kernel and bias of a Dense layer: softmax over classes
(multinomial; two classes as the logit difference against a zero column), or a sigmoid per
label for multi-label targets (one binary model per label).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger("toolkit")

# Inverse regularisation strengths tried, each scored on validation.
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
# A label every training row has (or none has) gets this logit: a sigmoid of about 1 (or 0).
CONSTANT_LOGIT = 20.0


@dataclass
class LinearWeights:
    """A Dense layer's kernel `[features, outputs]` and bias `[outputs]`, with the C chosen
    and the validation score it gave."""

    kernel: np.ndarray
    bias: np.ndarray
    C: float
    valid_score: float


def fit_logistic_regression(
    train_x: Any,
    train_y: np.ndarray,
    valid_x: Any,
    valid_y: np.ndarray,
    *,
    classes: int,
    multi_label: bool = False,
) -> LinearWeights:
    """Fit with each C of `C_GRID` on train and keep the best on validation (accuracy, or
    micro F1 for multi-label); `train_x` may be a scipy sparse matrix. Targets are class ids,
    or a `[rows, classes]` 0/1 matrix for multi-label."""
    best: LinearWeights | None = None
    for C in C_GRID:
        kernel, bias = (fit_multi_label if multi_label else fit_single_label)(
            train_x, train_y, C=C, classes=classes
        )
        logits = np.asarray(valid_x @ kernel) + bias
        score = (
            micro_f1(valid_y.astype(bool), logits > 0)
            if multi_label
            else float(np.mean(logits.argmax(axis=1) == valid_y))
            if len(valid_y)
            else 0.0
        )
        log.debug("baseline: C %g, validation %.4f", C, score)
        if best is None or score > best.valid_score:
            best = LinearWeights(kernel, bias, C, score)
    assert best is not None
    return best


def fit_single_label(train_x: Any, train_y: np.ndarray, *, C: float, classes: int):
    from sklearn.linear_model import LogisticRegression

    kernel = np.zeros((train_x.shape[1], classes), dtype=np.float32)
    bias = np.full(classes, -CONSTANT_LOGIT, dtype=np.float32)
    seen = np.unique(train_y).astype(int)
    if len(seen) == 1:
        # One class in training: it is always the answer.
        bias[seen[0]] = 0.0
        return kernel, bias
    model = LogisticRegression(C=C, max_iter=2000).fit(train_x, train_y)
    if len(seen) == 2:
        # A binary model has one coefficient row: the logit of the second class over the first.
        kernel[:, seen[1]] = model.coef_[0]
        bias[seen[0]], bias[seen[1]] = 0.0, model.intercept_[0]
    else:
        kernel[:, seen] = model.coef_.T
        bias[seen] = model.intercept_
    return kernel, bias


def fit_multi_label(train_x: Any, train_y: np.ndarray, *, C: float, classes: int):
    from sklearn.linear_model import LogisticRegression

    kernel = np.zeros((train_x.shape[1], classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    for label in range(classes):
        column = train_y[:, label].astype(int)
        if column.min() == column.max():
            bias[label] = CONSTANT_LOGIT if column[0] else -CONSTANT_LOGIT
            continue
        model = LogisticRegression(C=C, max_iter=2000).fit(train_x, column)
        kernel[:, label] = model.coef_[0]
        bias[label] = model.intercept_[0]
    return kernel, bias


def micro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    hits = float(np.sum(truth & predicted))
    total = float(np.sum(truth) + np.sum(predicted))
    return 2 * hits / total if total else 0.0
