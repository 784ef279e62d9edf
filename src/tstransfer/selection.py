"""Choosing a source for a target: the practitioner's question "which pre-trained model should I start
from for my own small labelled dataset — and give me the fine-tuned classifier".

Ways to choose (the test set is never used to choose):
- `similarity`: the paper's Algorithm 1, K_1 (the zoo dataset with the nearest class prototypes);
- `validate`: fine-tune the top-k candidates by similarity briefly on a stratified split of the training
  set and keep the one with the lowest validation loss;
- `transferability`: LogME (You et al., "LogME: Practical Assessment of Pre-trained Models for Transfer
  Learning", ICML 2021) of the source model's frozen features on the training set, top-1 kept.

`recommend` ranks a study's sources for a target by similarity; `evaluate_selection` runs every strategy above
leave-one-target-out on a finished grid. The paper's source-selection study on an accuracy matrix (K_1,
random, best, worst against no transfer) is `selection_study.py`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import usercache
from .architectures import architecture
from .baselines import minirocket
from .data import Dataset, did_you_mean, load_dataset
from .errors import TSTransferError, shown
from .files import atomic_write_text, csv_text
from .models import TrainedModel
from .recipe import FIT_PREFERS_BACKBONE
from .similarity import cache_key, class_prototypes, dataset_distance, load_cached, read_prototypes
from .study import StudyPaths, check_data_unchanged, check_similarity, load_study, study_config, wins_draws_losses
from .training import TrainConfig, TrainResult, check_ensemble, ensemble_model, evaluate, train
from .transfer import fine_tune, fine_tune_together
from .zoo import Zoo, open_zoo

SELECTIONS = ("similarity", "validate", "transferability")
MINIROCKET = "MiniRocket (reference, no transfer)"


def ranking(rows: list[dict], by: str, higher_first: bool = False, columns=()) -> pd.DataFrame:
    """Candidate sources best first: rank, source and their scores (`rows`: {"source": ..., score: ...})."""
    rows = sorted(rows, key=lambda r: -r[by] if higher_first else r[by])
    return pd.DataFrame([{"rank": i + 1, **r} for i, r in enumerate(rows)], columns=["rank", "source", by, *columns])


def distance_ranking(mine: list[np.ndarray], sources: dict[str, Path], damaged_hint: str = "",
                     progress: bool = False) -> pd.DataFrame:
    """Sources by Algorithm 1's distance between `mine` (a target's class prototypes) and theirs (read from
    their .npz files), nearest first: rank, source, distance."""
    rows = []
    for name, path in _bar(sources.items(), progress, "similarity: DTW to each source", "source"):
        try:
            rows.append({"source": name, "distance": dataset_distance(mine, read_prototypes(path))})
        except TSTransferError as err:
            raise TSTransferError(f"{err}{damaged_hint}") from None
    return ranking(rows, "distance")


def _bar(items, progress: bool, desc: str, unit: str):
    items = list(items)
    return tqdm(items, desc=desc, unit=unit, disable=not progress or len(items) < 2, leave=False, dynamic_ncols=True)


def rank_by_similarity(zoo: Zoo, dataset: Dataset, exclude=(), progress: bool = False,
                       prototypes: list[np.ndarray] | None = None, arch: str | None = None) -> pd.DataFrame:
    """Zoo datasets (its models of `arch`, when given) by Algorithm 1's distance to `dataset` (its training set
    only): rank, source, distance. `prototypes`: the dataset's class prototypes when already known (a study's
    cache), else read from the user's cache (usercache.py, keyed by content) or computed and cached there.
    `table.attrs["cached"]` says what came from the user's cache ("ranking", "prototypes" or "")."""
    sources = zoo.candidates(exclude, dataset.in_channels, arch)
    missing = [n for n in sources if zoo.entries[n].prototypes is None]
    if missing:
        raise TSTransferError(f"--zoo {zoo.root}: no prototypes of {missing[0]}; run `tstransfer similarity` on "
                              "the zoo's archive first")
    files = {n: zoo.entries[n].prototypes for n in sources}
    key = cache_key(dataset)
    rank_key = usercache.ranking_key(key, files)
    table = usercache.load_ranking(rank_key)
    cached = "ranking" if table is not None else ""
    if table is None:
        mine = prototypes if prototypes is not None else usercache.load_prototypes(key)
        cached = "prototypes" if prototypes is None and mine is not None else ""
        if mine is None:
            mine = class_prototypes(dataset, progress=progress)
            usercache.save_prototypes(key, mine, dataset.classes)
        table = distance_ranking(mine, files, progress=progress)
        usercache.save_ranking(rank_key, table)
    table.attrs["cached"] = cached
    return table


