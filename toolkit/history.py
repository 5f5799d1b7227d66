"""Which epoch's weights a run kept, read from its `history.csv`.

One function serves the end-of-training log line and the learning-curve plot, so both name the
same epoch as the checkpoint that `train.select` picks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd


def monitor_mode(monitor: str) -> Literal["min", "max"]:
    """Whether lower or higher values of `monitor` are better."""
    lower = "loss" in monitor or "error" in monitor or monitor.endswith(("wer", "cer"))
    return "min" if lower else "max"


@dataclass(frozen=True)
class KeptEpoch:
    epoch: int  # counted from 1, as in the logs
    epochs: int  # epochs run
    monitor: str
    value: float | None  # the monitored metric at `epoch` (None where it was not logged)
    # "best" or "last" as asked; "last" also when no epoch had a finite monitored value, since
    # then no best checkpoint exists and the weights after the last epoch are kept.
    select: str

    def describe(self) -> str:
        value = "" if self.value is None else f" ({self.monitor} {self.value:.4f})"
        return f"epoch {self.epoch}{value}"


def epoch_numbers(history: pd.DataFrame) -> pd.Series:
    """Epochs counted from 1 (Keras' CSV log counts from 0)."""
    if "epoch" in history:
        return history["epoch"].astype(int) + 1
    return pd.Series(range(1, len(history) + 1), index=history.index)


def kept_epoch(
    history: pd.DataFrame, monitor: str, select: str = "best", mode: str | None = None
) -> KeptEpoch | None:
    """The epoch whose weights `train.select` keeps: the first with the best finite `monitor`
    (what a checkpoint saved only on strict improvement holds), or the last one run.

    `history` is one model's log (for an ensemble's merged log, pass one member's rows)."""
    if history.empty:
        return None
    numbers = epoch_numbers(history)
    values = (
        pd.to_numeric(history[monitor], errors="coerce")
        if monitor in history
        else pd.Series(math.nan, index=history.index)
    )
    finite = values[values.map(math.isfinite)]
    if select == "best" and not finite.empty:
        mode = mode or monitor_mode(monitor)
        row = finite.idxmin() if mode == "min" else finite.idxmax()
    else:
        select, row = "last", history.index[-1]
    value = values.loc[row]
    return KeptEpoch(
        epoch=int(numbers.loc[row]),
        epochs=int(numbers.iloc[-1]),
        monitor=monitor,
        value=float(value) if math.isfinite(value) else None,
        select=select,
    )


def selection_message(
    kept: KeptEpoch | None, planned_epochs: int, stopped_early: bool, patience: int | None
) -> str:
    """One line on how training ended and which weights were kept, e.g. `early stopping: no
    val_accuracy improvement for 10 epochs, stopped after epoch 23 of 50; keeping epoch 13
    (val_accuracy 0.9912)`."""
    if kept is None:
        return "no epoch completed; keeping the initial weights"
    keeping = f"keeping {'the last, ' if kept.select == 'last' else ''}{kept.describe()}"
    if stopped_early:
        return (
            f"early stopping: no {kept.monitor} improvement for {patience} "
            f"epoch{'' if patience == 1 else 's'}, stopped after "
            f"epoch {kept.epochs} of {planned_epochs}; {keeping}"
        )
    if kept.epochs < planned_epochs:
        return f"training stopped after epoch {kept.epochs} of {planned_epochs}; {keeping}"
    ran = "the one epoch" if kept.epochs == 1 else f"all {kept.epochs} epochs"
    return f"ran {ran}; {keeping}"
