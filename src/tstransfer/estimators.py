"""scikit-learn estimators: `FCNClassifier` (a network of the registry trained from scratch; the paper's FCN by
default) and `TransferClassifier` (choose a source of the same architecture in a zoo, fine-tune it). numpy input
of shape (n, length) or (n, channels, length), NaN-padded for unequal lengths; labels of any type. They work
inside Pipeline, cross_val_score and clone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .architectures import ARCHITECTURES, DEFAULT_ARCH
from .data import Dataset, Split, preprocess
from .errors import TSTransferError
from .recipe import FIT_ENSEMBLE, InvalidSetting, TrainConfig, parse_duration
from .selection import fit_from_zoo
from .training import train_ensemble
from .zoo import fit_arch, open_zoo


def _validate(estimator, X, y=None, reset: bool = True):
    """sklearn's input validation (dtype, shape, sparse, complex, n_features_in_); NaN = missing values or
    the padding of shorter series, so it is allowed; 2-d X is (n, length), 3-d X is (n, channels, length)."""
    kwargs = {"allow_nd": True, "ensure_all_finite": "allow-nan", "dtype": np.float64,
              "ensure_min_features": 2 if reset else 1}
    if isinstance(X, (list, tuple)) and len({np.shape(x) for x in X}) > 1:
        raise ValueError(f"{type(estimator).__name__}: X holds series of unequal lengths; pad the shorter ones "
                         "with NaN to one array (n, length) — NaN marks the padding")
    if not reset and hasattr(estimator, "model_") and isinstance(X, np.ndarray) and X.ndim in (2, 3):
        channels = X.shape[1] if X.ndim == 3 else 1
        if channels != estimator.model_.in_channels:  # said in series' words, not as a count of "features"
            raise ValueError(f"{type(estimator).__name__}: X has {channels} channel(s); the model was fitted on "
                             f"{estimator.model_.in_channels} (X: (n, length) or (n, channels, length))")
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
    """The paper's FCN (`arch`: any architecture of the registry, e.g. "lite" or "resnet") trained from scratch,
    with the practical recipe by default (`recipe=None`: the architecture's published one, "paper" for the FCN).

    recipe: "practical" (batch >= 4, at most 1000 epochs with early stopping, BatchNorm statistics recomputed)
    or "paper" (2000 epochs, batch min(n_train / 10, 16)); epochs, early_stopping, batch_size: None keeps the
    recipe's. random_state: an int fixes every random choice (default 0: reproducible, as the rest of
    tstransfer); None draws fresh randomness, a `numpy.random.RandomState` draws the seed from it
    (scikit-learn's convention). max_time: a time budget for `fit` (seconds, or "30s", "5m", "1h"; shared by
    the networks it trains): training stops there with the best weights so far, recorded as a deviation.
    `transform(X)` gives the network's pooled features (the global average pool before the classifier). The test
    data are never scored during training. n_ensemble: train that many networks (seeds random_state, +1, ...) and
    average their probabilities (`FCNClassifier(arch="lite", n_ensemble=5)` is LITETime)."""

    def __init__(self, epochs: int | None = None, random_state=0, device: str = "auto", threads: int | None = None,
                 early_stopping: int | None = None, verbose: bool = False, batch_size: int | None = None,
                 recipe: str | None = "practical", arch: str = DEFAULT_ARCH, max_time=None, n_ensemble: int = 1):
        self.n_ensemble = n_ensemble
        self.max_time = max_time
        self.arch = arch
        self.recipe = recipe
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
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        try:
            return int(check_random_state(self.random_state).randint(2**31 - 1))
        except ValueError:
            raise ValueError(f"{type(self).__name__}(random_state={self.random_state!r}): must be None, an int or "
                             "a numpy RandomState") from None

    def _config(self, arch: str | None = None) -> TrainConfig:
        """The recipe with this estimator's parameters (TrainConfig checks them; said in scikit-learn's words);
        `arch`: the architecture when `self.arch` leaves it open."""
        def plain(value):  # numpy integers are integers here
            return int(value) if isinstance(value, np.integer) else value

        try:
            arch = self.arch or arch
            if arch not in ARCHITECTURES:
                raise InvalidSetting("arch", self.arch, f"choose one of {', '.join(ARCHITECTURES)}")
            budget = self.max_time
            if isinstance(budget, str):
                try:
                    budget = parse_duration(budget, "max_time")
                except TSTransferError as err:
                    raise InvalidSetting("max_time", self.max_time, str(err).split(": ", 1)[-1]) from None
            if budget is not None and not isinstance(budget, bool) and isinstance(budget, (int, float)):
                budget = float(budget) / self._trainings()  # the budget is the whole fit's, shared by its trainings
            config = TrainConfig.named(self.recipe, arch=arch, epochs=plain(self.epochs), seed=self._seed(),
                                       device=self.device,
                                       threads=plain(self.threads), early_stopping=plain(self.early_stopping),
                                       batch_size=plain(self.batch_size), max_time=budget)
            return replace(config, test_every=None)  # no test split during fit
        except InvalidSetting as err:
            name = "random_state" if err.setting == "seed" else err.setting
            raise ValueError(f"{type(self).__name__}({name}={err.value!r}): {err.rule}") from None

    def _trainings(self) -> int:
        """How many networks `fit` trains (the time budget is shared by them)."""
        n = self.n_ensemble
        return n if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 else 1

    def _dataset(self, X, y) -> Dataset:
        X, y = _validate(self, X, y)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise TSTransferError(f"y: a classifier needs at least 2 classes, got 1 class {self.classes_[0]!r}")
        Xp, lengths = preprocess(Split(list(X), encoded, Path("X")))
        return Dataset("X", Xp, encoded, lengths, None, None, None, list(range(len(self.classes_))))

    def fit(self, X, y):
        members = self.n_ensemble
        if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
            raise ValueError(f"{type(self).__name__}(n_ensemble={members!r}): must be an integer of at least 1")
        config, dataset = self._config(), self._dataset(X, y)
        self.model_, results = train_ensemble(dataset, config, int(members), progress=self.verbose)
        self.results_, self.result_ = results, results[0]  # every member's training; the first's
        return self

    def _prepared(self, X):
        check_is_fitted(self, "model_")
        if isinstance(X, np.ndarray) and X.ndim == 1:  # scikit-learn's contract: 1-D X is refused, said plainly
            raise ValueError(f"{type(self).__name__}: X is one series of shape {X.shape}; scikit-learn estimators "
                             "take a 2-D X of series. Reshape your data: X.reshape(1, -1) (or use "
                             ".model_.predict(series))")
        X, _ = _validate(self, X, reset=False)
        return self.model_.prepare(X)

    def predict_proba(self, X) -> np.ndarray:
        prepared = self._prepared(X)  # first: it raises NotFittedError before fit
        # one series at a time, as `transform`: a series' probabilities must not depend on its batch (float32 GEMMs
        # round differently per batch shape; scikit-learn checks this invariance); float64, as scikit-learn's
        return self.model_.proba(*prepared, batch_size=1).astype(np.float64)

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
    """Choose sources of architecture `arch` (default None: the zoo's, or LITE with the zoo of LITE models shipped
    with tstransfer when `zoo` is None) in a model zoo; `select`: similarity |
    validate | transferability; the zoo's backbone is ranked beside the single sources unless `backbones=False`),
    fine-tune the `n_ensemble` best ranked ones with the recipe (practical by default) and average their
    probabilities. `source_` is the best ranked source, `sources_` every fine-tuned
    one, `ranking_` the ranking that chose them."""

    def __init__(self, zoo: str | None = None, select: str = "similarity", epochs: int | None = None,
                 random_state: int = 0, top_k: int = 3, validate_epochs: int | None = None, device: str = "auto",
                 threads: int | None = None, early_stopping: int | None = None, verbose: bool = False,
                 batch_size: int | None = None, recipe: str | None = "practical", n_ensemble: int = FIT_ENSEMBLE,
                 arch: str | None = None, max_time=None, backbones: bool = True):
        super().__init__(epochs=epochs, random_state=random_state, device=device, threads=threads,
                         early_stopping=early_stopping, verbose=verbose, batch_size=batch_size, recipe=recipe,
                         arch=arch, max_time=max_time)
        self.zoo = zoo
        self.backbones = backbones
        self.select = select
        self.top_k = top_k
        self.validate_epochs = validate_epochs
        self.n_ensemble = n_ensemble

    def fit(self, X, y):
        dataset = self._dataset(X, y)
        try:
            zoo = None if self.zoo is None else open_zoo(self.zoo)  # read once
            config = self._config(None if self.arch else fit_arch(zoo))
            fitted = fit_from_zoo(dataset, zoo, select=self.select, config=config, top_k=self.top_k,
                                  validate_epochs=self.validate_epochs, ensemble=self.n_ensemble,
                                  progress=self.verbose, backbones=self.backbones)
        except TSTransferError as err:  # said in Python's words, not the command line's
            message = str(err)
            for option, parameter in (("--ensemble ", "n_ensemble="), ("--zoo ", "zoo="), ("--select ", "select="),
                                      ("--top-k ", "top_k="), ("--arch ", "arch=")):
                message = message.replace(option, parameter)
            raise ValueError(f"{type(self).__name__}: {message}") from None
        self.model_, self.results_ = fitted.model, fitted.results
        self.result_ = fitted.results[0]
        self.source_, self.sources_, self.ranking_ = fitted.source, fitted.sources, fitted.ranking
        return self
