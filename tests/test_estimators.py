"""The scikit-learn estimators: the estimator checks that apply, Pipeline / cross_val_score / clone, any
label type, (n, C, L) input, and TransferClassifier on a real dataset outside the zoo."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from tstransfer import FCNClassifier, TransferClassifier
from tstransfer.data import MINI_ARCHIVE, load_dataset

# Checks that cannot apply to a time-series classifier, with the reason.
NOT_APPLICABLE = {
    "check_classifiers_train": "it expects >83% accuracy on 2-4-feature blobs; each row is z-normalised as a "
                               "time series, which removes what separates the blobs",
}


def _run_checks(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, expected_failed_checks=NOT_APPLICABLE)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) > 40


def test_fcn_classifier_passes_sklearn_checks():
    _run_checks(FCNClassifier(epochs=2, threads=1))


def test_transfer_classifier_passes_sklearn_checks(zoo_dir):
    # LogME selection keeps the ~50 fits of the checks fast; the similarity path is tested end to end below
    _run_checks(TransferClassifier(zoo=str(zoo_dir), select="transferability", epochs=2, threads=1))


def _raw(name):
    rows = np.loadtxt(MINI_ARCHIVE / name / f"{name}_TRAIN.tsv", delimiter="\t")
    return rows[:, 1:], rows[:, 0]


def test_pipeline_cross_val_and_clone_with_string_labels():
    X, y = _raw("GunPoint")
    labels = np.where(y == 1, "gun", "point")
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 2.0), FCNClassifier(epochs=3, threads=2))
    scores = cross_val_score(pipe, X, labels, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    fitted = pipe.fit(X, labels)
    assert set(fitted.predict(X)) <= {"gun", "point"}
    twin = clone(FCNClassifier(epochs=7, random_state=3))
    assert twin.get_params()["epochs"] == 7 and not hasattr(twin, "model_")


def test_three_d_input_and_determinism():
    X, y = _raw("ECG200")
    X3 = X[:, None, :]
    a = FCNClassifier(epochs=3, random_state=5, threads=2).fit(X3, y)
    b = FCNClassifier(epochs=3, random_state=5, threads=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X3), b.predict_proba(X))
    assert set(a.classes_) == {-1.0, 1.0}
    assert 0.0 <= a.score(X3, y) <= 1.0


def test_transfer_classifier_on_a_dataset_outside_the_zoo(zoo_dir, tmp_path):
    X, y = _raw("ItalyPowerDemand")
    ds = load_dataset("ItalyPowerDemand")
    clf = TransferClassifier(zoo=str(zoo_dir), epochs=3, random_state=0, threads=2, n_ensemble=1).fit(X, y)
    assert clf.source_ in {"ECG200", "GunPoint", "SonyAIBORobotSurface1"}
    assert clf.ranking_.source.iloc[0] == clf.source_
    test = np.loadtxt(MINI_ARCHIVE / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.tsv", delimiter="\t")
    proba = clf.predict_proba(test[:, 1:])
    assert proba.shape == (len(ds.y_test), 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.model_.metadata["source"] == clf.source_
    with pytest.raises(ValueError, match="zoo"):
        TransferClassifier(zoo=str(tmp_path / "no-such-zoo"), epochs=1).fit(X, y)


def test_conventions_random_state_batch_size_transform_and_bad_parameters():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = _raw("GunPoint")
    fixed = [FCNClassifier(epochs=2, random_state=3, threads=1).fit(X, y).predict_proba(X) for _ in range(2)]
    np.testing.assert_array_equal(fixed[0], fixed[1])
    fresh = [FCNClassifier(epochs=2, random_state=None, threads=1).fit(X, y).predict_proba(X) for _ in range(2)]
    assert not np.array_equal(fresh[0], fresh[1])
    from_state = [FCNClassifier(epochs=2, random_state=np.random.RandomState(5), threads=1).fit(X, y)
                  .predict_proba(X) for _ in range(2)]
    np.testing.assert_array_equal(from_state[0], from_state[1])
    clf = FCNClassifier(epochs=2, batch_size=50, threads=1).fit(X, y)
    assert len(clf.result_.history) == 2 and clf.model_.metadata["recipe"]["fields"]["batch_size"] == 50
    assert "history" not in repr(clf.result_)  # one row per epoch: not printed
    assert clf.predict_proba(X[:3]).dtype == np.float64  # scikit-learn's probabilities are float64
    with pytest.raises(ValueError, match=r"Reshape your data: X.reshape\(1, -1\)"):
        clf.predict(X[0])
    assert clf.model_.metadata["recipe"]["name"] == "practical"  # the estimators' default recipe
    features = clf.transform(X)
    assert features.shape == (len(X), 128) and np.isfinite(features).all()
    pipe = make_pipeline(FCNClassifier(epochs=30, threads=1), LogisticRegression(max_iter=500))
    assert pipe.fit(X, y).score(X, y) > 0.7  # the features separate the classes (chance: 0.5)
    for bad in ({"epochs": 0}, {"batch_size": -1}, {"threads": 0}, {"random_state": "seed"}):
        name = next(iter(bad))
        with pytest.raises(ValueError, match=name):
            FCNClassifier(**bad).fit(X, y)


def test_an_ensemble_from_scratch_litetime():
    X, y = _raw("SonyAIBORobotSurface1")
    clf = FCNClassifier(arch="lite", n_ensemble=2, epochs=2, threads=1, random_state=7).fit(X, y)
    assert [r.epochs for r in clf.results_] == [2, 2] and clf.result_ is clf.results_[0]
    assert [m["seed"] for m in clf.model_.metadata["members"]] == [7, 8]
    single = FCNClassifier(arch="lite", epochs=2, threads=1, random_state=7).fit(X, y)
    np.testing.assert_allclose(  # the first member is the single network of the same seed
        clf.model_.network.members[0].multiplex[0].weight.detach(), single.model_.network.multiplex[0].weight.detach())
    proba = clf.predict_proba(X[:4])
    assert proba.shape == (4, 2) and np.allclose(proba.sum(1), 1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"FCNClassifier\(n_ensemble="):
            FCNClassifier(n_ensemble=bad).fit(X, y)


def test_max_time_is_a_budget_for_fit():
    X, y = _raw("GunPoint")
    clf = FCNClassifier(epochs=5000, max_time="1s", threads=1).fit(X, y)
    assert clf.result_.epochs < 5000 and clf.model_.metadata["recipe"]["fields"]["max_time"] == 1.0
    assert FCNClassifier(epochs=5000, max_time=1.5, threads=1).fit(X, y).result_.epochs < 5000
    for bad in ("soon", -1, "0m"):
        with pytest.raises(ValueError, match=r"FCNClassifier\(max_time="):
            FCNClassifier(max_time=bad).fit(X, y)