def recommend(target: Dataset, study: str | Path, top: int | None = None, exclude=()) -> pd.DataFrame:
    """Rank the study's usable sources for `target` (an archive dataset or the user's own data): the
    datasets with a pre-trained model in the study and prototypes from `tstransfer similarity`, less
    `exclude` (the target itself when it is one of the archive's datasets). The target's own prototypes
    are computed if needed. Returns columns rank, source, distance."""
    if top is not None and top < 0:
        raise TSTransferError(f"--top {top}: must be 0 (all) or more")
    paths = StudyPaths(study)
    if not paths.prototypes.is_dir() or not any(paths.prototypes.glob("*.npz")):
        raise TSTransferError(f"--study {study}: no prototypes yet; run `tstransfer similarity` first")
    check_similarity(study)
    models = {p.stem for p in paths.pretrained_dir.glob("*.safetensors")}
    if not models:
        raise TSTransferError(f"--study {study}: no pre-trained model to start from; run `tstransfer pretrain` "
                              "first (only datasets with a model can be recommended)")
    sources = {p.stem: p for p in sorted(paths.prototypes.glob("*.npz")) if p.stem in models
               and p.stem not in set(exclude)}
    if not sources:
        raise TSTransferError(f"--study {study}: no other dataset has both a pre-trained model and prototypes")
    mine = load_cached(paths.prototypes, target.name, cache_key(target)) or class_prototypes(target)
    table = distance_ranking(mine, sources, f"; `tstransfer similarity --study {study}` recomputes it")
    return table.head(top) if top else table


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


def rank_by_transferability(zoo: Zoo, dataset: Dataset, exclude=(), progress: bool = False,
                            arch: str | None = None, backbones: dict[str, TrainedModel] | None = None) -> pd.DataFrame:
    """Zoo models (and `backbones`) by LogME of their frozen features on the training set (higher first): rank,
    source, logme."""
    rows, backbones = [], backbones or {}
    names = [*zoo.candidates(exclude, dataset.in_channels, arch), *backbones]
    for name in _bar(names, progress, "transferability: LogME of each source", "source"):
        model = backbones[name] if name in backbones else zoo.model(name)
        # the source's frozen pooled features of the training series (inference mode)
        features = model.features(dataset.X_train, None if dataset.equal_length else dataset.len_train)
        rows.append({"source": name, "logme": logme(features, dataset.y_train)})
    return ranking(rows, "logme", higher_first=True)


def split_validation(dataset: Dataset, fraction: float = 0.2, seed: int = 0) -> Dataset:
    """A stratified split of the training set: the inner training part as train, the rest as 'test'."""
    from sklearn.model_selection import train_test_split  # scikit-learn (~0.5 s): only the validate strategy splits

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


VALIDATION_REPEATS = 3  # stratified splits per candidate: one split of a small set is noise


def rank_by_validation(candidates: dict[str, TrainedModel], dataset: Dataset, config: TrainConfig,
                       epochs: int, repeats: int = VALIDATION_REPEATS, progress: bool = False) -> pd.DataFrame:
    """Fine-tune each candidate (name -> source model) for `epochs` on `repeats` stratified 80/20 splits of the
    training set; rank by the mean validation loss (lower first), with its spread (std over the splits) and the
    mean validation accuracy. `table.attrs["note"]` says when the validation sets are too small to separate the
    candidates."""
    splits = [split_validation(dataset, seed=config.seed + r) for r in range(repeats)]
    brief = replace(config, epochs=epochs, test_every=None)
    rows = []
    for name, source in _bar(candidates.items(), progress, f"validate: {repeats} brief fine-tunes of each candidate",
                             "source"):
        outcomes = [fine_tune(source, split, brief, progress=False, source_name=name)[1] for split in splits]
        losses = np.array([r.test_loss for r in outcomes])
        rows.append({"source": name, "val_loss": float(losses.mean()), "val_loss_std": float(losses.std()),
                     "val_acc": float(np.mean([r.test_acc for r in outcomes]))})
    table = ranking(rows, "val_loss", columns=["val_loss_std", "val_acc"])
    n_val = len(splits[0].y_test)
    if len(table) > 1 and table.val_loss.iloc[1] - table.val_loss.iloc[0] < table.val_loss_std.iloc[:2].max():
        table.attrs["note"] = (f"validation sets of {n_val} series ({repeats} splits): the first two candidates "
                               "differ by less than the spread over the splits, so this choice is close to a coin "
                               "toss")
    return table


