"""The audio classification baseline: MFCC statistics + logistic regression.

Each clip (padded or cropped to the task's clip, as the models see it) becomes one vector: the
mean and standard deviation over time of 20 MFCCs and of their frame-to-frame differences,
standardised with the training clips' statistics. The logistic regression's C is chosen on the
validation split. The toolkit's own MFCC layer computes the coefficients, so the exported
baseline takes waveforms as the task's models do.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from toolkit.baselines.linear import fit_logistic_regression

log = logging.getLogger("toolkit")

NUM_COEFFICIENTS = 20
NUM_MEL_BINS = 40
# Frames more than this under the clip's loudest are floored, so that the padding's digital
# silence does not dominate the statistics of a short word.
TOP_DB = 80.0


@keras.saving.register_keras_serializable(package="toolkit")
class ClipStatistics(keras.layers.Layer):
    """`[batch, frames, coefficients]` -> `[batch, 4 * coefficients]`: mean and standard
    deviation over time of the coefficients and of their differences between frames."""

    def call(self, frames):
        differences = frames[:, 1:] - frames[:, :-1]
        return tf.concat(
            [
                tf.reduce_mean(frames, axis=1),
                tf.math.reduce_std(frames, axis=1),
                tf.reduce_mean(differences, axis=1),
                tf.math.reduce_std(differences, axis=1),
            ],
            axis=-1,
        )

    def compute_output_shape(self, input_shape) -> tuple:
        return (input_shape[0], 4 * input_shape[-1])


def fit_audio_baseline(
    *,
    sample_rate: int,
    clip_samples: int,
    train: Any,
    valid: Any,
    train_ids: np.ndarray,
    valid_ids: np.ndarray,
    classes: int,
) -> keras.Model:
    """waveform -> MFCC -> clip statistics -> standardisation -> logistic regression, as a
    Keras model whose output layer is `probabilities`. `train` and `valid` are tf.data
    pipelines of (waveform batch, label batch) in the order of `train_ids` / `valid_ids`."""
    from toolkit.audio.features import MFCC

    waveform = keras.Input(shape=(clip_samples,), name="waveform")
    mfcc = MFCC(
        num_coefficients=NUM_COEFFICIENTS,
        sample_rate=sample_rate,
        num_mel_bins=NUM_MEL_BINS,
        normalization="none",
        top_db=TOP_DB,
        name="mfcc",
    )
    statistics = ClipStatistics(name="clip_statistics")(mfcc(waveform))
    describe = keras.Model(waveform, statistics)

    def vectors(dataset: Any) -> np.ndarray:
        return np.concatenate([describe(batch, training=False).numpy() for batch, _ in dataset])

    train_x, valid_x = vectors(train), vectors(valid)
    mean, variance = train_x.mean(axis=0), np.maximum(train_x.var(axis=0), 1e-8)
    standardise = keras.layers.Normalization(mean=mean, variance=variance, name="standardise")
    scale = 1.0 / np.sqrt(variance)
    fitted = fit_logistic_regression(
        (train_x - mean) * scale,
        train_ids,
        (valid_x - mean) * scale,
        valid_ids,
        classes=classes,
    )
    log.info(
        "baseline: %d MFCC statistics per clip, C %g (validation %.4f)",
        train_x.shape[1],
        fitted.C,
        fitted.valid_score,
    )
    output = keras.layers.Dense(
        classes, activation="softmax", dtype="float32", name="probabilities"
    )
    model = keras.Model(waveform, output(standardise(statistics)), name="audio_baseline")
    output.set_weights([fitted.kernel, fitted.bias])
    return model
