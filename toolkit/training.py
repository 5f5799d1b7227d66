"""Devices, distribution strategy, optimizer and schedule, callbacks and `fit`."""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from toolkit.config import TrainConfig
from toolkit.errors import ToolkitError

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


def monitor_mode(monitor: str) -> str:
    return (
        "min"
        if "loss" in monitor or "error" in monitor or monitor.endswith(("wer", "cer"))
        else "max"
    )


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
    """Run `model.fit` with the run directory's callbacks; returns the Keras History."""
    return model.fit(
        train_data,
        validation_data=valid_data,
        epochs=train.epochs,
        callbacks=callbacks(train, run_dir, monitor, scores),
        class_weight=class_weight,
        verbose=train.verbose,
    )
