"""Feature layers: librosa parity, shapes, serialization, export and mixed precision."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.audio.features import MFCC, LogMelSpectrogram
from toolkit.audio.reference import librosa_log_mel, librosa_mfcc


def _speech_like(sample_rate: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Gliding harmonic voice with a syllable envelope and a little background noise."""
    samples = int(sample_rate * seconds)
    time = np.arange(samples) / sample_rate
    pitch = 120.0 + 30.0 * np.sin(2 * np.pi * 2.0 * time)
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 150.0 < sample_rate / 2)
    envelope = 0.5 * (1.0 - np.cos(2 * np.pi * 3.0 * time))
    noise = 0.01 * np.random.default_rng(seed).standard_normal(samples)
    return (0.3 * envelope * voice / np.max(np.abs(voice)) + noise).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [16000, 8000])
@pytest.mark.parametrize("mel_scale", ["slaney", "htk"])
def test_log_mel_matches_librosa(sample_rate, mel_scale):
    waveform = _speech_like(sample_rate)
    layer = LogMelSpectrogram(sample_rate=sample_rate, mel_scale=mel_scale, normalization="none")

    features = layer(waveform[None]).numpy()[0]
    reference = librosa_log_mel(waveform, sample_rate, mel_scale=mel_scale)

    assert features.shape == reference.shape == (layer.num_frames(waveform.size), 40)
    assert np.max(np.abs(features - reference)) <= 1e-3


@pytest.mark.parametrize("sample_rate", [16000, 8000])
@pytest.mark.parametrize("mel_scale", ["slaney", "htk"])
def test_mfcc_matches_librosa(sample_rate, mel_scale):
    waveform = _speech_like(sample_rate)
    layer = MFCC(sample_rate=sample_rate, mel_scale=mel_scale, normalization="none")

    features = layer(waveform[None]).numpy()[0]
    reference = librosa_mfcc(waveform, sample_rate, mel_scale=mel_scale)

    assert features.shape == reference.shape == (layer.num_frames(waveform.size), 13)
    assert np.max(np.abs(features - reference)) <= 1e-3


def test_custom_settings_match_librosa():
    settings = dict(
        window_ms=30.0, hop_ms=15.0, fft_length=1024, num_mel_bins=64, fmin=60.0, fmax=7000.0
    )
    waveform = _speech_like(16000, seconds=0.37)
    layer = LogMelSpectrogram(sample_rate=16000, normalization="none", **settings)

    features = layer(waveform[None]).numpy()[0]

    np.testing.assert_allclose(features, librosa_log_mel(waveform, 16000, **settings), atol=1e-3)
    assert layer.frame_step == 240 and layer.sample_rate == 16000


@pytest.mark.parametrize(
    "layer_class, reference", [(LogMelSpectrogram, librosa_log_mel), (MFCC, librosa_mfcc)]
)
def test_top_db_matches_librosa(layer_class, reference):
    # Half a second of digital silence after the speech: without the floor its log energy
    # would sit far below anything the speech part produces.
    waveform = np.concatenate([_speech_like(16000, seconds=0.5), np.zeros(8000, np.float32)])
    layer = layer_class(sample_rate=16000, normalization="none", top_db=40.0)

    features = layer(waveform[None]).numpy()[0]

    np.testing.assert_allclose(features, reference(waveform, 16000, top_db=40.0), atol=1e-3)
    unlimited = layer_class(sample_rate=16000, normalization="none")(waveform[None]).numpy()[0]
    assert not np.allclose(features, unlimited, atol=1e-3)


def test_top_db_floor_follows_each_clip_peak():
    layer = LogMelSpectrogram(sample_rate=16000, normalization="none", top_db=30.0)
    quiet = np.concatenate([_speech_like(16000, seconds=0.5), np.zeros(8000, np.float32)])
    batch = np.stack([quiet, 10.0 * quiet])

    features = layer(batch).numpy()

    floor = 30.0 * np.log(10.0) / 10.0
    for example in features:
        assert example.min() == pytest.approx(example.max() - floor, abs=1e-4)
    # 20 dB of gain moves every value (floor included) by the same log(100).
    np.testing.assert_allclose(features[1] - features[0], np.log(100.0), atol=1e-2)
    assert LogMelSpectrogram.from_config(layer.get_config()).top_db == 30.0


