import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from toolkit.baselines import linear


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def blobs(classes: int, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    centres = np.random.default_rng(99).normal(size=(classes, 5)) * 2
    return centres[labels] + rng.normal(size=(rows, 5)), labels


@pytest.mark.parametrize("classes", [2, 4])
def test_the_dense_weights_give_scikit_learn_s_probabilities(classes):
    train_x, train_y = blobs(classes, 300, 0)
    valid_x, valid_y = blobs(classes, 100, 1)
    fitted = linear.fit_logistic_regression(train_x, train_y, valid_x, valid_y, classes=classes)
    reference = LogisticRegression(C=fitted.C, max_iter=2000).fit(train_x, train_y)
    ours = softmax(valid_x @ fitted.kernel + fitted.bias)
    np.testing.assert_allclose(ours, reference.predict_proba(valid_x), atol=1e-4)
    assert fitted.valid_score == pytest.approx(np.mean(ours.argmax(axis=1) == valid_y))


def test_c_is_the_one_that_scores_best_on_validation():
    train_x, train_y = blobs(3, 200, 2)
    valid_x, valid_y = blobs(3, 80, 3)
    fitted = linear.fit_logistic_regression(train_x, train_y, valid_x, valid_y, classes=3)
    scores = {
        C: np.mean(
            LogisticRegression(C=C, max_iter=2000).fit(train_x, train_y).predict(valid_x) == valid_y
        )
        for C in linear.C_GRID
    }
    assert fitted.valid_score == pytest.approx(max(scores.values()))
    # The first C reaching the best score: ties keep the stronger regularisation.
    assert fitted.C == next(C for C in linear.C_GRID if scores[C] == max(scores.values()))


def test_a_class_missing_from_training_is_never_predicted():
    train_x, train_y = blobs(2, 100, 4)
    fitted = linear.fit_logistic_regression(train_x, train_y, train_x, train_y, classes=3)
    assert (softmax(train_x @ fitted.kernel + fitted.bias)[:, 2] < 1e-6).all()


def test_one_class_in_training_is_always_the_answer():
    train_x = np.random.default_rng(0).normal(size=(20, 3))
    fitted = linear.fit_logistic_regression(
        train_x, np.ones(20, int), train_x, np.ones(20, int), classes=2
    )
    assert (softmax(train_x @ fitted.kernel + fitted.bias).argmax(axis=1) == 1).all()


def test_multi_label_fits_one_model_per_label_and_keeps_constant_labels():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 4))
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0, np.ones(200, bool)], axis=1).astype(np.float32)
    fitted = linear.fit_logistic_regression(x, y, x, y, classes=3, multi_label=True)
    predicted = (x @ fitted.kernel + fitted.bias) > 0
    assert (predicted == y.astype(bool)).mean(axis=0)[:2].min() > 0.95
    assert predicted[:, 2].all()
    assert fitted.valid_score > 0.95