def usable_backbones(zoo: Zoo, data: Dataset, arch: str) -> tuple[dict[str, TrainedModel], list[str]]:
    """The zoo's backbones of `arch` that take `data`'s channels, less any pre-trained on `data` (on one of its
    splits: a backbone is never evaluated on what it saw); and a note for each left out or warned about."""
    from .backbone import name_warning, overlap
    from .models import load_model

    usable, notes = {}, []
    for name, entry in zoo.backbones.items():
        if entry["arch"] != arch:
            continue
        model = load_model(zoo.root / entry["file"])
        if model.network.config.get("in_channels") != data.in_channels:
            continue
        found = overlap(model, data, name)
        if found.refusal() is not None:
            notes.append(f"{name} is not a candidate: {found.refusal()}")
            continue
        notes += [f"{name}: {w}" for w in [*found.warnings(), name_warning(model, data, name)] if w]
        usable[name] = model
    return usable, notes


def with_backbones(similarity: pd.DataFrame, zoo: Zoo, backbones: dict[str, TrainedModel]) -> pd.DataFrame:
    """Algorithm 1's ranking with the backbones in it: a backbone's distance is the distance to the nearest
    dataset it was pre-trained on (Algorithm 1 between the target and the backbone's pre-training data, whose
    class prototypes are its datasets'); on a tie with that dataset's own model, FIT_PREFERS_BACKBONE (set by
    benchmarks/backbone.py) says which ranks first. A backbone none of whose datasets is in the ranking comes last,
    with no distance."""
    if not backbones:
        return similarity
    rows = [{"source": s, "distance": d, "tie": 1} for s, d in zip(similarity.source, similarity.distance)]
    for name in backbones:
        seen = similarity.source.isin(zoo.backbones[name]["datasets"])
        rows.append({"source": name, "distance": float(similarity.distance[seen].min()) if seen.any() else np.inf,
                     "tie": 0 if FIT_PREFERS_BACKBONE else 2})
    table = pd.DataFrame(rows).sort_values(["distance", "tie"], kind="stable").drop(columns="tie")
    table.insert(0, "rank", range(1, len(table) + 1))
    table["distance"] = table.distance.replace(np.inf, np.nan)
    table.attrs.update(similarity.attrs)
    return table.reset_index(drop=True)


@dataclass
class Choice:
    """A source chosen for a target: the ranking that chose it (best first), Algorithm 1's similarity
    ranking (the same table under --select similarity; None when the zoo has no prototypes), the backbones that
    were candidates (name -> model) and notes on those that were not."""

    ranking: pd.DataFrame
    similarity: pd.DataFrame | None
    backbones: dict[str, TrainedModel] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sources(self, k: int = 1) -> list[str]:
        return [str(s) for s in self.ranking.source[:k]]

    @property
    def source(self) -> str:
        return self.sources(1)[0]

    def similarity_rank(self, source: str) -> int | None:
        if self.similarity is None or not (self.similarity.source == source).any():
            return None
        return int(self.similarity.loc[self.similarity.source == source, "rank"].iloc[0])

    def model(self, zoo: Zoo, source: str) -> TrainedModel:
        return self.backbones[source] if source in self.backbones else zoo.model(source)