def test_top_db_must_be_positive():
    with pytest.raises(ValueError, match="top_db"):
        LogMelSpectrogram(top_db=0.0)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("samples", [1, 100, 399, 400, 512, 513, 16000, 16001])
def test_num_frames_matches_output(center, samples):
    layer = LogMelSpectrogram(center=center)

    output = layer(np.zeros((2, samples), np.float32))

    assert output.shape == (2, layer.num_frames(samples), 40)
    assert np.all(np.isfinite(output.numpy()))
    assert layer.compute_output_shape((2, samples)) == tuple(output.shape)
    assert layer.compute_output_shape((None, None)) == (None, None, 40)


def test_utterance_normalization_per_bin():
    waveform = _speech_like(16000)

    features = LogMelSpectrogram()(waveform[None]).numpy()[0]
    raw = LogMelSpectrogram(normalization="none")(waveform[None]).numpy()[0]

    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-4)
    # Unit spread per bin; bins that barely vary (spread under 1 log unit) are only centred.
    expected_std = raw.std(axis=0) / np.maximum(raw.std(axis=0), 1.0)
    np.testing.assert_allclose(features.std(axis=0), expected_std, atol=1e-3)
    assert (raw.std(axis=0) > 1.0).sum() > 20


def test_peak_normalization_ignores_level_and_padding():
    word = _speech_like(16000, 0.3)
    layer = LogMelSpectrogram(normalization="peak", top_db=50.0, log_offset=1e-10)
    # The same word, 20 dB quieter and centred in a 1 s clip (35 frames of silence before it).
    alone = layer(word[None]).numpy()[0]
    padded = layer((0.1 * np.pad(word, 5600))[None]).numpy()[0]

    assert alone.max() == 0.0
    np.testing.assert_allclose(padded[35 + 3 : 35 + 28], alone[3:28], atol=1e-3)
    # Silence sits at the floor, top_db under the peak (natural-log units).
    np.testing.assert_allclose(padded[:20], -50.0 * np.log(10.0) / 10.0, atol=1e-5)


def test_peak_normalization_of_a_padded_batch_uses_each_utterances_own_frames():
    word = _speech_like(16000, 0.3)
    layer = LogMelSpectrogram(normalization="peak", top_db=50.0, log_offset=1e-10)
    batch = np.stack([np.pad(word, (0, 4800)), np.pad(0.1 * word, (0, 4800))])

    features, frames = layer(batch, np.array([4800, 9600]))

    alone = layer(word[None]).numpy()[0]
    np.testing.assert_allclose(features[0, : frames[0]].numpy(), alone, atol=1e-3)
    assert np.all(features[0, frames[0] :].numpy() == 0.0)
    np.testing.assert_allclose(features[1, : frames[0]].numpy(), alone, atol=1e-3)


@pytest.mark.parametrize("normalization", ["utterance", "peak"])
def test_a_small_log_offset_keeps_quiet_clips_at_nearly_the_same_features(normalization):
    # Peak 0.075, as the quietest FSDD speaker, then 30 dB quieter: with an offset far under
    # the floor only the faintest noise moves (by under 0.2 log units).
    quiet = 0.25 * _speech_like(8000, 0.5)
    settings = {"sample_rate": 8000, "normalization": normalization, "top_db": 50.0}
    layer = LogMelSpectrogram(log_offset=1e-10, **settings)
    assert np.abs(layer((0.03 * quiet)[None]).numpy() - layer(quiet[None]).numpy()).max() < 0.2
    # The default offset (1e-6) becomes the floor of a quiet clip and changes its features.
    default = LogMelSpectrogram(**settings)
    assert np.abs(default((0.03 * quiet)[None]).numpy() - default(quiet[None]).numpy()).max() > 0.5


def test_mfcc_refuses_peak_normalization():
    with pytest.raises(ValueError, match="peak"):
        MFCC(normalization="peak")


def test_num_features():
    assert LogMelSpectrogram(num_mel_bins=80).num_features == 80
    assert MFCC(num_coefficients=20).num_features == 20
    assert MFCC(num_coefficients=20)(np.zeros((1, 800), np.float32)).shape == (1, 6, 20)


