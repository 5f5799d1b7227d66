"""Keyword detection: a classifier slid over a recording with known keyword times."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from toolkit.detection import DetectionSettings, KeywordDetector
from toolkit.errors import ToolkitError

RATE = 1000
CLIP = 1000  # one-second windows
WORD = 400  # each keyword is a 0.4 s tone
TONES = {"low": 50.0, "high": 200.0}
LABELS = ["_background_", "high", "low"]


def tone_classifier(windows: tf.Tensor) -> tf.Tensor:
    """Probability of "low"/"high": the share of a whole word's tone that the window holds,
    measured by projecting it on the tone; the rest is background."""
    time = tf.range(CLIP, dtype=tf.float32) / RATE
    shares = []
    for label in ("high", "low"):
        phase = 2 * np.pi * TONES[label] * time
        real = tf.reduce_sum(windows * tf.cos(phase), axis=1)
        imaginary = tf.reduce_sum(windows * tf.sin(phase), axis=1)
        shares.append(tf.minimum(tf.sqrt(real**2 + imaginary**2) / (0.5 * WORD), 1.0))
    high, low = shares
    background = tf.maximum(1.0 - high - low, 0.0)
    return tf.stack([background, high, low], axis=1)


def recording(words: list[tuple[str, float]], seconds: float, seed: int = 0) -> np.ndarray:
    """Tones at the given start times (seconds) over faint noise."""
    rng = np.random.default_rng(seed)
    audio = 0.002 * rng.normal(size=int(seconds * RATE))
    for label, start in words:
        first = int(start * RATE)
        time = np.arange(first, first + WORD) / RATE
        audio[first : first + WORD] += np.sin(2 * np.pi * TONES[label] * time)
    return audio.astype(np.float32)


def detector(**settings) -> KeywordDetector:
    return KeywordDetector(tone_classifier, LABELS, RATE, CLIP, DetectionSettings(**settings))


def table(found: dict) -> list[tuple[str, float, float, float]]:
    return [
        (keyword.decode(), float(start), float(end), float(score))
        for keyword, start, end, score in zip(
            found["keywords"].numpy(),
            found["starts"].numpy(),
            found["ends"].numpy(),
            found["scores"].numpy(),
            strict=True,
        )
    ]


WORDS = [("low", 1.5), ("high", 4.2), ("low", 6.0), ("high", 9.35)]


@pytest.mark.parametrize("smoothing_ms", [0.0, 300.0])
def test_every_keyword_is_found_at_its_time(smoothing_ms: float):
    found = table(
        detector(hop_ms=50.0, smoothing_ms=smoothing_ms, threshold=0.9).detect(
            recording(WORDS, 12.0)
        )
    )
    assert [keyword for keyword, *_ in found] == [label for label, _ in WORDS]
    # The start and end are those of the tone itself (10 ms frames), not of the windows.
    for (label, start), (_, found_start, found_end, score) in zip(WORDS, found, strict=True):
        assert abs(found_start - start) <= 0.011, (label, start, found_start)
        assert abs(found_end - (start + WORD / RATE)) <= 0.011, (label, start, found_end)
        assert 0.9 <= score <= 1.0


def test_silence_and_background_give_no_detection():
    assert table(detector().detect(np.zeros(5 * RATE, np.float32))) == []
    assert table(detector().detect(recording([], 5.0))) == []


def test_a_stream_in_chunks_of_any_size_finds_what_the_whole_recording_holds():
    audio = recording(WORDS, 12.0, seed=1)
    keywords = detector(hop_ms=100.0, smoothing_ms=300.0, threshold=0.8)
    whole = table(keywords.detect(audio))
    process = tf.function(keywords.process, reduce_retracing=True)
    state, position = tf.constant(keywords.initial_state()), tf.constant(0, tf.int64)
    stream = np.concatenate([audio, np.zeros(keywords.flush_samples(), np.float32)])
    rng = np.random.default_rng(3)
    found, offset = [], 0
    while offset < len(stream):
        size = int(rng.integers(0, 450))  # empty chunks and chunks shorter than a hop too
        result = process(tf.constant(stream[offset : offset + size]), state, position)
        state, position = result["state"], result["position"]
        found += table(result)
        offset += size
    assert len(found) == len(whole) == len(WORDS)
    for streamed, entire in zip(found, whole, strict=True):
        assert streamed[0] == entire[0]
        assert streamed[1:] == pytest.approx(entire[1:], abs=1e-5)


def test_a_threshold_above_every_score_detects_nothing():
    quiet = recording([("low", 1.0)], 3.0) * 0.3  # a third of the tone's share at most
    assert table(detector(threshold=0.9).detect(quiet)) == []
    assert [row[0] for row in table(detector(threshold=0.2).detect(quiet))] == ["low"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hop_ms": 0.0}, "hop 0 ms"),
        ({"hop_ms": 1500.0}, "at most the clip"),
        ({"smoothing_ms": -1.0}, "smoothing"),
        ({"threshold": 1.0}, "threshold"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ToolkitError, match=message):
        detector(**settings)


def test_a_model_without_keywords_is_refused():
    with pytest.raises(ToolkitError, match="none is a keyword"):
        KeywordDetector(
            tone_classifier, ["_silence_", "_unknown_", "noise"], RATE, CLIP, DetectionSettings()
        )


def test_a_short_pause_inside_a_word_is_bridged_and_a_long_one_is_not():
    audio = recording([], 6.0)
    time = np.arange(WORD) / RATE
    tone = np.sin(2 * np.pi * TONES["low"] * time).astype(np.float32)
    for start, pause in ((1.0, 0.06), (4.0, 0.3)):
        first = int(start * RATE)
        audio[first : first + WORD // 2] += tone[: WORD // 2]
        second = first + WORD // 2 + int(pause * RATE)
        audio[second : second + WORD // 2] += tone[WORD // 2 :]
    found = table(detector(threshold=0.9).detect(audio))
    assert [keyword for keyword, *_ in found] == ["low", "low"]
    (_, start, end, _), (_, paused_start, paused_end, _) = found
    assert abs(start - 1.0) <= 0.011 and abs(end - 1.46) <= 0.011
    # Across 300 ms of silence the extent keeps to one half: the louder frame's side.
    assert paused_end - paused_start == pytest.approx(0.2, abs=0.011)


def test_a_word_the_windows_waver_on_is_one_detection_named_by_its_best_average():
    audio = recording([], 4.0)
    time = np.arange(WORD // 2) / RATE
    first = int(1.5 * RATE)
    audio[first : first + WORD // 2] += np.sin(2 * np.pi * TONES["low"] * time)
    audio[first + WORD // 2 : first + WORD] += 0.8 * np.sin(2 * np.pi * TONES["high"] * time)
    found = table(detector(smoothing_ms=0.0, threshold=0.3).detect(audio))
    assert [row[0] for row in found] == ["low"]
    assert found[0][1] == pytest.approx(1.5, abs=0.011)
    assert found[0][2] == pytest.approx(1.9, abs=0.011)
