"""espeak-ng synthesis, spoken forms of labels, and the shipped tts_digits dataset."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from tests.tiny_data import REPO
from toolkit.audio import tts
from toolkit.errors import DataError

ASSETS = REPO / "assets" / "tts_digits"
needs_espeak = pytest.mark.skipif(not tts.espeak_available(), reason="espeak-ng is not installed")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("0", "zero"),
        ("7", "seven"),
        ("yes", "yes"),
        ("turn_on", "turn on"),
        ("Turn-Off", "turn off"),
        ("UP", "up"),
        ("lights  off", "lights off"),
        ("don't", "don't"),
        ("10", None),
        ("go2", None),
        ("a1", None),
        ("_silence_", None),
        ("silence", None),
        ("_unknown_", None),
        ("Unknown", None),
        ("background", None),
        ("_background_noise_", None),
        ("noise", None),
        ("other", None),
        ("none", None),
        ("filler", None),
        ("_anything", None),
        ("", None),
        ("yes!", None),
    ],
)
def test_spoken_form(label: str, expected: str | None) -> None:
    assert tts.spoken_form(label) == expected


def test_trim_silence_keeps_a_margin_around_the_sound() -> None:
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate)
    audio = np.concatenate([np.zeros(rate), tone, np.zeros(rate)]).astype(np.float32)
    trimmed = tts.trim_silence(audio, rate)
    margin = int(0.03 * rate)
    assert len(tone) <= len(trimmed) <= len(tone) + 2 * margin + 2 * rate // 100
    assert np.abs(trimmed).max() == pytest.approx(np.abs(tone).max())
    silence = np.zeros(100, dtype=np.float32)
    assert len(tts.trim_silence(silence, rate)) == 100


def test_choose_renderings_is_seeded_and_in_range() -> None:
    first = tts.choose_renderings(20, seed=3)
    assert first == tts.choose_renderings(20, seed=3)
    assert first != tts.choose_renderings(20, seed=4)
    for choice in first:
        assert choice.voice in tts.VOICES
        assert tts.RATE_RANGE[0] <= choice.rate <= tts.RATE_RANGE[1]
        assert tts.PITCH_RANGE[0] <= choice.pitch <= tts.PITCH_RANGE[1]


def test_the_cache_key_changes_with_the_voices() -> None:
    assert tts.rendering_settings_key() == tts.rendering_settings_key(tts.VOICES)
    assert tts.rendering_settings_key(tts.VOICES[:3]) != tts.rendering_settings_key()
    assert len(tts.rendering_settings_key()) == 8


def test_synthesize_without_espeak_raises_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    assert not tts.espeak_available()
    with pytest.raises(DataError, match="espeak-ng"):
        tts.synthesize("yes", 16000)


@needs_espeak
def test_synthesize_produces_speech_at_the_requested_rate() -> None:
    wide = tts.synthesize("seven", 16000)
    narrow = tts.synthesize("seven", 8000)
    assert wide.dtype == np.float32 and wide.ndim == 1
    assert 0.2 < len(wide) / 16000 < 1.5
    assert len(wide) / len(narrow) == pytest.approx(2.0, rel=0.05)
    assert np.sqrt(np.mean(wide**2)) > 0.01
    assert np.abs(wide).max() <= 1.0


@needs_espeak
def test_synthesize_reports_an_unusable_voice() -> None:
    with pytest.raises(RuntimeError, match="nonexistent"):
        tts.synthesize("yes", 16000, voice="nonexistent")


@needs_espeak
def test_every_listed_voice_speaks() -> None:
    for voice in tts.VOICES:
        audio = tts.synthesize("go", 8000, voice=voice)
        assert len(audio) > 800 and np.abs(audio).max() > 0.01, voice


@needs_espeak
def test_render_variants_is_deterministic() -> None:
    first = tts.render_variants("stop", 16000, count=3, seed=1)
    second = tts.render_variants("stop", 16000, count=3, seed=1)
    assert len(first) == 3
    for one, two in zip(first, second, strict=True):
        np.testing.assert_array_equal(one, two)


@needs_espeak
def test_synthesize_label_clips_writes_word_labels_only(tmp_path: Path) -> None:
    labels = ["yes", "turn_on", "3", "_silence_", "_unknown_", "go2"]
    manifest = tts.synthesize_label_clips(labels, tmp_path / "tts", 16000, clips_per_label=2)
    assert list(manifest.columns) == ["audio", "label", "speaker"]
    assert manifest["label"].value_counts().to_dict() == {"yes": 2, "turn_on": 2, "3": 2}
    assert sorted(p.name for p in (tmp_path / "tts").iterdir()) == ["3", "turn_on", "yes"]
    for path, label, speaker in manifest.itertuples(index=False):
        path = Path(path)
        assert path.is_absolute() and path.parent.name == label and path.name.startswith("tts_")
        info = soundfile.info(path)
        assert info.samplerate == 16000 and info.subtype == "PCM_16" and info.channels == 1
        assert speaker.startswith("tts:") and speaker[4:] in tts.VOICES
    # A label's clips depend only on the seed and the label, not on the other labels.
    alone = tts.synthesize_label_clips(["turn_on"], tmp_path / "alone", 16000, clips_per_label=2)
    assert list(alone["speaker"]) == list(manifest.loc[manifest["label"] == "turn_on", "speaker"])


def test_runs_sharing_the_clip_cache_can_render_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_synthesize(text: str, sample_rate: int, **options) -> np.ndarray:
        time.sleep(0.05)  # both writers find the clip missing before either finishes it
        return np.full(sample_rate // 10, 0.1, dtype=np.float32)

    monkeypatch.setattr(tts, "synthesize", slow_synthesize)
    with ThreadPoolExecutor(max_workers=3) as pool:
        manifests = list(
            pool.map(
                lambda _: tts.synthesize_label_clips(["yes"], tmp_path, 8000, clips_per_label=2),
                range(3),
            )
        )
    assert all(len(manifest) == 2 for manifest in manifests)
    assert sorted(path.name for path in (tmp_path / "yes").iterdir()) == ["tts_0.wav", "tts_1.wav"]


def test_shipped_tts_digits_manifests() -> None:
    splits = {split: pd.read_csv(ASSETS / f"{split}.csv", dtype=str) for split in ("train", "test")}
    for split, manifest in splits.items():
        assert list(manifest.columns) == ["audio", "label", "speaker"]
        assert sorted(manifest["label"].unique()) == [str(digit) for digit in range(10)]
        counts = manifest["label"].value_counts()
        assert counts.nunique() == 1, f"{split} is not balanced"
        for relative, label in zip(manifest["audio"], manifest["label"], strict=True):
            assert not Path(relative).is_absolute()
            assert (ASSETS / relative).is_file(), relative
            assert Path(relative).parts[:2] == (split, label)
    assert splits["train"]["label"].value_counts().iloc[0] >= 30
    assert splits["test"]["label"].value_counts().iloc[0] >= 8
    assert not set(splits["train"]["speaker"]) & set(splits["test"]["speaker"])
    info = soundfile.info(ASSETS / splits["test"]["audio"].iloc[0])
    assert info.samplerate == 16000 and info.channels == 1 and info.format == "FLAC"


needs_flite = pytest.mark.skipif(not tts.flite_available(), reason="needs flite")


@needs_flite
def test_every_flite_voice_speaks_at_the_rate_and_pitch_asked() -> None:
    for voice in tts.FLITE_VOICES:
        slow = tts.synthesize("seven", 16000, voice=voice, rate=120, amplitude=70)
        fast = tts.synthesize("seven", 16000, voice=voice, rate=220, amplitude=70)
        assert slow.dtype == np.float32 and np.abs(slow).max() == pytest.approx(0.63, abs=0.01)
        # Flite's duration stretch follows the words-per-minute scale.
        assert len(slow) > 1.4 * len(fast), voice


@needs_flite
def test_an_unknown_flite_voice_is_named() -> None:
    with pytest.raises(RuntimeError, match="flite:nobody"):
        tts.synthesize("yes", 16000, voice="flite:nobody")


def test_synthesize_flite_without_flite_raises_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="apt-get install flite"):
        tts.synthesize("yes", 16000, voice="flite:slt")
