"""The reference a practitioner compares with: aeon's MiniRocket (Dempster et al., KDD 2021), the first thing
to try on a small labelled time-series dataset (a second on the CPU), trained on exactly the split and the
preprocessed series the FCN sees."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .data import Dataset

MINIROCKET_MIN_LENGTH = 9  # MiniRocket's kernels have length 9: shorter series are zero-padded to it


@dataclass
class BaselineResult:
    name: str
    accuracy: float | None  # on the dataset's test split (None without one)
    seconds: float  # fit + predict
    proba: np.ndarray | None = None  # test-split class probabilities (columns: the dataset's classes)


def _padded(X: np.ndarray) -> np.ndarray:
    """float64 (n, channels, length >= 9): a dataset's arrays are already z-normalised and zero-padded."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[-1] < MINIROCKET_MIN_LENGTH:
        X = np.pad(X, ((0, 0), (0, 0), (0, MINIROCKET_MIN_LENGTH - X.shape[-1])))
    return X


def minirocket(dataset: Dataset, seed: int = 0) -> BaselineResult:
    """aeon's MiniRocketClassifier (10,000 kernels, ridge classifier) on the dataset's training split, scored
    on its test split. Unequal lengths are zero-padded to the longest (as the FCN's batches are)."""
    from aeon.classification.convolution_based import MiniRocketClassifier  # aeon loads numba: seconds

    started = time.perf_counter()
    clf = MiniRocketClassifier(random_state=seed, n_jobs=1)
    clf.fit(_padded(dataset.X_train), np.asarray(dataset.y_train))
    accuracy = proba = None
    if dataset.X_test is not None:
        proba = np.zeros((len(dataset.y_test), dataset.n_classes))
        proba[:, clf.classes_.astype(int)] = clf.predict_proba(_padded(dataset.X_test))
        accuracy = float((proba.argmax(1) == dataset.y_test).mean())
    return BaselineResult("MiniRocket (aeon)", accuracy, time.perf_counter() - started, proba)
