"""MiniRocket as the practitioner's reference: trained on the FCN's own split, seeded, any length."""

from __future__ import annotations

import numpy as np
import pytest

from tstransfer.baselines import minirocket
from tstransfer.data import Dataset, load_dataset


def test_minirocket_on_a_real_dataset_is_accurate_and_seeded(mini_archive):
    dataset = load_dataset("GunPoint", mini_archive)
    first, again = minirocket(dataset, seed=0), minirocket(dataset, seed=0)
    assert first.accuracy >= 0.9  # GunPoint: MiniRocket's published accuracy is ~1.0
    np.testing.assert_array_equal(first.proba, again.proba)
    assert first.proba.shape == (len(dataset.y_test), 2)
    np.testing.assert_allclose(first.proba.sum(1), 1.0)


def test_series_shorter_than_a_kernel_and_a_class_missing_from_the_test_split():
    rng = np.random.default_rng(0)
    y = np.arange(30) % 3
    X = (rng.standard_normal((30, 1, 5)) + y[:, None, None]).astype(np.float32)
    test = y[y < 2][:10]  # class 2 never appears in the test split: its probability column stays
    dataset = Dataset("short", X, y, np.full(30, 5), X[y < 2][:10], test, np.full(10, 5), ["a", "b", "c"])
    result = minirocket(dataset)
    assert result.proba.shape == (10, 3) and result.accuracy == pytest.approx((result.proba.argmax(1) == test).mean())


def test_without_a_test_split_there_is_no_accuracy():
    rng = np.random.default_rng(1)
    y = np.arange(20) % 2
    X = rng.standard_normal((20, 1, 30)).astype(np.float32)
    result = minirocket(Dataset("train only", X, y, np.full(20, 30), None, None, None, ["a", "b"]))
    assert result.accuracy is None and result.proba is None and result.seconds > 0
