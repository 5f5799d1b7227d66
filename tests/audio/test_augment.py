"""SpecAugment and the tf.data waveform augmentations."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.audio.augment import (
    FrequencyWarp,
    SpecAugment,
    augment_features,
    load_noise_bank,
    mix_noise,
    random_gain,
    random_speed,
    random_time_shift,
)
from toolkit.audio.io import write_wav
from toolkit.config import AudioAugmentConfig
from toolkit.errors import DataError


def _features(batch: int = 4, frames: int = 50, features: int = 20) -> np.ndarray:
    # Strictly positive so masked (zeroed) cells are easy to count.
    return np.random.default_rng(0).uniform(1.0, 2.0, (batch, frames, features)).astype("float32")


def test_spec_augment_is_identity_at_inference():
    inputs = _features()
    layer = SpecAugment(seed=1)

    np.testing.assert_array_equal(layer(inputs).numpy(), inputs)
    np.testing.assert_array_equal(layer(inputs, training=False).numpy(), inputs)


def test_spec_augment_masks_bands_in_training():
    inputs = _features()
    layer = SpecAugment(2, 10, 2, 5, seed=0)

    outputs = layer(inputs, training=True).numpy()

    assert outputs.shape == inputs.shape
    zeroed = outputs == 0
    assert zeroed.any()
    # Every zeroed cell lies in a fully masked frame or a fully masked feature column.
    full_frames = zeroed.all(axis=2)
    full_features = zeroed.all(axis=1)
    assert np.array_equal(zeroed, full_frames[:, :, None] | full_features[:, None, :])
    assert (full_frames.sum(axis=1) <= 20).all() and (full_features.sum(axis=1) <= 10).all()
    np.testing.assert_array_equal(outputs[~zeroed], inputs[~zeroed])
    # Masks are drawn per example.
    assert not all(np.array_equal(zeroed[0], zeroed[index]) for index in range(1, 4))


def test_spec_augment_clamps_to_short_inputs():
    layer = SpecAugment(time_mask_max=100, frequency_mask_max=100, seed=3)
    for frames, features in ((1, 1), (3, 2), (7, 40)):
        outputs = layer(_features(2, frames, features), training=True).numpy()
        assert outputs.shape == (2, frames, features)
        assert np.all(np.isfinite(outputs))


def test_spec_augment_config_round_trip():
    layer = SpecAugment(time_masks=3, time_mask_max=7, frequency_masks=1, seed=5, name="augment")
    rebuilt = SpecAugment.from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()


def test_frequency_warp_is_identity_at_inference_and_at_zero():
    inputs = _features()
    np.testing.assert_array_equal(FrequencyWarp(0.2, seed=0)(inputs).numpy(), inputs)
    np.testing.assert_array_equal(FrequencyWarp(0.0, seed=0)(inputs, training=True).numpy(), inputs)


def test_frequency_warp_moves_a_formant_by_the_drawn_factor():
    # One peak at bin 10 of 40 (below the boundary, 0.8 * 39): after a warp by factor f it
    # sits at 10 * f, so a stretch moves it up and a squeeze down, by at most max_warp.
    bins = np.zeros((64, 3, 40), "float32")
    bins[:, :, 10] = 1.0
    outputs = FrequencyWarp(0.2, seed=4)(bins, training=True).numpy()
    assert outputs.shape == bins.shape
    peaks = (outputs[:, 0, :] * np.arange(40)).sum(axis=1) / outputs[:, 0, :].sum(axis=1)
    assert peaks.min() >= 8.0 - 1e-4 and peaks.max() <= 12.0 + 1e-4
    assert peaks.min() < 9.0 and peaks.max() > 11.0  # factors are drawn per example
    # Frames of one example share the factor; the edges of the axis stay in place.
    np.testing.assert_allclose(outputs[:, 0, :], outputs[:, 2, :])
    ramp = np.tile(np.arange(40, dtype="float32"), (64, 1, 1))
    warped = FrequencyWarp(0.2, seed=4)(ramp, training=True).numpy()
    np.testing.assert_allclose(warped[:, 0, [0, 39]], [[0.0, 39.0]] * 64, atol=1e-4)
    assert np.all(np.diff(warped[:, 0, :], axis=-1) > 0)  # monotonic: no bins swap places


def test_frequency_warp_rejects_bad_settings_and_round_trips():
    with pytest.raises(ValueError, match="frequency_warp"):
        FrequencyWarp(-0.1)
    with pytest.raises(ValueError, match="frequency_warp"):
        FrequencyWarp(0.5)
    layer = FrequencyWarp(0.15, boundary=0.7, seed=2, name="warp")
    assert FrequencyWarp.from_config(layer.get_config()).get_config() == layer.get_config()


def test_frequency_warp_needs_mel_features():
    from toolkit.audio.features import MFCC, LogMelSpectrogram

    augment = AudioAugmentConfig(frequency_warp=0.1)
    inputs = keras.Input(shape=(None, 20))
    hidden = augment_features(inputs, augment, LogMelSpectrogram(num_mel_bins=20))
    assert "frequency_warp" in hidden._keras_history.operation.name
    with pytest.raises(ValueError, match="log_mel"):
        augment_features(inputs, augment, MFCC())


def _tiny_model() -> keras.Model:
    inputs = keras.Input(shape=(None, 20))
    augmented = SpecAugment(seed=0)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(augmented))
    return keras.Model(inputs, outputs)


def test_spec_augment_trains_saves_and_exports(tmp_path):
    model = _tiny_model()
    model.compile(optimizer="adam", loss="mse")
    inputs = _features(8, 30, 20)
    model.fit(inputs, np.zeros((8, 2), "float32"), batch_size=4, epochs=1, verbose=0)

    path = tmp_path / "tiny.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded(inputs).numpy(), model(inputs).numpy())

    export_path = str(tmp_path / "exported")
    model.export(export_path, format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(export_path)
    np.testing.assert_allclose(
        loaded.serve(tf.constant(inputs)).numpy(), model.predict(inputs, verbose=0), atol=1e-6
    )


def _map_one(function, waveform: np.ndarray) -> np.ndarray:
    """Run an augmentation the way tf.data does: in graph mode, unknown length."""
    dataset = tf.data.Dataset.from_tensors(waveform).map(function)
    return next(iter(dataset)).numpy()


def _tone(samples: int = 4000) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)).astype("float32")


def test_random_time_shift_zero_fills():
    waveform = np.arange(1, 101, dtype="float32")
    for _ in range(5):
        shifted = _map_one(lambda x: random_time_shift(x, 10), waveform)
        assert shifted.shape == waveform.shape
        kept = shifted[shifted != 0]
        shift = int(np.argmax(shifted != 0)) if shifted[0] == 0 else -int(shifted[0] - 1)
        assert abs(shift) <= 10 and kept.size == 100 - abs(shift)
        # Contiguous run of the original samples, not a roll.
        np.testing.assert_array_equal(np.diff(kept), 1.0)


_SHIFT_ONLY = AudioAugmentConfig(
    speed_range=[1.0, 1.0],
    time_shift_ms=100.0,
    gain_db_range=[0.0, 0.0],
    noise_probability=0.0,
    noise_snr_db_range=[5.0, 20.0],
)


@pytest.mark.parametrize("example_seed", [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]])
def test_time_shift_moves_a_short_word_inside_the_window_without_cutting_it(example_seed):
    from toolkit.data.audio_pipeline import augment_waveform

    # A 0.15 s word at 8 kHz, shorter than twice the largest shift (0.1 s).
    word = np.arange(1, 1201, dtype="float32")
    seed = tf.constant(example_seed, tf.int64)
    shifted = augment_waveform(tf.constant(word), _SHIFT_ONLY, 8000, None, seed, 8000).numpy()
    assert shifted.shape == (8000,)
    np.testing.assert_array_equal(shifted[shifted != 0], word)
    # Centred it would start at sample 3400; the shift moves it by at most 800 samples.
    start = int(np.argmax(shifted != 0))
    assert abs(start - 3400) <= 800


def test_time_shift_without_a_window_keeps_the_whole_utterance():
    from toolkit.data.audio_pipeline import augment_waveform

    utterance = np.arange(1, 5001, dtype="float32")
    shifted = augment_waveform(
        tf.constant(utterance), _SHIFT_ONLY, 8000, None, tf.constant([1, 2], tf.int64)
    ).numpy()
    assert shifted.shape == (5000 + 2 * 800,)
    np.testing.assert_array_equal(shifted[shifted != 0], utterance)


@pytest.mark.parametrize(("low", "high"), [(0.9, 1.1), (0.5, 0.5), (2.0, 2.0)])
def test_random_speed_length_rule(low, high):
    waveform = _tone(1001)
    result = _map_one(lambda x: random_speed(x, low, high), waveform)
    assert result.dtype == np.float32 and np.all(np.isfinite(result))
    if low == high:
        assert result.shape == (round(1001 / low),)
    else:
        assert round(1001 / high) <= result.size <= round(1001 / low)


def test_random_speed_factor_two_keeps_every_other_sample():
    waveform = np.arange(10, dtype="float32")
    np.testing.assert_allclose(random_speed(tf.constant(waveform), 2.0, 2.0).numpy(), waveform[::2])


def test_random_gain_scales_by_decibels():
    waveform = _tone()
    louder = _map_one(lambda x: random_gain(x, 6.0, 6.0), waveform)
    np.testing.assert_allclose(louder, waveform * 10 ** (6 / 20), rtol=1e-5)
    ratio = _map_one(lambda x: random_gain(x, -3.0, 3.0), waveform)[100] / waveform[100]
    assert 10 ** (-3 / 20) - 1e-5 <= ratio <= 10 ** (3 / 20) + 1e-5


@pytest.mark.parametrize("bank_seconds", [0.05, 2.0])  # shorter (tiled) and longer than clip
@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_mix_noise_hits_requested_snr(bank_seconds, snr_db):
    waveform = _tone(4000)
    bank = load_noise_bank(None, 16000, seconds=bank_seconds)

    mixed = _map_one(lambda x: mix_noise(x, tf.constant(bank), snr_db, snr_db), waveform)

    assert mixed.shape == waveform.shape
    noise = mixed - waveform
    measured = 20 * np.log10(np.sqrt(np.mean(waveform**2)) / np.sqrt(np.mean(noise**2)))
    assert abs(measured - snr_db) < 0.5


def test_mix_noise_on_silence_stays_finite():
    bank = load_noise_bank(None, 16000, seconds=0.5)
    mixed = _map_one(lambda x: mix_noise(x, tf.constant(bank), 5.0, 20.0), np.zeros(800, "float32"))
    assert np.all(np.isfinite(mixed))


def test_synthetic_noise_bank_is_deterministic_and_balanced():
    bank = load_noise_bank(None, 8000, seconds=3.0, seed=7)

    assert bank.dtype == np.float32 and bank.shape == (24000,)
    np.testing.assert_array_equal(bank, load_noise_bank(None, 8000, seconds=3.0, seed=7))
    assert not np.array_equal(bank, load_noise_bank(None, 8000, seconds=3.0, seed=8))
    white, pink, brown = np.split(bank, 3)
    for part in (white, pink, brown):
        assert np.sqrt(np.mean(part.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)

    # Redder noise keeps more of its energy at low frequencies.
    def low_share(part):
        power = np.abs(np.fft.rfft(part)) ** 2
        return power[: power.size // 10].sum() / power.sum()

    assert low_share(white) < low_share(pink) < low_share(brown)


def test_noise_bank_from_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    write_wav(tmp_path / "a.wav", 0.1 * rng.standard_normal(1600), 16000)
    write_wav(tmp_path / "sub" / "b.wav", 0.5 * rng.standard_normal(800), 8000)
    (tmp_path / "notes.txt").write_text("not audio")

    bank = load_noise_bank(tmp_path, 16000)

    assert bank.dtype == np.float32 and bank.shape == (1600 + 1600,)
    for part in np.split(bank, 2):
        assert np.sqrt(np.mean(part.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)


def test_noise_bank_folder_without_audio_names_the_folder(tmp_path):
    folder = tmp_path / "quiet_room"
    folder.mkdir()
    (folder / "readme.txt").write_text("nothing here")

    with pytest.raises(DataError, match="quiet_room"):
        load_noise_bank(folder, 16000)
    with pytest.raises(DataError, match="missing_folder"):
        load_noise_bank(tmp_path / "missing_folder", 16000)


def _augmented_epochs(seed: int, paths: list[str]) -> list[np.ndarray]:
    from toolkit.data.audio_pipeline import classification_dataset

    tf.random.set_seed(0)  # as training does, through keras.utils.set_random_seed
    augment = AudioAugmentConfig(
        speed_range=[0.9, 1.1],
        time_shift_ms=100.0,
        gain_db_range=[-6.0, 6.0],
        noise_probability=0.5,
        noise_snr_db_range=[5.0, 20.0],
    )
    bank = np.random.default_rng(0).standard_normal(8000).astype("float32")
    labels = np.zeros(len(paths), np.int32)
    dataset = classification_dataset(paths, labels, 8000, 8000, 4, True, augment, bank, True, seed)
    return [np.concatenate([batch[0].numpy() for batch in dataset]) for _ in range(2)]


def test_seeded_augmentation_repeats_exactly_and_changes_every_epoch(tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for index in range(12):
        path = tmp_path / f"clip{index}.wav"
        write_wav(path, rng.uniform(-0.5, 0.5, 3000 + 100 * index).astype("float32"), 8000)
        paths.append(str(path))
    first = _augmented_epochs(seed=7, paths=paths)
    # Parallel map calls run in any order: same batches all the same.
    again = _augmented_epochs(seed=7, paths=paths)
    other = _augmented_epochs(seed=8, paths=paths)
    for epoch, repeat in zip(first, again, strict=True):
        np.testing.assert_array_equal(epoch, repeat)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other[0])


def test_seeded_draws_ignore_the_global_generator():
    from toolkit.data.audio_pipeline import augment_waveform

    augment = AudioAugmentConfig(
        speed_range=[0.8, 1.2],
        time_shift_ms=50.0,
        gain_db_range=[-6.0, 6.0],
        noise_probability=0.5,
        noise_snr_db_range=[5.0, 20.0],
    )
    waveform = tf.constant(np.random.default_rng(2).uniform(-0.5, 0.5, 4000).astype("float32"))
    bank = tf.constant(np.random.default_rng(3).standard_normal(8000).astype("float32"))
    seed = tf.constant([3, 4], tf.int64)
    first = augment_waveform(waveform, augment, 8000, bank, seed).numpy()
    second = augment_waveform(waveform, augment, 8000, bank, seed).numpy()
    np.testing.assert_array_equal(first, second)
    other = augment_waveform(waveform, augment, 8000, bank, tf.constant([3, 5], tf.int64))
    assert not np.array_equal(first, other.numpy())
