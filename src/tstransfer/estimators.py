"""scikit-learn estimators: `FCNClassifier` (the paper's FCN and recipe, no transfer) and
`TransferClassifier` (choose a source in a zoo, fine-tune it). numpy input of shape (n, length) or
(n, channels, length), NaN-padded for unequal lengths; labels of any type. They work inside Pipeline,
cross_val_score and clone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .data import Dataset, Split, preprocess
from .errors import TSTransferError
from .recipe import DEFAULTS, InvalidSetting, TrainConfig


def _validate(estimator, X, y=None, reset: bool = True):
    """sklearn's input validation (dtype, shape, sparse, complex, n_features_in_); NaN = missing values or
    the padding of shorter series, so it is allowed; 2-d X is (n, length), 3-d X is (n, channels, length)."""
    kwargs = {"allow_nd": True, "ensure_all_finite": "allow-nan", "dtype": np.float64,
              "ensure_min_features": 2 if reset else 1}
    if y is None and not reset:
        X = validate_data(estimator, X, reset=False, **kwargs)
    else:
        X, y = validate_data(estimator, X, y, reset=reset, **kwargs)
    if X.ndim == 2:
        X = X[:, None, :]
    if X.ndim != 3:
        raise TSTransferError(f"X: expected shape (n, length) or (n, channels, length), got {X.shape}")
    return X, y


class FCNClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """The paper's FCN trained from scratch with its recipe (2000 epochs by default).

    random_state: an int fixes every random choice (default 0: reproducible, as the rest of tstransfer);
    None draws fresh randomness, a `numpy.random.RandomState` draws the seed from it (scikit-learn's
    convention). batch_size: None is the paper's rule, min(n_train / 10, 16). `transform(X)` gives the
    network's pooled features (the global average pool before the classifier)."""

    def __init__(self, epochs: int = DEFAULTS.epochs, random_state=0, device: str = "auto", threads: int | None = None,
                 early_stopping: int | None = None, verbose: bool = False, batch_size: int | None = None):
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.threads = threads
        self.early_stopping = early_stopping
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _seed(self) -> int:
        from sklearn.utils import check_random_state

        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        try:
            return int(check_random_state(self.random_state).randint(2**31 - 1))
        except ValueError:
            raise ValueError(f"{type(self).__name__}(random_state={self.random_state!r}): must be None, an int or "
                             "a numpy RandomState") from None

    def _config(self) -> TrainConfig:
        """The recipe with this estimator's parameters (TrainConfig checks them; said in scikit-learn's words)."""
        def plain(value):  # numpy integers are integers here
            return int(value) if isinstance(value, np.integer) else value

        try:
            return TrainConfig(epochs=plain(self.epochs), seed=self._seed(), device=self.device,
                               threads=plain(self.threads), early_stopping=plain(self.early_stopping),
                               batch_size=plain(self.batch_size), test_every=10**9)
        except InvalidSetting as err:
            name = "random_state" if err.setting == "seed" else err.setting
            raise ValueError(f"{type(self).__name__}({name}={err.value!r}): {err.rule}") from None

    def _dataset(self, X, y) -> Dataset:
        X, y = _validate(self, X, y)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise TSTransferError(f"y: a classifier needs at least 2 classes, got 1 class {self.classes_[0]!r}")
        Xp, lengths = preprocess(Split(list(X), encoded, Path("X")))
        return Dataset("X", Xp, encoded, lengths, None, None, None, list(range(len(self.classes_))))

    def fit(self, X, y):
        from .training import train

        self.model_, self.result_ = train(self._dataset(X, y), self._config(), progress=self.verbose)
        return self

    def _prepared(self, X):
        check_is_fitted(self, "model_")
        X, _ = _validate(self, X, reset=False)
        return self.model_.prepare(X)

    def predict_proba(self, X) -> np.ndarray:
        prepared = self._prepared(X)  # first: it raises NotFittedError before fit
        return self.model_.proba(*prepared)

    def transform(self, X) -> np.ndarray:
        """The pooled features of the trained network, shape (n, last filters) (128 for the paper's FCN): put a
        linear model or a clustering on top of them."""
        # one series at a time: a series' features must not depend on which others share its batch (float32
        # GEMMs round differently per batch shape; scikit-learn checks this invariance). float64 out: a
        # scikit-learn transformer keeps float64 input float64.
        return self.model_.features(*self._prepared(X), batch_size=1).astype(np.float64)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[proba.argmax(axis=1)]


class TransferClassifier(FCNClassifier):
    """Choose the source in a model zoo (default None: the zoo shipped with tstransfer; `select`:
    similarity | validate | transferability) and fine-tune it
    with the paper's recipe. `source_` is the chosen source, `ranking_` the ranking that chose it."""

    def __init__(self, zoo: str | None = None, select: str = "similarity", epochs: int = DEFAULTS.epochs,
                 random_state: int = 0,
                 top_k: int = 3, validate_epochs: int | None = None, device: str = "auto",
                 threads: int | None = None, early_stopping: int | None = None, verbose: bool = False,
                 batch_size: int | None = None):
        super().__init__(epochs=epochs, random_state=random_state, device=device, threads=threads,
                         early_stopping=early_stopping, verbose=verbose, batch_size=batch_size)
        self.zoo = zoo
        self.select = select
        self.top_k = top_k
        self.validate_epochs = validate_epochs

    def fit(self, X, y):
        from .selection import fit_from_zoo

        report = fit_from_zoo(self._dataset(X, y), self.zoo, select=self.select, config=self._config(),
                              top_k=self.top_k, validate_epochs=self.validate_epochs, progress=self.verbose)
        self.model_, self.result_ = report.model, report.result
        self.source_, self.ranking_ = report.source, report.ranking
        return self
