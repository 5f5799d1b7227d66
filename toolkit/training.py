"""Devices, distribution strategy, optimizer and schedule, callbacks and `fit`."""

from __future__ import annotations

import logging
import math
import os
import random
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from toolkit import atomic
from toolkit.config import TrainConfig
from toolkit.errors import ToolkitError
from toolkit.history import kept_epoch, monitor_mode, selection_message

log = logging.getLogger("toolkit")


def make_strategy(device: str):
    """One device, or MirroredStrategy over every visible GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise ToolkitError(
            "--device gpu: no GPU is visible to TensorFlow (check CUDA drivers, or use --device cpu)"
        )
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    if len(gpus) > 1:
        log.info("training on %d GPUs with MirroredStrategy", len(gpus))
        return tf.distribute.MirroredStrategy()
    log.info("training on %s", "1 GPU" if gpus else "CPU")
    return tf.distribute.get_strategy()


def set_precision(mixed_precision: bool) -> None:
    if mixed_precision and tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        if mixed_precision:
            log.warning("train.mixed_precision: no GPU visible; training in float32")
        keras.mixed_precision.set_global_policy("float32")


def set_seeds(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def learning_rate(train: TrainConfig, steps_per_epoch: int):
    """A constant rate, or cosine decay with linear warm-up, in optimizer steps."""
    rate = train.learning_rate
    if train.schedule != "cosine":
        return rate
    total = max(1, train.epochs * steps_per_epoch)
    warmup = min(int(train.warmup_epochs * steps_per_epoch), total - 1)
    if warmup > 0:
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, warmup_target=rate, warmup_steps=warmup, alpha=0.01
        )
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total, alpha=0.01)


def build_optimizer(train: TrainConfig, steps_per_epoch: int):
    schedule = learning_rate(train, steps_per_epoch)
    options: dict[str, Any] = {"learning_rate": schedule}
    if train.clip_norm:
        options["global_clipnorm"] = train.clip_norm
    if train.ema_momentum is not None:
        options.update(use_ema=True, ema_momentum=train.ema_momentum)
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(weight_decay=train.weight_decay or 1e-4, **options)
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=0.9, nesterov=True, **options)
    return keras.optimizers.Adam(**options)


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss by raising `Diverged` (no `kept` yet;
    `fit` adds it): stopping Keras' way would still validate and checkpoint the diverged
    weights at the end of the epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            where = (
                f"training loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}"
            )
            raise Diverged(where, None)


# A wall-clock time (time.monotonic) at which `fit` stops training after the batch it is in,
# for whoever runs training under a time budget (`toolkit tune`); None: no limit.
deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


class StopAtDeadline(keras.callbacks.Callback):
    """Stops training once `time.monotonic()` passes `at` (checked after every batch)."""

    def __init__(self, at: float):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() > self.at:
            self.model.stop_training = True


class Diverged(ToolkitError):
    """The training loss became NaN or infinite; `kept` is the best checkpoint saved before,
    if any epoch made one."""

    def __init__(self, where: str, kept: Path | None):
        advice = "lower train.learning_rate, set train.clip_norm (e.g. 1.0) or check the data"
        outcome = (
            f"the best checkpoint before it ({kept}) is kept"
            if kept is not None
            else "no epoch before it gave a model to keep"
        )
        super().__init__(f"{where}: {advice}; {outcome}")
        self.where = where
        self.kept = kept


class TrainingState(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, kept until the whole run has finished (a finished phase or
    ensemble member restores as done), written atomically, and restoring the run directory's
    history.csv to the epochs the saved state holds.

    It must come first among the callbacks: it saves the weights being trained, before
    weight averaging swaps the averaged ones in at the end of an epoch."""

    def __init__(
        self,
        backup_dir: Path,
        history_csv: Path,
        save_every_steps: int | None,
    ):
        super().__init__(
            str(backup_dir),
            save_freq=save_every_steps or "epoch",
            delete_checkpoint=False,
        )
        self.history_csv = Path(history_csv)
        self.resumed_from: int | None = None
        # What saving costs, logged at the end (seconds and count).
        self.saving_seconds = 0.0
        self.saves = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.resumed_from = self.model._initial_epoch
        if self.resumed_from:
            keep_history(self.history_csv, self.resumed_from)
            epochs = self.params["epochs"]
            if self.resumed_from >= epochs:
                log.info("training state restored: these %d epochs had finished", epochs)
            else:
                log.info("training state restored: epoch %d of %d", self.resumed_from + 1, epochs)

    def on_train_end(self, logs=None):
        # Done or stopped early: a restart must not train on. The model's `_initial_epoch`
        # must not carry over to the next `fit` of the same model either.
        self._current_epoch = self.params["epochs"]
        self._save_model()
        self.model._initial_epoch = None
        log.info(
            "training state saved %d times, %.1f s in all (%.2f s each)",
            self.saves,
            self.saving_seconds,
            self.saving_seconds / max(1, self.saves),
        )

    def _save_model(self):
        # Weights, then the epoch they belong to, each under a temporary name renamed into
        # place: a kill at any point leaves whole files (at worst an epoch's weights beside the
        # previous epoch's number, and that epoch is trained again).
        started = time.monotonic()
        weights, metadata = Path(self._weights_path), Path(self._training_metadata_path)
        with atomic.replacing(weights) as temporary:
            self.model.save_weights(str(temporary), overwrite=True)
        atomic.write_json(metadata, {"epoch": self._current_epoch, "batch": self._last_batch_seen})
        self.saving_seconds += time.monotonic() - started
        self.saves += 1


class AtomicCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ModelCheckpoint, saving to a temporary name that is renamed into place: a kill
    while it writes leaves the previous checkpoint whole. (Overrides two of its private
    methods, as of Keras 3.15: the path it saves to, and the save.)"""

    def _get_file_path(self, epoch, batch, logs):
        return str(atomic.partial_path(Path(super()._get_file_path(epoch, batch, logs))))

    def _save_model(self, epoch, batch, logs):
        super()._save_model(epoch, batch, logs)
        temporary = Path(self._get_file_path(epoch, batch, logs))
        if temporary.exists():
            os.replace(temporary, self.filepath)


def keep_history(history_csv: Path, epochs: int) -> None:
    """history.csv cut to its first `epochs` epochs: those the restored training state holds
    (a kill after the CSV row but before the state was saved leaves one more)."""
    import pandas as pd

    try:
        history = pd.read_csv(history_csv)
    except (OSError, pd.errors.EmptyDataError):
        return
    if "epoch" in history and len(history) > 0:
        atomic.write_csv(history[history["epoch"] < epochs], history_csv)


class ResumedBookkeeping(keras.callbacks.Callback):
    """After a restore, gives the best-checkpoint and early-stopping callbacks the best
    monitored value and the epochs waited since, read from the kept history.csv (Keras resets
    them when `fit` starts). Comes after them in the callback list."""

    def __init__(self, state: TrainingState, monitor: str, others: list):
        super().__init__()
        self.state = state
        self.monitor = monitor
        self.others = others

    def on_train_begin(self, logs=None):
        import pandas as pd

        if not self.state.resumed_from:
            return
        try:
            history = pd.read_csv(self.state.history_csv)
        except (OSError, pd.errors.EmptyDataError):
            return
        if self.monitor not in history or history[self.monitor].isna().all():
            return
        values = history[self.monitor]
        best_row = values.idxmax() if monitor_mode(self.monitor) == "max" else values.idxmin()
        best = float(values[best_row])
        for callback in self.others:
            if isinstance(callback, keras.callbacks.ModelCheckpoint) and callback.save_best_only:
                callback.best = best
            elif isinstance(callback, keras.callbacks.EarlyStopping):
                callback.best = best
                callback.best_epoch = int(history["epoch"][best_row])
                callback.wait = len(history) - 1 - int(best_row)


class EpochLog(keras.callbacks.Callback):
    """One line per epoch through the toolkit logger (epoch i/N, metrics, seconds), for output
    that goes to a file or a pipe, where Keras' progress bar is redrawn thousands of times."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs
        self._started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.monotonic() - self._started
        log.info("epoch %d/%d: %s (%.0f s)", epoch + 1, self.epochs, format_metrics(logs), seconds)


def format_metrics(logs: dict[str, Any] | None) -> str:
    """`loss 0.4321, accuracy 0.8811, val_loss ...`: training metrics first, then validation."""
    items = []
    for name, value in (logs or {}).items():
        try:
            items.append((name, float(value)))
        except (TypeError, ValueError):
            continue  # not a scalar metric
    items = [item for item in items if item[0] != "learning_rate"]
    items.sort(key=lambda item: item[0].startswith("val_"))
    return ", ".join(f"{name} {value:.4g}" for name, value in items)