def choose_source(zoo: Zoo, dataset: Dataset, select: str = "similarity", config: TrainConfig | None = None,
                  top_k: int = 3, validate_epochs: int | None = None, exclude=(), progress: bool = False,
                  prototypes: list[np.ndarray] | None = None, unseen: Dataset | None = None,
                  backbones: bool = True) -> Choice:
    """Rank the zoo's sources for `dataset` (its training data only) with one strategy (SELECTIONS), its backbones
    of the architecture among them (`backbones=False`: single sources only) unless pre-trained on `unseen` (default:
    `dataset`; give all the target's data, its test split included); `prototypes`: the dataset's class prototypes
    when already known."""
    config = config or TrainConfig()
    if select not in SELECTIONS:
        raise TSTransferError(f"--select {select}: choose one of {', '.join(SELECTIONS)}")
    for name, value in (("--top-k", top_k), ("--validate-epochs", validate_epochs)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise TSTransferError(f"{name} {value}: must be an integer of at least 1")
    if not zoo.names(exclude):
        raise TSTransferError(f"--zoo {zoo.root}: no model to choose from")
    sources = zoo.candidates(exclude, dataset.in_channels, config.arch)
    if not sources:
        held = ", ".join(f"{n} {a}" for a, n in zoo.architectures().items())
        raise TSTransferError(f"--zoo {zoo.root}: no {config.arch} model that takes {dataset.in_channels} input "
                              f"channel(s) (it holds {held}); a source only transfers into its own architecture: "
                              "give --arch of one of them, or another --zoo")
    usable, notes = usable_backbones(zoo, unseen or dataset, config.arch) if backbones else ({}, [])
    has_prototypes = all(zoo.entries[n].prototypes is not None for n in sources)
    similarity = None
    if select != "transferability" or has_prototypes:
        similarity = with_backbones(rank_by_similarity(zoo, dataset, exclude, progress=progress,
                                                       prototypes=prototypes, arch=config.arch), zoo, usable)
    if select == "transferability":
        table = rank_by_transferability(zoo, dataset, exclude, progress=progress, arch=config.arch, backbones=usable)
    elif select == "validate":  # the top_k single sources by similarity, and every backbone beside them
        names = [n for n in similarity.source if n not in usable][: max(1, top_k)] + list(usable)
        candidates = {n: usable[n] if n in usable else zoo.model(n) for n in names}
        epochs = validate_epochs or max(1, config.epochs // 10)
        table = rank_by_validation(candidates, dataset, config, epochs, progress=progress)
    else:
        table = similarity
    return Choice(table, similarity, usable, notes)


@dataclass
class FitOutcome:
    model: TrainedModel  # one fine-tuned source, or the ensemble of `sources`
    sources: list[str]  # the fine-tuned sources, best ranked first
    select: str
    choice: Choice
    results: list[TrainResult]  # one per source
    seconds: float  # selection and fine-tuning
    selection_seconds: float = 0.0  # of which choosing the sources

    @property
    def source(self) -> str:
        return self.sources[0]

    @property
    def ranking(self) -> pd.DataFrame:
        return self.choice.ranking

    @property
    def similarity_rank(self) -> int | None:
        return self.choice.similarity_rank(self.source)


def source_is_file(spec: str) -> bool:
    """`--source` names a model file (a .safetensors name or a path), else a dataset of the zoo."""
    return spec.endswith(".safetensors") or "/" in spec or os.sep in spec


def given_source(spec: str, dataset: Dataset, zoo: Zoo | str | Path | None, arch: str,
                 loaded: TrainedModel | None = None) -> tuple[str, TrainedModel, str | None]:
    """The source `fit --source` names: "backbone" (the zoo's backbone of `arch`), a backbone of the zoo by name, a
    model file (a backbone's included: a target it saw is refused) or a dataset of the zoo. Returns (name, model,
    a warning or None); `dataset`: all the target's data, its test split included (a backbone must not have seen
    either); `loaded`: the model file `spec`, when the caller has read it already."""
    from .backbone import check_unseen
    from .models import load_model

    if source_is_file(spec):
        path = Path(spec)
    else:
        opened = open_zoo(zoo, arch)
        if spec == "backbone":  # the zoo's backbone of the architecture
            path = opened.backbone(arch)
        elif spec in opened.backbones:  # one by name (a per-domain backbone: backbone-<arch>-<domain>)
            path = opened.root / opened.backbones[spec]["file"]
        elif spec in opened.entries:
            return spec, opened.model(spec), None
        else:
            raise TSTransferError(f"--source {shown(spec)}: neither a model file nor a source of the zoo "
                                  f"{opened.root}{did_you_mean(spec, [*opened.entries, *opened.backbones])}")
    model = loaded if loaded is not None else load_model(path)
    warning = check_unseen(model, dataset, f"--source {spec}") if model.metadata.get("kind") == "backbone" else None
    return path.stem, model, warning


def fit_from_zoo(dataset: Dataset, zoo: Zoo | str | Path | None = None, select: str = "similarity",
                 config: TrainConfig | None = None, top_k: int = 3, validate_epochs: int | None = None,
                 ensemble: int = 1, exclude=(), progress: bool = True, on_choice=None,
                 source: tuple[str, TrainedModel] | None = None, unseen: Dataset | None = None,
                 backbones: bool = True) -> FitOutcome:
    """Choose sources in the zoo (None: the zoo shipped with tstransfer) for `dataset`, fine-tune the best
    `ensemble` of them on the whole training set, and return the model (an ensemble averaging their
    probabilities when `ensemble` > 1); the zoo's backbones are candidates (`backbones=False`: single sources only)
    unless pre-trained on `unseen` (default: `dataset`). `on_choice(choice, sources)` is called once the sources
    are known, before any fine-tuning (the command line prints them and the time estimate there). The default
    recipe is the practical one."""
    check_ensemble(ensemble)
    config = config or TrainConfig.named("practical")
    started = time.perf_counter()
    if source is not None:  # given (`--source`): no ranking, the one source
        name, model = source
        if ensemble != 1:
            raise TSTransferError(f"--ensemble {ensemble} with --source: one given source is one fine-tuning")
        choice = Choice(pd.DataFrame({"rank": [1], "source": [name]}), None)
        if on_choice is not None and on_choice(choice, [name]) is False:
            return FitOutcome(None, [name], "given", choice, [], time.perf_counter() - started, 0.0)
        tuned, result = fine_tune(model, dataset, config, progress, source_name=name)
        tuned.metadata.update(selection="given", sources=[name])
        return FitOutcome(tuned, [name], "given", choice, [result], time.perf_counter() - started, 0.0)
    zoo = open_zoo(zoo, config.arch)
    choice = choose_source(zoo, dataset, select, config, top_k, validate_epochs, exclude, progress=progress,
                           unseen=unseen, backbones=backbones)
    selection_seconds = time.perf_counter() - started
    if ensemble > len(choice.ranking):
        raise TSTransferError(f"--ensemble {ensemble}: the zoo has {len(choice.ranking)} candidate source(s) for "
                              "this dataset")
    sources = choice.sources(ensemble)
    if on_choice is not None and on_choice(choice, sources) is False:
        return FitOutcome(None, sources, select, choice, [], time.perf_counter() - started, selection_seconds)
    tuned = fine_tune_together({source: choice.model(zoo, source) for source in sources}, dataset, config, progress)
    members, results = [model for model, _ in tuned], [result for _, result in tuned]
    for source, member in zip(sources, members):
        member.metadata["similarity_rank"] = choice.similarity_rank(source)
    model = ensemble_model(members, dataset, config, results, selection=select, zoo=str(zoo.root),
                           similarity_rank=choice.similarity_rank(sources[0]),
                           sources=sources)
    return FitOutcome(model, sources, select, choice, results, time.perf_counter() - started, selection_seconds)


def compare_baselines(dataset: Dataset, config: TrainConfig, progress: bool = True,
                      sources: dict[str, TrainedModel] | None = None) -> list[dict]:
    """What a practitioner would try instead, on the same split: each of `sources` fine-tuned (the zoo's backbone
    when fit chose another source), the network from scratch with the same recipe and aeon's MiniRocket (both
    splits padded to one length; numba's compilation timed apart). Rows: method, accuracy (test split), seconds,
    and `error` (one line) for an arm that failed: the other rows still stand."""
    if dataset.X_test is None:
        raise TSTransferError("--compare needs --test: the methods are compared on your test file")
    rows = []
    train_only = replace(dataset, X_test=None, y_test=None, len_test=None)
    for name, source in (sources or {}).items():
        method = f"transfer from {name} (--source)"
        try:
            tuned, result = fine_tune(source, train_only, config, progress, source_name=name)
            rows.append({"method": method, "accuracy": evaluate(tuned, dataset)["accuracy"],
                         "seconds": result.seconds})
        except Exception as err:  # one arm's failure is its row's alone
            rows.append({"method": method, "accuracy": None, "seconds": None, "error": _one_line(err)})
    method = f"{architecture(config.arch).cls} from scratch ({config.recipe_name} recipe)"
    try:
        _, scratch = train(dataset, replace(config, test_every=None), progress=progress)
        rows.append({"method": method, "accuracy": scratch.test_acc, "seconds": scratch.seconds})
    except Exception as err:  # any failure of one arm (a library's own error type included) is its row's, alone
        rows.append({"method": method, "accuracy": None, "seconds": None, "error": _one_line(err)})
    try:
        rocket = minirocket(dataset, config.seed)
        rows.append({"method": rocket.name, "accuracy": rocket.accuracy, "seconds": rocket.seconds,
                     "note": f"+{rocket.compile_seconds:.1f}s numba compilation, once per process"})
    except Exception as err:
        rows.append({"method": "MiniRocket (aeon)", "accuracy": None, "seconds": None, "error": _one_line(err)})
    return rows


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160] if text else ''}"


