"""Clips of "no keyword" for a classifier that will be slid over long recordings.

A classifier trained only on words names a word in every window it sees, silence and noise
included. `task.background_share` adds the class `_background_` to training and validation:
noise at levels from a quiet room's to a loud one's, bursts of noise that start or stop
within the clip, near-silence, and windows that hold only the first or last part of a
training word (where a sliding window enters or leaves a word).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.audio.augment import load_noise_bank
from toolkit.audio.io import read_audio, write_wav

log = logging.getLogger("toolkit")

BACKGROUND_LABEL = "_background_"
NOISE_DB_RANGE = (-70.0, -15.0)
QUIET_DB_RANGE = (-95.0, -70.0)
KINDS = ("noise", "burst", "quiet", "fragment")
BURST_SHARE = (0.1, 0.9)  # of the clip
# A fragment keeps at most this share of its word: too little to name the word.
FRAGMENT_SHARE = (0.1, 0.35)
SPEECH_FLOOR_DB = 30.0  # a word's extent: frames within this many dB of its loudest


def background_clips(
    words: pd.DataFrame,
    count: int,
    folder: Path,
    sample_rate: int,
    clip_samples: int,
    seed: int,
) -> pd.DataFrame:
    """Write `count` background clips (noise, noise bursts, near-silence, word fragments in
    equal parts)
    under `folder`; returns their manifest rows (audio, label, source, duration, file_rate).
    Fragments are cut from the `words` manifest's clips."""
    rng = np.random.default_rng(seed)
    noise = load_noise_bank(None, sample_rate, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        if kind == "burst":
            clip = burst(noise_crop(noise, clip_samples, rng), rng)
            clip = clip + level(noise_crop(noise, clip_samples, rng), rng.uniform(*QUIET_DB_RANGE))
        elif kind == "fragment" and len(words):
            clip = fragment(
                read_audio(words["audio"].iloc[rng.integers(len(words))], sample_rate),
                clip_samples,
                sample_rate,
                rng,
            )
            clip = clip + level(noise_crop(noise, clip_samples, rng), rng.uniform(*QUIET_DB_RANGE))
        else:
            decibels = NOISE_DB_RANGE if kind == "noise" else QUIET_DB_RANGE
            clip = level(noise_crop(noise, clip_samples, rng), rng.uniform(*decibels))
        path = folder / f"{index:05d}.wav"
        write_wav(path, np.clip(clip, -1.0, 1.0).astype(np.float32), sample_rate)
        rows.append(
            {
                "audio": str(path),
                "label": BACKGROUND_LABEL,
                "source": f"background {kind} {path.name}",
                "duration": clip_samples / sample_rate,
                "file_rate": sample_rate,
            }
        )
    return pd.DataFrame(rows)


def noise_crop(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    start = rng.integers(0, max(len(noise) - length, 1))
    return np.resize(noise[start : start + length], length)


def burst(noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A stretch of `noise` at a random level, somewhere in an otherwise empty clip."""
    length = int(len(noise) * rng.uniform(*BURST_SHARE))
    start = rng.integers(0, len(noise) - length + 1)
    clip = np.zeros_like(noise)
    clip[start : start + length] = level(
        noise[start : start + length], rng.uniform(*NOISE_DB_RANGE)
    )
    return clip


def level(signal: np.ndarray, decibels: float) -> np.ndarray:
    """`signal` (unit RMS) at `decibels` dBFS RMS."""
    return signal * 10.0 ** (decibels / 20.0)


def fragment(
    word: np.ndarray, clip_samples: int, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """The first or last part of the word in `word`, at the matching edge of a clip."""
    start, end = speech_extent(word, sample_rate)
    keep = max(1, int((end - start) * rng.uniform(*FRAGMENT_SHARE)))
    clip = np.zeros(clip_samples, np.float32)
    if rng.random() < 0.5:  # a window leaving the word: its start at the window's end
        piece = word[start : start + keep][:clip_samples]
        clip[clip_samples - len(piece) :] = piece
    else:  # a window entering the word: its end at the window's start
        piece = word[end - keep : end][-clip_samples:]
        clip[: len(piece)] = piece
    return clip


def speech_extent(word: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """First and last sample of the 10 ms frames within SPEECH_FLOOR_DB of the loudest."""
    frame = max(1, sample_rate // 100)
    frames = len(word) // frame
    if frames == 0:
        return 0, len(word)
    energy = np.mean(np.square(word[: frames * frame]).reshape(frames, frame), axis=1)
    decibels = 10.0 * np.log10(energy + 1e-12)
    loud = np.flatnonzero(decibels >= decibels.max() - SPEECH_FLOOR_DB)
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


def add_background(
    splits: dict[str, pd.DataFrame],
    share: float,
    run_dir: Path,
    sample_rate: int,
    clip_samples: int,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Training and validation with `share` x (their average class size) background clips
    each; the test split is left as it is."""
    extended = dict(splits)
    for offset, name in enumerate(("train", "valid")):
        if name not in splits:
            continue
        frame = splits[name]
        per_class = len(frame) / max(frame["label"].nunique(), 1)
        count = max(3, int(round(share * per_class)))
        clips = background_clips(
            frame,
            count,
            run_dir / "background" / name,
            sample_rate,
            clip_samples,
            seed + offset,
        )
        extended[name] = pd.concat([frame, clips], ignore_index=True)
        log.info("background: %d clips of %s added to %s", count, BACKGROUND_LABEL, name)
    return extended