@pytest.mark.parametrize(
    ("settings", "repeated"),
    [({"mel_scale": "bark"}, "bark"), ({"normalization": "global"}, "global")],
)
def test_bad_settings_raise_value_error_repeating_the_value(settings, repeated):
    with pytest.raises(ValueError, match=repeated):
        LogMelSpectrogram(**settings)
    with pytest.raises(ValueError, match=repeated):
        MFCC(**settings)


@pytest.mark.parametrize(
    "layer",
    [
        LogMelSpectrogram(sample_rate=8000, num_mel_bins=32, mel_scale="htk", fmax=3800.0),
        MFCC(num_coefficients=10, fft_length=1024, normalization="none", center=False),
    ],
    ids=["log_mel", "mfcc"],
)
def test_config_round_trip(layer):
    rebuilt = type(layer).from_config(layer.get_config())

    assert rebuilt.get_config() == layer.get_config()
    waveform = _speech_like(layer.sample_rate, seconds=0.2)[None]
    np.testing.assert_array_equal(rebuilt(waveform).numpy(), layer(waveform).numpy())


def _tiny_model(feature_layer: keras.layers.Layer) -> keras.Model:
    inputs = keras.Input(shape=(None,), dtype="float32")
    features = feature_layer(inputs)
    pooled = keras.layers.GlobalAveragePooling1D()(features)
    outputs = keras.layers.Dense(3, kernel_initializer="glorot_uniform")(pooled)
    return keras.Model(inputs, [features, outputs])


@pytest.mark.parametrize("layer_type", [LogMelSpectrogram, MFCC])
def test_keras_file_round_trip(tmp_path, layer_type):
    model = _tiny_model(layer_type(num_mel_bins=20))
    waveforms = np.stack([_speech_like(16000, 0.3, seed) for seed in range(2)])
    path = tmp_path / "tiny.keras"

    model.save(path)
    reloaded = keras.models.load_model(path)

    for original, restored in zip(model(waveforms), reloaded(waveforms), strict=True):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())


def test_saved_model_export_matches_predict(tmp_path):
    model = _tiny_model(MFCC(num_mel_bins=20))
    path = str(tmp_path / "exported")

    model.export(path, format="tf_saved_model", verbose=False)
    # Keep the loaded object: `serve` alone does not keep its variables alive.
    reloaded = tf.saved_model.load(path)

    for seconds in (0.25, 0.6):  # one signature for every clip length
        waveforms = np.stack([_speech_like(16000, seconds, seed) for seed in range(2)])
        expected = model.predict(waveforms, verbose=0)
        exported = reloaded.serve(tf.constant(waveforms))
        for want, got in zip(expected, exported, strict=True):
            np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)


def test_mixed_precision_computes_in_float32():
    waveform = _speech_like(16000, 0.3)[None]
    reference = LogMelSpectrogram()(waveform).numpy()

    layer = LogMelSpectrogram(dtype="mixed_float16")
    output = layer(waveform)

    assert output.dtype == tf.float16
    assert layer.compute_dtype == "float16"
    # Only the final cast to float16 differs (features are normalized, |x| < ~5).
    np.testing.assert_allclose(output.numpy().astype(np.float32), reference, atol=5e-3)


def test_log_mel_statistics_per_utterance_ignore_padding():
    layer = LogMelSpectrogram(sample_rate=8000, num_mel_bins=20)
    rng = np.random.default_rng(0)
    short, long = rng.normal(size=3000).astype(np.float32), rng.normal(size=5000).astype(np.float32)
    batch = np.zeros((2, 5000), np.float32)
    batch[0, :3000], batch[1] = short, long
    features, frames = layer(tf.constant(batch), lengths=tf.constant([3000, 5000]))
    alone = layer(tf.constant(short[None]), lengths=tf.constant([3000]))[0]
    assert frames.numpy().tolist() == [layer.num_frames(3000), layer.num_frames(5000)]
    count = layer.num_frames(3000)
    np.testing.assert_allclose(features[0, :count], alone[0], atol=1e-4)
    assert np.all(features[0, count:].numpy() == 0)
    # Without lengths the layer behaves as it always has.
    np.testing.assert_allclose(layer(tf.constant(long[None]))[0], features[1], atol=1e-4)