# ----------------------------------------------------------------------------- selection strategies on a grid


def evaluate_selection(study: str | Path, archive: str | Path, strategies=SELECTIONS, top_k: int = 3,
                       validate_epochs: int | None = None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every strategy, leave-one-target-out on a finished grid: each target sees only its own training set
    and the other datasets' pre-trained models; the chosen pair's accuracy is read from the grid. Writes
    the study's selection_strategies.csv and selection_strategies_per_target.csv (the report shows them).

    MiniRocket (aeon), trained on each target's own split, is a reference row: what a practitioner would get
    without any source.

    Returns (summary: strategy, mean_accuracy, wins, draws, losses, oracle_gain_share; per-target choices).
    """

    tables = load_study(study)
    config = study_config(tables.settings) or TrainConfig()  # the study's own recipe, batch size included
    zoo, paths = Zoo(study), StudyPaths(study)
    rows = []
    targets = [t for t in tables.accuracy.columns if t in tables.baseline.index]
    check_data_unchanged(study, archive, targets)
    check_similarity(study)
    for target in tqdm(targets, desc="selection", unit="target", disable=not progress, dynamic_ncols=True):
        column = tables.accuracy[target].drop(target, errors="ignore").dropna()
        pool = [s for s in column.index if s in zoo.entries]
        if not pool:
            continue
        dataset = load_dataset(target, archive)
        exclude = [n for n in zoo.entries if n not in pool]  # the target itself and sources not in the grid
        row = {"target": target, "no transfer": float(tables.baseline[target]), "oracle": float(column[pool].max())}
        # the prototypes `tstransfer similarity` cached, computed once here when it did not
        mine = load_cached(paths.prototypes, dataset.name, cache_key(dataset)) or class_prototypes(dataset)
        for strategy in strategies:
            chosen = choose_source(zoo, dataset, strategy, config, top_k, validate_epochs or
                                   max(1, config.epochs // 10), exclude, prototypes=mine).source
            row[strategy], row[f"{strategy}_source"] = float(column[chosen]), chosen
        row[MINIROCKET] = minirocket(dataset, config.seed).accuracy
        rows.append(row)
    if not rows:
        raise TSTransferError(f"--study {study}: no target has a finished transfer yet; evaluate-selection compares "
                              "the sources a strategy picks by their fine-tuned accuracy: run `tstransfer grid` first")
    per_target = pd.DataFrame(rows).set_index("target")
    base, oracle = per_target["no transfer"], per_target["oracle"]
    summary = []
    for strategy in ["no transfer", *strategies, "oracle", MINIROCKET]:
        acc = per_target[strategy]
        gap = oracle.mean() - base.mean()
        summary.append({"strategy": strategy, "mean_accuracy": acc.mean(), **wins_draws_losses(acc, base),
                        "oracle_gain_share": (acc.mean() - base.mean()) / gap if gap > 0 else np.nan})
    summary = pd.DataFrame(summary)
    atomic_write_text(paths.strategies, csv_text(summary, index=False))
    atomic_write_text(paths.strategies_per_target, csv_text(per_target))
    return summary, per_target
