"""The epoch a run keeps, derived from history.csv and the monitor/select settings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.history import kept_epoch, monitor_mode, selection_message

HISTORY = """epoch,accuracy,loss,val_accuracy,val_loss,val_wer
0,0.50,1.20,0.60,1.00,0.90
1,0.70,0.90,0.80,0.70,0.50
2,0.80,0.70,0.95,0.65,0.40
3,0.85,0.60,0.95,0.66,0.40
4,0.90,0.50,0.93,0.70,0.45
"""


def _history(tmp_path: Path, text: str = HISTORY) -> pd.DataFrame:
    path = tmp_path / "history.csv"
    path.write_text(text)
    return pd.read_csv(path)


def test_best_epoch_is_the_first_with_the_best_value(tmp_path):
    history = _history(tmp_path)
    kept = kept_epoch(history, "val_accuracy")
    # Epochs 3 and 4 tie: a checkpoint saved on strict improvement holds epoch 3.
    assert (kept.epoch, kept.epochs, kept.value, kept.select) == (3, 5, 0.95, "best")
    assert kept_epoch(history, "val_loss").epoch == 3
    assert kept_epoch(history, "val_wer").epoch == 3
    assert kept_epoch(history, "val_accuracy", mode="min").epoch == 1


def test_last_epoch_with_select_last(tmp_path):
    kept = kept_epoch(_history(tmp_path), "val_accuracy", "last")
    assert (kept.epoch, kept.value, kept.select) == (5, 0.93, "last")


def test_no_finite_monitored_value_keeps_the_last_epoch(tmp_path):
    history = _history(tmp_path, "epoch,loss,val_loss\n0,nan,nan\n1,inf,nan\n")
    kept = kept_epoch(history, "val_loss")
    assert (kept.epoch, kept.value, kept.select) == (2, None, "last")
    assert kept_epoch(history, "val_missing").epoch == 2
    assert kept_epoch(pd.DataFrame(), "val_loss") is None


def test_one_member_of_an_ensemble(tmp_path):
    history = _history(tmp_path)
    merged = pd.concat([history.assign(member=1), history.iloc[:2].assign(member=2)])
    second = merged[merged["member"] == 2]
    assert kept_epoch(second, "val_accuracy").epoch == 2


def test_modes():
    assert monitor_mode("val_loss") == "min"
    assert monitor_mode("val_wer") == "min"
    assert monitor_mode("val_accuracy") == "max"
    assert monitor_mode("val_f1") == "max"


def test_messages(tmp_path):
    kept = kept_epoch(_history(tmp_path), "val_accuracy")
    assert selection_message(kept, 50, True, 2) == (
        "early stopping: no val_accuracy improvement for 2 epochs, stopped after epoch 5 of 50; "
        "keeping epoch 3 (val_accuracy 0.9500)"
    )
    assert selection_message(kept, 5, False, 2) == (
        "ran all 5 epochs; keeping epoch 3 (val_accuracy 0.9500)"
    )
    last = kept_epoch(_history(tmp_path), "val_accuracy", "last")
    assert selection_message(last, 9, False, None) == (
        "training stopped after epoch 5 of 9; keeping the last, epoch 5 (val_accuracy 0.9300)"
    )
    assert selection_message(None, 3, False, None).startswith("no epoch completed")
