"""Background clips for a classifier that will be slid over long recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.tiny_data import ASSETS
from toolkit.audio.io import read_audio
from toolkit.data.background_clips import (
    BACKGROUND_LABEL,
    add_background,
    fragment,
    speech_extent,
)


def words() -> pd.DataFrame:
    table = pd.read_csv(ASSETS / "train.csv")
    return table.assign(audio=[str(ASSETS / path) for path in table["audio"]])


def test_training_and_validation_get_the_share_of_an_average_class(tmp_path: Path):
    train, valid, test = words(), words().head(12), words().head(6)
    splits = {"train": train, "valid": valid, "test": test}
    extended = add_background(splits, 0.5, tmp_path, 16000, 16000, seed=0)
    per_class = len(train) / train["label"].nunique()
    added = extended["train"][extended["train"]["label"] == BACKGROUND_LABEL]
    assert len(added) == round(0.5 * per_class)
    assert (extended["valid"]["label"] == BACKGROUND_LABEL).sum() >= 3
    assert extended["test"] is test
    kinds = {source.split()[1] for source in added["source"]}
    assert kinds == {"noise", "burst", "quiet", "fragment"}
    for path in added["audio"]:
        clip = read_audio(path, 16000)
        assert len(clip) == 16000 and np.isfinite(clip).all()


def test_a_fragment_holds_only_part_of_its_word_at_an_edge_of_the_clip():
    word = read_audio(words()["audio"].iloc[0], 16000)
    start, end = speech_extent(word, 16000)
    rng = np.random.default_rng(0)
    for _ in range(20):
        clip = fragment(word, 16000, 16000, rng)
        audible = np.flatnonzero(np.abs(clip) > 0)
        assert 0 < len(audible) <= 0.35 * (end - start) + 1
        assert audible[0] < 100 or audible[-1] > len(clip) - 100
