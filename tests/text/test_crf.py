"""Linear-chain CRF: exactness against brute-force enumeration, graph mode, the layer and its loss."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.text.crf import (
    CRF,
    CRFLoss,
    crf_log_likelihood,
    crf_viterbi_decode,
)

NUM_TAGS = 3
LENGTHS = np.array([1, 4, 2, 3, 4, 1], dtype=np.int32)
MAX_TIME = 4


def random_problem(seed: int = 0) -> dict[str, np.ndarray]:
    """Random scores for a batch of mixed lengths; padding holds NaN, inf and out-of-range tags."""
    rng = np.random.default_rng(seed)
    batch = len(LENGTHS)
    potentials = rng.normal(size=(batch, MAX_TIME, NUM_TAGS)).astype(np.float32)
    tags = rng.integers(0, NUM_TAGS, size=(batch, MAX_TIME)).astype(np.int32)
    padding = np.arange(MAX_TIME)[None, :] >= LENGTHS[:, None]
    potentials[padding] = np.array([np.nan, np.inf, -1e30], dtype=np.float32)
    tags[padding] = np.where(rng.random(padding.sum()) < 0.5, -1, 99)
    return {
        "potentials": potentials,
        "tags": tags,
        "lengths": LENGTHS,
        "transitions": rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype(np.float32),
        "start_transitions": rng.normal(size=NUM_TAGS).astype(np.float32),
        "end_transitions": rng.normal(size=NUM_TAGS).astype(np.float32),
    }


def weights(problem: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return problem["transitions"], problem["start_transitions"], problem["end_transitions"]


def brute_force_score(problem: dict[str, np.ndarray], row: int, tags: tuple[int, ...]) -> float:
    potentials = problem["potentials"][row].astype(np.float64)
    score = problem["start_transitions"][tags[0]] + problem["end_transitions"][tags[-1]]
    score += sum(potentials[t, tag] for t, tag in enumerate(tags))
    score += sum(problem["transitions"][a, b] for a, b in itertools.pairwise(tags))
    return float(score)


def all_scores(problem: dict[str, np.ndarray], row: int) -> dict[tuple[int, ...], float]:
    length = int(problem["lengths"][row])
    return {
        tags: brute_force_score(problem, row, tags)
        for tags in itertools.product(range(NUM_TAGS), repeat=length)
    }


def test_log_likelihood_matches_brute_force() -> None:
    problem = random_problem()
    result = crf_log_likelihood(
        problem["potentials"], problem["tags"], problem["lengths"], *weights(problem)
    ).numpy()
    assert result.dtype == np.float32
    for row, length in enumerate(LENGTHS):
        scores = all_scores(problem, row)
        log_partition = np.logaddexp.reduce(np.array(list(scores.values())))
        expected = scores[tuple(problem["tags"][row, :length])] - log_partition
        np.testing.assert_allclose(result[row], expected, rtol=1e-5, atol=1e-5)


def test_probabilities_over_all_sequences_sum_to_one() -> None:
    problem = random_problem(seed=1)
    for row, length in enumerate(LENGTHS):
        every_sequence = np.array(list(itertools.product(range(NUM_TAGS), repeat=length)))
        count = len(every_sequence)
        garbage = np.full((count, MAX_TIME - length), -1, dtype=np.int32)
        log_likelihood = crf_log_likelihood(
            np.repeat(problem["potentials"][row : row + 1], count, axis=0),
            np.concatenate([every_sequence, garbage], axis=1),
            np.full(count, length),
            *weights(problem),
        )
        np.testing.assert_allclose(np.exp(log_likelihood.numpy()).sum(), 1.0, rtol=1e-5)


def test_viterbi_matches_brute_force_argmax() -> None:
    problem = random_problem(seed=2)
    tags, best_scores = crf_viterbi_decode(
        problem["potentials"], problem["lengths"], *weights(problem)
    )
    assert tags.dtype == tf.int32 and tags.shape == (len(LENGTHS), MAX_TIME)
    for row, length in enumerate(LENGTHS):
        scores = all_scores(problem, row)
        best = max(scores, key=scores.get)
        assert tuple(tags.numpy()[row, :length]) == best
        assert not tags.numpy()[row, length:].any()
        np.testing.assert_allclose(best_scores.numpy()[row], scores[best], rtol=1e-5, atol=1e-5)


def test_padding_gets_zero_gradient_and_large_scores_stay_finite() -> None:
    problem = random_problem(seed=3)
    potentials = tf.constant(problem["potentials"])
    # Scores far outside exp's float32 range: only logsumexp keeps these finite.
    scale = tf.constant(200.0)
    with tf.GradientTape() as tape:
        tape.watch(potentials)
        log_likelihood = crf_log_likelihood(
            potentials * scale, problem["tags"], problem["lengths"], *weights(problem)
        )
    gradient = tape.gradient(log_likelihood, potentials).numpy()
    assert np.isfinite(log_likelihood.numpy()).all()
    assert np.all(log_likelihood.numpy() <= 1e-3)
    padding = np.arange(MAX_TIME)[None, :] >= LENGTHS[:, None]
    assert np.isfinite(gradient).all() and not gradient[padding].any()


def test_float16_potentials_are_computed_in_float32() -> None:
    problem = random_problem(seed=4)
    half = tf.cast(
        tf.where(tf.math.is_finite(problem["potentials"]), problem["potentials"], 0), tf.float16
    )
    log_likelihood = crf_log_likelihood(
        half, problem["tags"], problem["lengths"], *weights(problem)
    )
    _, best_scores = crf_viterbi_decode(half, problem["lengths"], *weights(problem))
    assert log_likelihood.dtype == tf.float32 and best_scores.dtype == tf.float32


def test_graph_mode_with_dynamic_time() -> None:
    potential_spec = tf.TensorSpec([None, None, NUM_TAGS], tf.float32)
    tag_spec = tf.TensorSpec([None, None], tf.int32)
    length_spec = tf.TensorSpec([None], tf.int32)
    problem = random_problem(seed=5)

    @tf.function(input_signature=[potential_spec, tag_spec, length_spec])
    def log_likelihood(potentials, tags, lengths):
        return crf_log_likelihood(potentials, tags, lengths, *weights(problem))

    @tf.function(input_signature=[potential_spec, length_spec])
    def decode(potentials, lengths):
        return crf_viterbi_decode(potentials, lengths, *weights(problem))

    for time in (1, MAX_TIME):
        potentials = problem["potentials"][:, :time]
        tags = problem["tags"][:, :time]
        lengths = np.minimum(LENGTHS, time)
        eager = crf_log_likelihood(potentials, tags, lengths, *weights(problem))
        np.testing.assert_allclose(log_likelihood(potentials, tags, lengths), eager, rtol=1e-6)
        graph_tags, graph_scores = decode(potentials, lengths)
        eager_tags, eager_scores = crf_viterbi_decode(potentials, lengths, *weights(problem))
        np.testing.assert_array_equal(graph_tags, eager_tags)
        np.testing.assert_allclose(graph_scores, eager_scores, rtol=1e-6)


def test_layer_config_round_trip_and_validation() -> None:
    layer = CRF(5, name="tagger")
    restored = CRF.from_config(layer.get_config())
    assert restored.num_tags == 5 and restored.name == "tagger"
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match=repr(bad)):
            CRF(bad)
    with pytest.raises(ValueError, match="last axis is 4"):
        CRF(3)(np.zeros((1, 2, 4), np.float32))


def test_layer_returns_potentials_and_uses_its_weights() -> None:
    problem = random_problem(seed=6)
    layer = CRF(NUM_TAGS)
    finite = np.nan_to_num(problem["potentials"], posinf=0.0, neginf=0.0, nan=0.0)
    np.testing.assert_array_equal(layer(finite), finite)
    for variable, value in zip(
        (layer.transitions, layer.start_transitions, layer.end_transitions),
        weights(problem),
        strict=True,
    ):
        variable.assign(value)
    expected = crf_log_likelihood(finite, problem["tags"], LENGTHS, *weights(problem))
    np.testing.assert_allclose(layer.log_likelihood(finite, problem["tags"], LENGTHS), expected)
    labels = np.where(np.arange(MAX_TIME)[None, :] < LENGTHS[:, None], problem["tags"], -1)
    np.testing.assert_allclose(CRFLoss(layer)(labels, finite), -np.mean(expected), rtol=1e-6)


def toy_tagging_data(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tags cycle 0 → 1 → 2 → 0; the first token names the first tag, every later token is the
    same uninformative id 3, so only the transition scores can tag past position 0."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((count, 6), np.int32)
    labels = np.full((count, 6), -1, np.int32)
    for row in range(count):
        length = rng.integers(2, 7)
        first = rng.integers(0, NUM_TAGS)
        tokens[row, 0], tokens[row, 1:length] = first + 4, 3
        labels[row, :length] = (first + np.arange(length)) % NUM_TAGS
    return tokens, labels


def test_fit_trains_transitions_and_keras_file_round_trip(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    tokens, labels = toy_tagging_data(64)
    crf = CRF(NUM_TAGS)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(8, 8),
            keras.layers.Dense(NUM_TAGS),
            crf,
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=CRFLoss(crf))
    before = crf.transitions.numpy().copy()
    history = model.fit(tokens, labels, batch_size=32, epochs=20, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert not np.allclose(crf.transitions.numpy(), before)

    lengths = (labels >= 0).sum(axis=1)
    decoded, _ = crf.decode(model(tokens), lengths)
    labelled = labels >= 0
    assert np.mean(decoded.numpy()[labelled] == labels[labelled]) > 0.95

    path = tmp_path / "tagger.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    restored_crf = restored.layers[-1]
    assert isinstance(restored_crf, CRF)
    np.testing.assert_array_equal(restored_crf.transitions.numpy(), crf.transitions.numpy())
    restored_tags, _ = restored_crf.decode(restored(tokens), lengths)
    np.testing.assert_array_equal(restored_tags, decoded)
    # The restored loss has no layer to read transitions from, and says so.
    with pytest.raises(RuntimeError, match="compile the model again"):
        restored.loss(labels, restored(tokens))
