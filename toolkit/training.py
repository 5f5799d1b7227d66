"""Devices, distribution strategy, optimizer and schedule, callbacks and `fit`."""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

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
    """Stops training on a NaN or infinite loss with a message saying what to change."""

    def __init__(self):
        super().__init__()
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            self.stopped = True
            log.error(
                "training loss became %s at batch %d: lower train.learning_rate, set "
                "train.clip_norm (e.g. 1.0) or check the data; the last good checkpoint is kept",
                loss,
                batch,
            )


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


def callbacks(train: TrainConfig, run_dir: Path, monitor: str, scores: list = ()) -> list:
    """`scores` (callbacks that add validation metrics to the logs) run first, so the
    checkpoint, early stopping and the CSV log see what they add."""
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
    items = [
        *averaging,
        *scores,
        keras.callbacks.ModelCheckpoint(
            str(checkpoints / "best.keras"), monitor=monitor, mode=mode, save_best_only=True
        ),
        keras.callbacks.ModelCheckpoint(str(checkpoints / "last.keras")),
        keras.callbacks.CSVLogger(str(Path(run_dir) / "history.csv")),
        keras.callbacks.TensorBoard(log_dir=str(Path(run_dir) / "logs"), write_graph=False),
        NanGuard(),
    ]
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
):
    """Run `model.fit` with the run directory's callbacks; returns the Keras History.

    Logs how training ended and which epoch's weights `train.select` keeps."""
    items = callbacks(train, run_dir, monitor, scores)
    verbose, per_epoch = keras_verbosity(train.verbose)
    if per_epoch:
        items.append(EpochLog(train.epochs))
    history = model.fit(
        train_data,
        validation_data=valid_data,
        epochs=train.epochs,
        callbacks=items,
        class_weight=class_weight,
        verbose=verbose,
        # The datasets shuffle themselves (tf.data); Keras ignores this for them, with a warning.
        shuffle=False,
    )
    stopper = next((c for c in items if isinstance(c, keras.callbacks.EarlyStopping)), None)
    report_selection(
        Path(run_dir) / "history.csv",
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
