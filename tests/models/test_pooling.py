"""Attention pooling: weights over time, masking, config and .keras round trips, and the
audio classification head that uses it."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from toolkit.models.pooling import AttentionPooling


def _sequence(batch: int, frames: int, channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, frames, channels)).astype("float32")


def test_output_is_a_convex_combination_of_frames() -> None:
    pooling = AttentionPooling(units=8)
    sequence = _sequence(2, 9, 5)
    pooled = keras.ops.convert_to_numpy(pooling(sequence))
    assert pooled.shape == (2, 5)
    # A weighted average lies within each channel's range over time.
    assert np.all(pooled <= sequence.max(axis=1) + 1e-6)
    assert np.all(pooled >= sequence.min(axis=1) - 1e-6)


def test_identical_frames_pool_to_that_frame() -> None:
    frame = _sequence(1, 1, 6)
    sequence = np.repeat(frame, 11, axis=1)
    pooled = keras.ops.convert_to_numpy(AttentionPooling(units=4)(sequence))
    np.testing.assert_allclose(pooled, frame[:, 0], rtol=1e-5, atol=1e-6)


def test_masked_frames_have_no_say() -> None:
    pooling = AttentionPooling(units=8)
    sequence = _sequence(1, 10, 4)
    mask = np.array([[True] * 6 + [False] * 4])
    changed = sequence.copy()
    changed[:, 6:] = 100.0
    first = keras.ops.convert_to_numpy(pooling(sequence, mask=mask))
    second = keras.ops.convert_to_numpy(pooling(changed, mask=mask))
    np.testing.assert_allclose(first, second, rtol=1e-6)
    unmasked = keras.ops.convert_to_numpy(pooling(sequence[:, :6]))
    np.testing.assert_allclose(first, unmasked, rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_keras_save_load(tmp_path: Any) -> None:
    inputs = keras.Input((None, 6))
    outputs = keras.layers.Dense(3)(AttentionPooling(units=5, name="pool")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    sequence = _sequence(4, 13, 6, seed=2)
    model.fit(sequence, np.ones((4, 3), "float32"), epochs=1, verbose=0)
    config = model.get_layer("pool").get_config()
    assert AttentionPooling.from_config(config).get_config() == config
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        restored.predict(sequence, verbose=0), model.predict(sequence, verbose=0)
    )


def test_invalid_units_name_the_value() -> None:
    with pytest.raises(ValueError, match="units"):
        AttentionPooling(units=0)


def test_audio_classifier_with_attention_pooling_saves_and_loads(tmp_path: Any) -> None:
    from toolkit.audio.features import LogMelSpectrogram
    from toolkit.config import AudioAugmentConfig
    from toolkit.models.crnn import CRNN
    from toolkit.tasks.audio_classification import AudioClassification

    task = AudioClassification(
        sample_rate=8000, clip_duration=0.25, labels=["a", "b"], pooling="attention"
    )
    task.register_layers()
    features = LogMelSpectrogram(sample_rate=8000, num_mel_bins=16)
    backbone = CRNN(
        num_features=16, conv_filters=[4], conv_strides=[[2, 2]], rnn_units=4, rnn_layers=1
    )
    model = task.build_model(features=features, backbone=backbone, augment=AudioAugmentConfig())
    assert model.get_layer("attention_pool").units == 64
    waveforms = np.random.default_rng(3).normal(size=(2, 2000)).astype("float32") * 0.1
    expected = model.predict(waveforms, verbose=0)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    path = tmp_path / "classifier.keras"
    model.save(path)
    np.testing.assert_array_equal(
        keras.saving.load_model(path).predict(waveforms, verbose=0), expected
    )
