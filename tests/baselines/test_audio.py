import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from toolkit.baselines.audio import ClipStatistics, fit_audio_baseline


def test_clip_statistics_are_means_and_deviations_of_frames_and_differences():
    frames = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    result = ClipStatistics()(frames).numpy()
    differences = np.diff(frames, axis=1)
    expected = np.concatenate(
        [frames.mean(1), frames.std(1), differences.mean(1), differences.std(1)], axis=-1
    )
    np.testing.assert_allclose(result, expected, atol=1e-5)
    assert ClipStatistics.from_config(ClipStatistics().get_config()).compute_output_shape(
        (None, 6, 3)
    ) == (None, 12)


def tones(count: int, seed: int) -> tuple[tf.data.Dataset, np.ndarray]:
    """Low (class 0) or high (class 1) tones at random levels, 0.25 s at 8 kHz."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 2, count)
    time = np.arange(2000) / 8000
    clips = np.stack(
        [
            10 ** rng.uniform(-2, -0.5) * np.sin(2 * np.pi * (300 if i == 0 else 2500) * time)
            + 0.001 * rng.normal(size=time.size)
            for i in ids
        ]
    ).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((clips, ids)).batch(16), ids


def test_the_audio_baseline_tells_tones_apart_and_survives_saving(tmp_path):
    train, train_ids = tones(60, 0)
    valid, valid_ids = tones(30, 1)
    model = fit_audio_baseline(
        sample_rate=8000,
        clip_samples=2000,
        train=train,
        valid=valid,
        train_ids=train_ids,
        valid_ids=valid_ids,
        classes=2,
    )
    clips = np.concatenate([batch for batch, _ in valid])
    probabilities = model.predict(clips, verbose=0)
    assert (probabilities.argmax(axis=1) == valid_ids).mean() == 1.0
    model.save(tmp_path / "baseline.keras")
    loaded = keras.saving.load_model(tmp_path / "baseline.keras")
    np.testing.assert_allclose(loaded.predict(clips, verbose=0), probabilities, atol=1e-5)
    assert pd.Series(probabilities.sum(axis=1)).round(5).eq(1.0).all()
