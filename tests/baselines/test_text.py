import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from toolkit.baselines.text import TfIdf, fit_text_baseline, sparse_rows
from toolkit.text.tokenizers import WordTokenizer

TEXTS = [
    "a good film , a good cast",
    "bad film",
    "good",
    "bad bad bad acting",
    "the cast was good but the film was bad",
]


def test_tf_idf_weights_as_scikit_learn_does_with_sublinear_counts():
    tokenizer = WordTokenizer(max_tokens=100, output_mode="count", ngrams=2)
    tokenizer.adapt(TEXTS)
    layer = TfIdf(100)
    layer.build((None, 100))
    counts = sparse_rows(tokenizer, np.array(TEXTS))
    frequency = np.bincount(counts.indices, minlength=100)
    layer.idf.assign(np.log((1.0 + len(TEXTS)) / (1.0 + frequency)) + 1.0)
    ours = sparse_rows(lambda t: layer(tokenizer(t)), np.array(TEXTS)).toarray()

    # Column 0 counts tokens outside the vocabulary: none in the texts it was learnt from.
    vocabulary = tokenizer.vocabulary()[1:]
    reference = TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 2),
        token_pattern=r"[^ ]+",
        vocabulary={token: i for i, token in enumerate(vocabulary)},
    ).fit_transform(TEXTS)
    assert not ours[:, 0].any()
    np.testing.assert_allclose(ours[:, 1 : 1 + len(vocabulary)], reference.toarray(), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_tf_idf_config_round_trips():
    layer = TfIdf(7, name="weights")
    assert TfIdf.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="size"):
        TfIdf(0)


def reviews(count: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    words = {0: ["dull", "awful", "weak"], 1: ["great", "fine", "lovely"], 2: ["odd", "mixed"]}
    ids = rng.integers(0, 3, count)
    texts = [
        " ".join([*rng.choice(words[i], 2), *rng.choice(["the", "film", "plot", "cast"], 4)])
        for i in ids
    ]
    return pd.DataFrame({"text": texts}), ids.astype(np.int32)


def test_the_keras_baseline_gives_the_logistic_regression_s_probabilities(tmp_path):
    train, train_ids = reviews(150, 0)
    valid, valid_ids = reviews(60, 1)
    model = fit_text_baseline(
        train=train,
        valid=valid,
        train_targets=train_ids,
        valid_targets=valid_ids,
        classes=3,
        multi_label=False,
    )
    texts = valid["text"].to_numpy()
    probabilities = np.asarray(model(tf.constant(texts.astype(str))))
    weighted = lambda t: model.get_layer("tf_idf")(model.get_layer("tokenizer")(t))  # noqa: E731
    train_x, valid_x = sparse_rows(weighted, train["text"].to_numpy()), sparse_rows(weighted, texts)
    scores = {
        C: LogisticRegression(C=C, max_iter=2000).fit(train_x, train_ids).score(valid_x, valid_ids)
        for C in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    }
    best = next(C for C, score in scores.items() if score == max(scores.values()))
    reference = LogisticRegression(C=best, max_iter=2000).fit(train_x, train_ids)
    np.testing.assert_allclose(probabilities, reference.predict_proba(valid_x), atol=1e-4)

    path = tmp_path / "baseline.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(tf.constant(texts.astype(str)))), probabilities)