def interactive_output() -> bool:
    """Whether Keras' progress bar (written to stdout) is seen on a terminal or in a notebook."""
    stream = sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules


def keras_verbosity(verbose: int) -> tuple[int, bool]:
    """(Keras' `verbose`, whether `EpochLog` writes a line per epoch) for `train.verbose`:
    0 silent; 1 the progress bar on a terminal, a line per epoch otherwise; 2 a line per epoch."""
    if not verbose:
        return 0, False
    if verbose == 1 and interactive_output():
        return 1, False
    return 0, True


def callbacks(
    train: TrainConfig,
    run_dir: Path,
    monitor: str,
    scores: list = (),
    history_csv: Path | None = None,
) -> list:
    """`scores` (callbacks that add validation metrics to the logs) run first, so the
    checkpoint, early stopping and the CSV log see what they add. The epochs' metrics go to
    `history_csv` (default RUN_DIR/history.csv)."""
    history_csv = Path(history_csv or Path(run_dir) / "history.csv")
    checkpoints = Path(run_dir) / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    mode = monitor_mode(monitor)
    # With weight averaging, the averaged weights are swapped in for validation and for the
    # end-of-epoch callbacks after it (scores, checkpoints), and swapped out to train on.
    averaging = (
        [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
        if train.ema_momentum is not None
        else []
    )
    state = TrainingState(
        Path(run_dir) / "checkpoints" / "state", history_csv, train.save_every_steps
    )
    items = [
        state,
        *averaging,
        *scores,
        AtomicCheckpoint(
            str(checkpoints / "best.keras"), monitor=monitor, mode=mode, save_best_only=True
        ),
        AtomicCheckpoint(str(checkpoints / "last.keras")),
        # Appends: a resumed run continues the history the restored state holds.
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.TensorBoard(log_dir=str(Path(run_dir) / "logs"), write_graph=False),
        NanGuard(),
    ]
    if deadline.get() is not None:
        items.append(StopAtDeadline(deadline.get()))
    if train.early_stopping_patience:
        items.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=train.early_stopping_patience,
                restore_best_weights=False,
            )
        )
    if train.schedule == "plateau":
        items.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode=mode,
                factor=0.5,
                patience=max(2, (train.early_stopping_patience or 10) // 3),
            )
        )
    items.append(ResumedBookkeeping(state, monitor, list(items)))
    return items


def fit(
    model,
    train_data,
    valid_data,
    train: TrainConfig,
    run_dir: Path,
    monitor: str,
    class_weight: dict[int, float] | None = None,
    scores: list = (),
    history_csv: Path | None = None,
):
    """Run `model.fit` with the run directory's callbacks; returns the Keras History. A saved
    training state in RUN_DIR (an interrupted run) is restored first.

    Logs how training ended and which epoch's weights `train.select` keeps."""
    history_csv = Path(history_csv or Path(run_dir) / "history.csv")
    items = callbacks(train, run_dir, monitor, scores, history_csv)
    verbose, per_epoch = keras_verbosity(train.verbose)
    if per_epoch:
        items.append(EpochLog(train.epochs))
    try:
        history = model.fit(
            train_data,
            validation_data=valid_data,
            epochs=train.epochs,
            callbacks=items,
            class_weight=class_weight,
            verbose=verbose,
            # The datasets shuffle themselves (tf.data); Keras ignores this, with a warning.
            shuffle=False,
        )
    except Diverged as error:
        model._initial_epoch = None
        best = Path(run_dir) / "checkpoints" / "best.keras"
        raise Diverged(error.where, best if best.is_file() else None) from None
    stopper = next((c for c in items if isinstance(c, keras.callbacks.EarlyStopping)), None)
    report_selection(
        history_csv,
        monitor,
        train.select,
        train.epochs,
        stopped_early=bool(stopper is not None and stopper.wait >= stopper.patience),
        patience=train.early_stopping_patience,
    )
    return history


def report_selection(
    history_csv: Path,
    monitor: str,
    select: str,
    planned_epochs: int,
    stopped_early: bool,
    patience: int | None,
) -> None:
    """Log how training ended and which epoch's weights are kept (from `history.csv`)."""
    import pandas as pd

    try:
        history = pd.read_csv(history_csv)
    except (OSError, pd.errors.EmptyDataError):
        history = pd.DataFrame()
    kept = kept_epoch(history, monitor, select)
    log.info("%s", selection_message(kept, planned_epochs, stopped_early, patience))
