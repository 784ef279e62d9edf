"""Choosing a source for a target: the practitioner's question "which pre-trained model should I start
from for my own small labelled dataset — and give me the fine-tuned classifier".

Ways to choose (the test set is never used to choose):
- `similarity`: the paper's Algorithm 1, K_1 (the zoo dataset with the nearest class prototypes);
- `validate`: fine-tune the top-k candidates by similarity briefly on a stratified split of the training
  set and keep the one with the lowest validation loss;
- `transferability`: LogME (You et al., "LogME: Practical Assessment of Pre-trained Models for Transfer
  Learning", ICML 2021) of the source model's frozen features on the training set, top-1 kept.

`evaluate_selection` runs every strategy leave-one-target-out on a finished grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .data import Dataset
from .errors import TSTransferError
from .models import TrainedModel
from .training import TrainConfig, TrainResult
from .zoo import Zoo, open_zoo

SELECTIONS = ("similarity", "validate", "transferability")


def rank_by_similarity(zoo: Zoo, dataset: Dataset, exclude=()) -> pd.DataFrame:
    """Zoo datasets by Algorithm 1's distance to `dataset` (its training set only): rank, source, distance."""
    from .similarity import class_prototypes, dataset_distance

    mine = class_prototypes(dataset)
    rows = []
    for name in zoo.names(exclude):
        protos = zoo.prototypes(name)
        if protos is None:
            raise TSTransferError(f"--zoo {zoo.root}: no prototypes of {name}; run `tstransfer similarity` on "
                                  "the zoo's archive first")
        rows.append((name, dataset_distance(mine, protos)))
    rows.sort(key=lambda r: r[1])
    return pd.DataFrame({"rank": range(1, len(rows) + 1), "source": [r[0] for r in rows],
                         "distance": [r[1] for r in rows]})


def logme(features: np.ndarray, labels: np.ndarray, iterations: int = 20) -> float:
    """LogME (You et al., ICML 2021): the mean over classes of the log marginal evidence per sample of a
    Bayesian linear model from the features to the one-hot label, alpha and beta by MacKay's fixed point."""
    F = np.asarray(features, dtype=np.float64)
    n, d = F.shape
    u, s, _ = np.linalg.svd(F, full_matrices=False)
    sigma = s**2
    evidences = []
    for k in np.unique(labels):
        y = (labels == k).astype(np.float64)
        x2 = (u.T @ y) ** 2
        outside = max(float(y @ y - x2.sum()), 0.0)  # the part of y outside the span of the features
        alpha, beta = 1.0, 1.0
        for _ in range(iterations):
            gamma = float((beta * sigma / (alpha + beta * sigma)).sum())
            m2 = float((beta**2 * sigma * x2 / (alpha + beta * sigma) ** 2).sum())
            res2 = float((x2 * (alpha / (alpha + beta * sigma)) ** 2).sum()) + outside
            new_alpha, new_beta = gamma / (m2 + 1e-5), (n - gamma) / (res2 + 1e-5)
            done = abs(new_alpha - alpha) / alpha < 1e-3 and abs(new_beta - beta) / beta < 1e-3
            alpha, beta = new_alpha, new_beta
            if done:
                break
        m2 = float((beta**2 * sigma * x2 / (alpha + beta * sigma) ** 2).sum())
        res2 = float((x2 * (alpha / (alpha + beta * sigma)) ** 2).sum()) + outside
        logdet = float(np.log(alpha + beta * sigma).sum()) + (d - len(sigma)) * np.log(alpha)
        evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - logdet / 2 - beta / 2 * res2 - alpha / 2 * m2
                    - n / 2 * np.log(2 * np.pi))
        evidences.append(evidence / n)
    return float(np.mean(evidences))


