"""A classical baseline for the FSDD benchmarks: MFCC statistics + an RBF support vector machine.

Each clip becomes one vector: 20 librosa MFCCs and their deltas at 8 kHz, with their mean and
standard deviation over time (80 numbers). A StandardScaler + SVC(RBF) pipeline is fitted
on train only, with C chosen from a small grid by stratified cross-validation on train.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import librosa
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from toolkit.audio.io import read_audio

SAMPLE_RATE = 8000
NUM_MFCC = 20
FFT_LENGTH = 256  # 32 ms at 8 kHz
HOP_LENGTH = 80  # 10 ms at 8 kHz
NUM_MEL_BINS = 40
DELTA_WIDTH = 9
C_GRID = (0.1, 1.0, 10.0, 100.0)
FOLDS = 5
SEED = 0

DESCRIPTION = (
    f"MFCC statistics + SVM: {NUM_MFCC} librosa MFCCs + deltas at {SAMPLE_RATE} Hz "
    f"({FFT_LENGTH}-point FFT, hop {HOP_LENGTH}, {NUM_MEL_BINS} mel bands), per-clip mean and "
    f"std; StandardScaler + SVC(RBF, gamma='scale'), C from {list(C_GRID)} by "
    f"{FOLDS}-fold stratified cross-validation on train only"
)


def clip_features(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mean and standard deviation over time of MFCCs and their deltas: one vector per clip."""
    mfcc = librosa.feature.mfcc(
        y=np.asarray(waveform, dtype=np.float32),
        sr=sample_rate,
        n_mfcc=NUM_MFCC,
        n_fft=FFT_LENGTH,
        hop_length=HOP_LENGTH,
        n_mels=NUM_MEL_BINS,
        fmax=sample_rate / 2,
    )
    frames = mfcc.shape[1]
    # The delta window must fit in the clip: the widest odd width up to DELTA_WIDTH.
    width = min(DELTA_WIDTH, frames if frames % 2 else frames - 1)
    delta = librosa.feature.delta(mfcc, width=width) if width >= 3 else np.zeros_like(mfcc)
    stacked = np.concatenate([mfcc, delta], axis=0)
    return np.concatenate([stacked.mean(axis=1), stacked.std(axis=1)]).astype(np.float32)


def features_for_paths(paths: Sequence[str]) -> tuple[np.ndarray, float]:
    """Feature vectors for audio files (read at 8 kHz, one at a time) and the seconds taken."""
    started = time.perf_counter()
    vectors = [clip_features(read_audio(path, SAMPLE_RATE)) for path in paths]
    return np.stack(vectors), time.perf_counter() - started


def fit_svm(features: np.ndarray, labels: Sequence[str]) -> tuple[GridSearchCV, float]:
    """Cross-validate C on the training features, refit on all of them; return it and seconds."""
    labels = np.asarray(labels)
    _, counts = np.unique(labels, return_counts=True)
    folds = max(2, min(FOLDS, int(counts.min())))
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SVC(kernel="rbf", gamma="scale")),
        {"svc__C": list(C_GRID)},
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED),
        scoring="accuracy",
        n_jobs=1,
    )
    started = time.perf_counter()
    search.fit(features, labels)
    return search, time.perf_counter() - started


def score(search: GridSearchCV, features: np.ndarray, labels: Sequence[str]) -> dict:
    labels = np.asarray(labels)
    predicted = search.predict(features)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "errors": int(np.sum(predicted != labels)),
        "examples": int(len(labels)),
        "best_C": float(search.best_params_["svc__C"]),
        "cv_accuracy": float(search.best_score_),
    }


def run_mfcc_svm(
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: dict[str, np.ndarray] | None = None,
) -> dict:
    """Fit on `train` and score on `test` (DataFrames with `audio` and `label` columns).

    `features` maps audio path to a precomputed vector (see `features_by_path`); without it
    the clips are read and featurised here and `feature_seconds` counts that time.
    """
    feature_seconds = 0.0
    if features is None:
        train_x, train_seconds = features_for_paths(list(train["audio"]))
        test_x, test_seconds = features_for_paths(list(test["audio"]))
        feature_seconds = train_seconds + test_seconds
    else:
        train_x = np.stack([features[path] for path in train["audio"]])
        test_x = np.stack([features[path] for path in test["audio"]])
    search, fit_seconds = fit_svm(train_x, list(train["label"]))
    result = score(search, test_x, list(test["label"]))
    result.update(
        fit_seconds=fit_seconds,
        feature_seconds=feature_seconds,
        train_examples=len(train),
    )
    return result


def features_by_path(paths: Sequence[str]) -> tuple[dict[str, np.ndarray], float]:
    """Feature vectors for many files at once, keyed by path, and the seconds taken."""
    unique = list(dict.fromkeys(paths))
    vectors, seconds = features_for_paths(unique)
    return dict(zip(unique, vectors, strict=True)), seconds
