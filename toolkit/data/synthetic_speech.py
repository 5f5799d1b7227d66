"""espeak-ng renderings of the label words mixed into a classification training split."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

log = logging.getLogger("toolkit")


def synthetic_speech_cache() -> Path:
    """Where rendered clips are kept between runs ($TOOLKIT_CACHE, else ~/.cache/toolkit)."""
    root = (
        os.environ.get("TOOLKIT_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "toolkit"
    )
    return Path(root) / "synthetic_speech"


def add_synthetic_speech(
    train: pd.DataFrame, labels: list[str], sample_rate: int, count: int, seed: int
) -> pd.DataFrame:
    """`train` with `count` renderings of each label that is a speakable word, when espeak-ng
    is installed (otherwise as it is, and the log says so)."""
    from toolkit.audio import tts

    if not tts.espeak_available():
        log.warning(
            "espeak-ng not found: training without synthetic speech (install espeak-ng to mix it in)"
        )
        return train
    # Rendered at the narrowest sample rate of the recordings, so synthetic clips carry no
    # high-frequency band the real ones lack (which a model would learn to tell them apart by).
    rate = int(min(sample_rate, train["file_rate"].min()))
    cache = synthetic_speech_cache() / f"{rate}hz-seed{seed}-{tts.rendering_settings_key()}"
    clips = tts.synthesize_label_clips(labels, cache, rate, count, seed=seed)
    if clips.empty:
        log.info("synthetic speech: no label is a speakable word; none mixed in")
        return train
    from toolkit.audio.io import audio_info

    clips = clips.assign(
        source=[f"synthetic {Path(p).name}" for p in clips["audio"]],
        duration=[audio_info(p).duration for p in clips["audio"]],
        file_rate=rate,
    )
    spoken = sorted(clips["label"].unique())
    log.info(
        "synthetic speech: mixed %d espeak-ng clips at %d Hz into training (%d per label for %s)",
        len(clips),
        rate,
        count,
        ", ".join(spoken),
    )
    return pd.concat([train, clips], ignore_index=True)
