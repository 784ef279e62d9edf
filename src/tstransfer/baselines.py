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
    seconds: float  # fit + predict, after numba's compilation
    proba: np.ndarray | None = None  # test-split class probabilities (columns: the dataset's classes)
    compile_seconds: float = 0.0  # numba's first-use compilation, timed apart (0 once compiled in this process)


def common_length(dataset: Dataset) -> int:
    """The one length MiniRocket sees for both splits: the longest series of either (a test file may be longer or
    shorter than the training file; aeon refuses a predict length other than the fit's), at least 9."""
    test = dataset.X_test.shape[-1] if dataset.X_test is not None else 0
    return max(dataset.X_train.shape[-1], test, MINIROCKET_MIN_LENGTH)


def _padded(X: np.ndarray, length: int) -> np.ndarray:
    """float64 (n, channels, `length`): a dataset's arrays are already z-normalised and zero-padded to their own
    longest series; padded here to the common length."""
    X = np.asarray(X, dtype=np.float64)
    return np.pad(X, ((0, 0), (0, 0), (0, length - X.shape[-1]))) if X.shape[-1] < length else X


def _warm_up(channels: int, seed: int) -> float:
    """Compile MiniRocket's numba kernels for this many channels on a tiny random set; returns the seconds it took.
    numba compiles on first use (about a minute on a small CPU): timed apart, the comparison is like for like."""
    from aeon.classification.convolution_based import MiniRocketClassifier

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((4, channels, 16)), np.array([0, 1, 0, 1])
    MiniRocketClassifier(random_state=seed, n_jobs=1).fit(X, y).predict_proba(X)
    return time.perf_counter() - started


def minirocket(dataset: Dataset, seed: int = 0) -> BaselineResult:
    """aeon's MiniRocketClassifier (10,000 kernels, ridge classifier) on the dataset's training split, scored
    on its test split. Both splits are zero-padded to one common length (as the FCN's batches are padded)."""
    from aeon.classification.convolution_based import MiniRocketClassifier  # aeon loads numba: seconds

    compile_seconds = _warm_up(dataset.in_channels, seed)
    length = common_length(dataset)
    started = time.perf_counter()
    clf = MiniRocketClassifier(random_state=seed, n_jobs=1)
    clf.fit(_padded(dataset.X_train, length), np.asarray(dataset.y_train))
    accuracy = proba = None
    if dataset.X_test is not None:
        proba = np.zeros((len(dataset.y_test), dataset.n_classes))
        proba[:, clf.classes_.astype(int)] = clf.predict_proba(_padded(dataset.X_test, length))
        accuracy = float((proba.argmax(1) == dataset.y_test).mean())
    return BaselineResult("MiniRocket (aeon)", accuracy, time.perf_counter() - started, proba, compile_seconds)
