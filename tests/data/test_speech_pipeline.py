"""Bucketed speech batches: the number per epoch is known in advance and exact."""

from __future__ import annotations

import numpy as np
import soundfile
import tensorflow as tf

from toolkit.config import SpeechAugmentConfig
from toolkit.data.speech_pipeline import (
    bucket_boundaries,
    bucketed_batches,
    recorded_lengths,
    speech_dataset,
)

RATE = 8000


def _clips(tmp_path, count: int = 23) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    paths, lengths = [], rng.integers(RATE // 4, 2 * RATE, size=count)
    for index, length in enumerate(lengths):
        path = tmp_path / f"{index}.wav"
        soundfile.write(path, rng.normal(0, 0.1, length).astype("float32"), RATE)
        paths.append(str(path))
    return paths, lengths


def test_batches_per_epoch_are_known_and_exact_with_speed_perturbation(tmp_path):
    paths, lengths = _clips(tmp_path)
    boundaries = bucket_boundaries(lengths, 4)
    augment = SpeechAugmentConfig(speed_factors=[0.9, 1.0, 1.1], gain_db_range=[-3.0, 3.0])
    dataset = speech_dataset(
        paths, [[1, 2]] * len(paths), RATE, 4, True, augment, boundaries=boundaries
    )
    expected = bucketed_batches(lengths, boundaries, 4)
    assert int(dataset.cardinality()) == expected
    # Two epochs with different speeds drawn: the count does not change, every clip comes once.
    for _ in range(2):
        sizes = [int(labels.shape[0]) for _, labels in dataset]
        assert len(sizes) == expected and sum(sizes) == len(paths)


def test_bucket_count():
    # Buckets [.., 10), [10, 20), [20, ..): 5, 1 and 3 lengths.
    lengths = [1, 2, 3, 4, 9, 10, 25, 30, 20]
    assert bucketed_batches(lengths, [10, 20], 2) == 3 + 1 + 2


def test_lengths_from_headers_at_the_model_rate(tmp_path):
    paths, lengths = _clips(tmp_path, 3)
    assert list(recorded_lengths(paths, RATE)) == list(lengths)
    assert list(recorded_lengths(paths, 2 * RATE)) == [2 * n for n in lengths]


def test_evaluation_batches_keep_their_order(tmp_path):
    paths, _ = _clips(tmp_path, 5)
    dataset = speech_dataset(paths, [[1]] * 5, RATE, 2, False)
    assert int(dataset.cardinality()) == 3
    assert isinstance(next(iter(dataset))[0]["waveforms"], tf.Tensor)