@torch.no_grad()
def frozen_features(model: TrainedModel, dataset: Dataset) -> np.ndarray:
    """The source network's pooled features (inference mode) of the dataset's training series."""
    network = model.network.eval()
    lengths = None if dataset.equal_length else torch.as_tensor(dataset.len_train)
    X = torch.as_tensor(dataset.X_train)
    out = [network.features(X[i : i + 256], None if lengths is None else lengths[i : i + 256])
           for i in range(0, len(X), 256)]
    return torch.cat(out).numpy()


def rank_by_transferability(zoo: Zoo, dataset: Dataset, exclude=()) -> pd.DataFrame:
    """Zoo models by LogME of their frozen features on the training set (higher first): rank, source, logme."""
    rows = []
    for name in zoo.names(exclude):
        model = zoo.model(name)
        if model.in_channels != dataset.in_channels:
            continue
        rows.append((name, logme(frozen_features(model, dataset), dataset.y_train)))
    rows.sort(key=lambda r: -r[1])
    return pd.DataFrame({"rank": range(1, len(rows) + 1), "source": [r[0] for r in rows],
                         "logme": [r[1] for r in rows]})


def split_validation(dataset: Dataset, fraction: float = 0.2, seed: int = 0) -> Dataset:
    """A stratified split of the training set: the inner training part as train, the rest as 'test'."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(dataset.y_train))
    counts = np.bincount(dataset.y_train)
    stratify = dataset.y_train if counts.min() >= 2 else None
    n_val = max(int(round(fraction * len(idx))), dataset.n_classes if stratify is not None else 1)
    if len(idx) - n_val < 2:
        raise TSTransferError(f"{dataset.name}: too few training series ({len(idx)}) to hold out a validation set")
    fit_idx, val_idx = train_test_split(idx, test_size=n_val, random_state=seed, stratify=stratify)
    return replace(dataset, X_train=dataset.X_train[fit_idx], y_train=dataset.y_train[fit_idx],
                   len_train=dataset.len_train[fit_idx], X_test=dataset.X_train[val_idx],
                   y_test=dataset.y_train[val_idx], len_test=dataset.len_train[val_idx])


def rank_by_validation(zoo: Zoo, dataset: Dataset, candidates: list[str], config: TrainConfig,
                       epochs: int) -> pd.DataFrame:
    """Fine-tune each candidate for `epochs` on the inner split; rank by validation loss (lower first)."""
    from .transfer import fine_tune

    split = split_validation(dataset, seed=config.seed)
    brief = replace(config, epochs=epochs, test_every=epochs)
    rows = []
    for name in candidates:
        _, result = fine_tune(zoo.model(name), split, brief, progress=False, source_name=name)
        rows.append((name, result.test_loss, result.test_acc))
    rows.sort(key=lambda r: r[1])
    return pd.DataFrame({"rank": range(1, len(rows) + 1), "source": [r[0] for r in rows],
                         "val_loss": [r[1] for r in rows], "val_acc": [r[2] for r in rows]})


def choose_source(zoo: Zoo, dataset: Dataset, select: str = "similarity", config: TrainConfig | None = None,
                  top_k: int = 3, validate_epochs: int | None = None, exclude=()) -> tuple[str, pd.DataFrame]:
    """The chosen source and the ranking that chose it (training data only)."""
    config = config or TrainConfig()
    if select not in SELECTIONS:
        raise TSTransferError(f"--select {select}: choose one of {', '.join(SELECTIONS)}")
    if not zoo.names(exclude):
        raise TSTransferError(f"--zoo {zoo.root}: no model to choose from")
    if select == "transferability":
        table = rank_by_transferability(zoo, dataset, exclude)
    else:
        table = rank_by_similarity(zoo, dataset, exclude)
        if select == "validate":
            candidates = list(table.source[: max(1, top_k)])
            epochs = validate_epochs or max(1, config.epochs // 10)
            table = rank_by_validation(zoo, dataset, candidates, config, epochs)
    if table.empty:
        raise TSTransferError(f"no zoo model takes {dataset.in_channels} input channel(s)")
    return str(table.source.iloc[0]), table


@dataclass
class FitReport:
    model: TrainedModel
    source: str
    select: str
    ranking: pd.DataFrame
    similarity_rank: int | None
    result: TrainResult
    scratch: TrainResult | None = None


def fit_from_zoo(dataset: Dataset, zoo: Zoo | str | Path | None = None, select: str = "similarity",
                 config: TrainConfig | None = None, top_k: int = 3, validate_epochs: int | None = None,
                 compare_scratch: bool = False, exclude=(), progress: bool = True) -> FitReport:
    """Choose a source in the zoo (None: the zoo shipped with tstransfer) for `dataset`, fine-tune it on the
    whole training set, and return it."""
    from .training import train
    from .transfer import fine_tune

    config = config or TrainConfig()
    zoo = open_zoo(zoo)
    source, ranking = choose_source(zoo, dataset, select, config, top_k, validate_epochs, exclude)
    similarity_rank = None
    if all(zoo.entries[n].prototypes is not None for n in zoo.names(exclude)):
        order = ranking if select == "similarity" else rank_by_similarity(zoo, dataset, exclude)
        similarity_rank = int(order.loc[order.source == source, "rank"].iloc[0])
    model, result = fine_tune(zoo.model(source), dataset, config, progress=progress, source_name=source)
    model.metadata.update({"selection": select, "similarity_rank": similarity_rank, "zoo": str(zoo.root)})
    scratch = train(dataset, config, progress=progress)[1] if compare_scratch else None
    return FitReport(model, source, select, ranking, similarity_rank, result, scratch)


# ----------------------------------------------------------------------------- selection study on a grid


def evaluate_selection(study: str | Path, archive: str | Path, strategies=SELECTIONS, top_k: int = 3,
                       validate_epochs: int | None = None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every strategy, leave-one-target-out on a finished grid: each target sees only its own training set
    and the other datasets' pre-trained models; the chosen pair's accuracy is read from the grid.

    Returns (summary: strategy, mean_accuracy, wins, draws, losses, oracle_gain_share; per-target choices).
    """
    from tqdm.auto import tqdm

    from .data import load_dataset
    from .report import load_study

    tables = load_study(study)
    settings = tables.settings
    config = TrainConfig(epochs=settings.get("epochs", 2000), seed=settings.get("seed", 0))
    zoo = Zoo(study)
    rows = []
    targets = [t for t in tables.accuracy.columns if t in tables.baseline.index]
    for target in tqdm(targets, desc="selection", unit="target", disable=not progress, dynamic_ncols=True):
        column = tables.accuracy[target].drop(target, errors="ignore").dropna()
        pool = [s for s in column.index if s in zoo.entries]
        if not pool:
            continue
        dataset = load_dataset(target, archive)
        exclude = [n for n in zoo.entries if n not in pool]  # the target itself and sources not in the grid
        row = {"target": target, "no transfer": float(tables.baseline[target]), "oracle": float(column[pool].max())}
        for strategy in strategies:
            chosen, _ = choose_source(zoo, dataset, strategy, config, top_k, validate_epochs or
                                      max(1, config.epochs // 10), exclude)
            row[strategy], row[f"{strategy}_source"] = float(column[chosen]), chosen
        rows.append(row)
    per_target = pd.DataFrame(rows).set_index("target")
    base, oracle = per_target["no transfer"], per_target["oracle"]
    summary = []
    for strategy in ["no transfer", *strategies, "oracle"]:
        acc = per_target[strategy]
        a, b = acc.round(6), base.round(6)
        gap = oracle.mean() - base.mean()
        summary.append({"strategy": strategy, "mean_accuracy": acc.mean(), "wins": int((a > b).sum()),
                        "draws": int((a == b).sum()), "losses": int((a < b).sum()),
                        "oracle_gain_share": (acc.mean() - base.mean()) / gap if gap > 0 else np.nan})
    return pd.DataFrame(summary), per_target
