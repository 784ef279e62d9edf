"""A study folder: the one place that knows its layout, and the tables read from it.

    study.sqlite                                 the results store (one row per run, see store.py)
    pretrained/<Dataset>.safetensors             + <Dataset>.history.csv: the no-transfer baselines
    transfer/<Source>/<Target>.safetensors       + <Target>.history.csv: the fine-tunings
    seed-<s>/pretrained/..., seed-<s>/transfer/...  the same for every further seed of a multi-seed study
                                                 (the study's first seed keeps the plain layout)
    similarity/                                  Algorithm 1: distances.csv, neighbours.csv, prototypes/
    results/                                     the matrices written by `tstransfer results`
    selection_strategies*.csv                    `tstransfer evaluate-selection`
    report/                                      the HTML report (default place)

`grid.py` runs the study's runs; this module plans them, says where each file goes and reads the results
back as the paper's tables: accuracy (rows = source, columns = target) and its variation against no
transfer, averaged over seeds, with their spread.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import data_fingerprint, default_archive, find_dataset, list_archive, resolve_names, test_labels
from .errors import TSTransferError
from .files import atomic_write_text, csv_text, file_stem, parse_json, safe_name
from .guardrails import at_or_below_majority, majority_rate
from .recipe import TrainConfig
from .store import Store

RUN_COLUMNS = ["kind", "source", "target", "seed", "epochs", "status", "best_epoch", "train_loss", "train_acc",
               "test_loss", "test_acc", "seconds", "device", "model_path", "history_path", "error"]


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: a pre-training (source '') or a fine-tuning source -> target, with its seed (None:
    the seed of the grid's TrainConfig)."""

    kind: str
    source: str
    target: str
    seed: int | None = None

    def __post_init__(self):  # dataset names become folder and file names of the study
        for name in ((self.target,) if self.kind == "pretrain" else (self.source, self.target)):
            safe_name(name, "dataset")

    def __str__(self) -> str:
        run = self.target if self.kind == "pretrain" else f"{self.source}->{self.target}"
        return run if not self.seed else f"{run} (seed {self.seed})"


class StudyPaths:
    """Where everything of a study folder lives (no I/O: `StudyPaths.of(study)` reads the study's first seed).
    `primary_seed`: the seed whose runs keep the plain layout (the study's first); None: unknown, so only the
    folder-level paths and the plain layout (seed None) are asked for."""

    def __init__(self, root: str | Path, primary_seed: int | None = None):
        self.root = Path(root)
        self.store = self.root / "study.sqlite"
        self.lock = self.root / ".lock"
        self.pretrained_dir = self.root / "pretrained"  # the first seed's pre-trained models
        self.similarity = self.root / "similarity"
        self.distances = self.similarity / "distances.csv"
        self.neighbours = self.similarity / "neighbours.csv"
        self.prototypes = self.similarity / "prototypes"
        self.similarity_fingerprints = self.similarity / "fingerprints.json"  # the data similarity read
        self.results = self.root / "results"
        self.report = self.root / "report"
        self.report_index = self.report / "index.html"  # report.write_report's page
        self.strategies = self.root / "selection_strategies.csv"
        self.strategies_per_target = self.root / "selection_strategies_per_target.csv"
        self.figures = self.root / "figures"
        self.primary_seed = primary_seed

    @classmethod
    def of(cls, study: str | Path) -> StudyPaths:
        """The paths of an existing study, with its first seed read from its store (0 for a new study)."""
        return cls(study, study_settings(study).get("seed", 0))

    def seed_root(self, seed: int | None) -> Path:
        if seed is None or seed == self.primary_seed:
            return self.root
        if self.primary_seed is None:
            raise ValueError("StudyPaths(root) does not know the study's first seed: use StudyPaths.of(root)")
        return self.root / f"seed-{int(seed)}"

    def prototype_file(self, dataset: str) -> Path:
        """The DBA prototypes `tstransfer similarity` wrote for a dataset."""
        return self.prototypes / f"{safe_name(dataset, 'dataset')}.npz"

    def loss_figure(self, target: str) -> Path:
        """Where `tstransfer plot-loss` draws a target's loss curves by default."""
        return self.figures / f"{file_stem(target)}_loss.png"

    def pretrained(self, dataset: str, seed: int | None = None) -> Path:
        """The pre-trained model of `dataset` (the study's first seed unless `seed`)."""
        return self.seed_root(seed) / "pretrained" / f"{safe_name(dataset, 'dataset')}.safetensors"

    def model(self, spec: RunSpec) -> Path:
        if spec.kind == "pretrain":
            return self.pretrained(spec.target, spec.seed)
        return self.seed_root(spec.seed) / "transfer" / spec.source / f"{spec.target}.safetensors"

    def history(self, spec: RunSpec) -> Path:
        """The per-epoch history CSV beside a run's model file."""
        return self.model(spec).with_name(f"{spec.target}.history.csv")

    def relative(self, path: Path) -> str:
        return str(Path(path).relative_to(self.root))


def plan_runs(datasets: list[str] | None = None, sources: list[str] | None = None,
              targets: list[str] | None = None, transfers: bool = True, seeds=(None,)) -> list[RunSpec]:
    """Every run a study needs, seed by seed (None: the grid's TrainConfig seed): pre-trainings of all sources
    and targets first, then each source -> target."""
    sources = list(dict.fromkeys(sources or datasets or []))
    targets = list(dict.fromkeys(targets or datasets or []))
    if not sources and not targets:
        raise TSTransferError("no datasets to plan: give --datasets, or --sources and --targets")
    seeds = list(dict.fromkeys(seeds))
    runs = [RunSpec("pretrain", "", name, seed) for seed in seeds for name in dict.fromkeys(sources + targets)]
    if transfers:
        runs += [RunSpec("transfer", s, t, seed) for seed in seeds for s in sources for t in targets if s != t]
    return runs


# ----------------------------------------------------------------------------- the store of a study


def open_store(study: str | Path, create: bool = False, read_only: bool = False) -> Store:
    """The results store of a study folder; without `create`, a folder with no store is refused; `read_only` for
    commands that only read it (a shared study may be read-only)."""
    paths = StudyPaths(study)
    if not create and not paths.store.is_file():
        raise TSTransferError(f"--study {study}: no study.sqlite here (run `tstransfer grid` first)")
    if read_only:
        return Store(paths.store, f"--study {study}", read_only=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    return Store(paths.store, f"--study {study}")


def check_data_unchanged(study: str | Path, archive: str | Path, names) -> None:
    """Refuse when the data of `names` in `archive` differ from those the study's finished runs used (grid and
    transfer record them; similarity, recommend, evaluate-selection and report read them again)."""
    if not StudyPaths(study).store.is_file():
        return
    fingerprints = {}
    for name in names:
        try:
            _, _, train, test = find_dataset(name, archive)
        except TSTransferError:
            continue  # not in this archive: whoever reads it says so
        fingerprints[name] = data_fingerprint(train, test)
    store = open_store(study, read_only=True)
    try:
        store.refuse_changed(fingerprints, str(archive))
    finally:
        store.close()


def check_similarity(study: str | Path) -> None:
    """Refuse the study's similarity outputs (neighbours, distances, prototypes) when `tstransfer similarity` read
    other data of a dataset than the study's runs were last recorded with: its neighbours would be stale, a silent
    wrong answer in the report, `recommend` and `evaluate-selection`."""
    paths = StudyPaths(study)
    if not paths.similarity.is_dir() or not paths.store.is_file():
        return
    where = paths.similarity_fingerprints
    if not where.is_file():
        if paths.neighbours.is_file():
            warnings.warn(f"{paths.similarity} records no fingerprint of the data it was computed from (an older "
                          f"tstransfer); `tstransfer similarity --study {study}` recomputes it with one",
                          stacklevel=2)
        return
    try:
        recorded = parse_json(where.read_text(), where, "similarity fingerprints JSON")
    except (OSError, UnicodeDecodeError) as err:
        raise TSTransferError(f"{where}: not readable ({err})") from None
    datasets = recorded.get("datasets") if isinstance(recorded, dict) else None
    if not isinstance(datasets, dict) or not all(isinstance(v, str) for v in datasets.values()):
        raise TSTransferError(f"{where}: not a similarity fingerprint record; rerun `tstransfer similarity --study "
                              f"{study}`")
    store = open_store(study, read_only=True)
    try:
        used = store.fingerprints()
    finally:
        store.close()
    stale = [name for name, fingerprint in datasets.items() if name in used and used[name] != fingerprint]
    if stale:
        raise TSTransferError(f"--study {study}: `tstransfer similarity` read other data of {', '.join(stale[:3])} "
                              "than the study's runs (the data changed in between): its neighbours and prototypes are "
                              f"stale; run `tstransfer similarity --study {study}` again")


def study_settings(study: str | Path) -> dict:
    """A study's recorded settings, without creating anything ({} for no study yet)."""
    if not StudyPaths(study).store.is_file():
        return {}
    store = open_store(study, read_only=True)
    try:
        return store.settings()
    finally:
        store.close()


def study_scope(study: str | Path) -> dict:
    """The archive and datasets a study recorded ({} for no study yet)."""
    settings = study_settings(study)
    return {"archive": settings.get("archive"), "datasets": settings.get("datasets", [])} if settings else {}


def study_archive(study: str | Path, archive: str | None) -> str:
    """The archive a study command reads: `archive` when given, else the one the study recorded, else
    $TSTRANSFER_ARCHIVE or the mini archive."""
    return archive or study_scope(study).get("archive") or default_archive()


def study_datasets(study: str | Path, archive: str, datasets: list[str] | None, every: bool = False) -> list[str]:
    """The datasets a study command works on: those named, else every dataset of the archive (`every`), else
    the study's recorded scope; a new study must be told which."""
    if datasets:
        return resolve_names(datasets, archive)
    if every:
        return list_archive(archive)
    scope = study_scope(study).get("datasets")
    if scope:
        return scope
    raise TSTransferError(f"--study {study} has no datasets yet: name them (--datasets A B ...) or give --all "
                          f"for every dataset of {archive} ({len(list_archive(archive))} datasets)")


def extend_scope(study: str | Path, archive: str | Path, names: list[str]) -> None:
    """Add datasets (of `archive`) to the study's recorded scope; a new study records the archive too."""
    store = open_store(study, create=True)
    try:
        store.extend_scope(str(Path(archive).resolve()), names)
    finally:
        store.close()


def resume(store: Store, paths: StudyPaths) -> None:
    """Before a driver starts: runs left 'running' by a killed driver start again from scratch, and a
    finished run whose model file was deleted is to do again."""
    missing = [row["id"] for row in store.runs("done")
               if not row["model_path"] or not (paths.root / row["model_path"]).is_file()]
    store.requeue(missing)


# ----------------------------------------------------------------------------- the paper's tables


@dataclass
class StudyTables:
    """A study's results, averaged over its seeds. With one seed the spreads are None."""

    accuracy: pd.DataFrame  # source x target mean test accuracy after transfer (NaN where not run)
    variation: pd.DataFrame  # 100 * (acc_transfer - acc_no_transfer) / acc_no_transfer, of the means
    baseline: pd.Series  # mean no-transfer accuracy per dataset
    runs: pd.DataFrame  # one row per run
    settings: dict
    seeds: list[int]
    accuracy_std: pd.DataFrame | None = None  # sample std over seeds (ddof 1)
    variation_std: pd.DataFrame | None = None  # std over seeds of each seed's variation
    baseline_per_seed: pd.DataFrame | None = None  # dataset x seed
    per_seed: pd.DataFrame | None = None  # long: seed, source, target, accuracy, no_transfer, variation_pct


def variation_matrix(accuracy: pd.DataFrame, baseline: pd.Series) -> pd.DataFrame:
    """The paper's accuracy variation in %, column by column against the target's no-transfer accuracy."""
    base = baseline.reindex(accuracy.columns).replace(0, np.nan)
    return 100 * (accuracy - base) / base


def load_study(study: str | Path, seeds: list[int] | None = None) -> StudyTables:
    """Read the finished runs of a study's store into the paper's tables (all its seeds, or `seeds`)."""
    store = open_store(study, read_only=True)
    try:
        settings = store.settings()
        runs = pd.DataFrame([dict(r) for r in store.runs()], columns=["id", *RUN_COLUMNS, "updated_at"])
    finally:
        store.close()
    runs = runs[RUN_COLUMNS]
    present = sorted(int(s) for s in runs.seed.unique())
    if seeds:
        absent = [s for s in seeds if s not in present]
        if absent:
            raise TSTransferError(f"--seeds {' '.join(map(str, absent))}: the study {study} has no runs with "
                                  f"{'this seed' if len(absent) == 1 else 'these seeds'} (it has "
                                  f"{', '.join(map(str, present)) or 'none'})")
        runs = runs[runs.seed.isin(seeds)]
    chosen = list(seeds) if seeds else present
    done = runs[runs.status == "done"]
    pre, pairs = done[done.kind == "pretrain"], done[done.kind == "transfer"]
    if len(chosen) > 1:
        _check_same_seeds(study, pre, pairs, chosen)
    names = sorted(set(pairs.source) | set(pairs.target) | set(pre.target))
    order = {"index": [n for n in names if n in set(pairs.source)],
             "columns": [n for n in names if n in set(pairs.target)]}

    def matrix(aggfunc) -> pd.DataFrame:
        frame = pairs.pivot_table(index="source", columns="target", values="test_acc", aggfunc=aggfunc)
        frame = frame.reindex(**order).astype(float)
        frame.index.name, frame.columns.name = "source", None
        return frame

    baseline = pre.groupby("target")["test_acc"].mean().astype(float).rename("accuracy")
    baseline.index.name = "dataset"
    accuracy = matrix("mean")
    tables = StudyTables(accuracy, variation_matrix(accuracy, baseline), baseline.sort_index(), runs, settings,
                         chosen)
    if len(chosen) > 1:
        per_seed_base = pre.pivot_table(index="target", columns="seed", values="test_acc", aggfunc="first")
        per_seed_base.index.name = "dataset"
        long = pairs[["seed", "source", "target", "test_acc"]].rename(columns={"test_acc": "accuracy"})
        long["no_transfer"] = [per_seed_base.at[t, s] if t in per_seed_base.index and s in per_seed_base.columns
                               else np.nan for s, t in zip(long.seed, long.target)]
        long["variation_pct"] = 100 * (long.accuracy - long.no_transfer) / long.no_transfer.replace(0, np.nan)
        variation_std = long.pivot_table(index="source", columns="target", values="variation_pct", aggfunc="std")
        variation_std = variation_std.reindex(**order).astype(float)
        variation_std.index.name, variation_std.columns.name = "source", None
        tables.accuracy_std, tables.variation_std = matrix("std"), variation_std
        tables.baseline_per_seed = per_seed_base.sort_index()
        tables.per_seed = long.sort_values(["seed", "source", "target"]).reset_index(drop=True)
    return tables


def _check_same_seeds(study, pre: pd.DataFrame, pairs: pd.DataFrame, seeds: list[int]) -> None:
    """Means over seeds compare like with like only when every baseline and every pair has every seed: refuse
    a mix (a seed still running, a failed run, a seed added for some datasets only) and say how to resolve it."""
    finished = {}
    for (source, target), group in pd.concat([pre, pairs]).groupby(["source", "target"]):
        finished[target if not source else f"{source}->{target}"] = set(group.seed)
    gaps = {run: sorted(set(seeds) - have) for run, have in finished.items() if set(seeds) - have}
    if not gaps:
        return
    complete = [s for s in seeds if not any(s in missing for missing in gaps.values())]
    examples = "; ".join(f"{run} lacks seed {', '.join(map(str, missing))}" for run, missing in list(gaps.items())[:3])
    hint = (f"pass --seeds {' '.join(map(str, complete))} (the seeds every run has)" if len(complete) > 0
            else "no seed is complete")
    raise TSTransferError(f"--study {study}: {len(gaps)} run(s) have not finished with every seed ({examples}); a mean "
                          f"over different seeds would not compare like with like. Finish them (`tstransfer grid "
                          f"--seeds {' '.join(map(str, seeds))}`, --retry-failed for failed runs) or {hint}")


def compare(after, before, tie_band: float = 0.0, decimals: int = 6) -> np.ndarray:
    """+1 win, 0 draw, -1 loss of `after` against `before` (arrays of accuracies in [0, 1]); a draw is equal
    after rounding to `decimals` (the paper's exact equality) or, with `tie_band` (accuracy points), a
    difference of at most that many points."""
    diff = np.round(np.asarray(after, dtype=float), decimals) - np.round(np.asarray(before, dtype=float), decimals)
    tied = np.abs(diff) <= tie_band / 100 + (1e-12 if tie_band else 0.0)
    return np.where(tied, 0, np.sign(diff)).astype(int)


def wins_draws_losses(after, before, tie_band: float = 0.0) -> dict:
    outcome = compare(after, before, tie_band)
    return {"wins": int((outcome > 0).sum()), "draws": int((outcome == 0).sum()), "losses": int((outcome < 0).sum())}


def summarize(accuracy: pd.DataFrame, baseline: pd.Series, tie_band: float = 0.0) -> dict:
    """Pairs improved / unchanged / degraded against no transfer (see `compare`), mean change."""
    base = baseline.reindex(accuracy.columns)
    after = accuracy.to_numpy()
    before = np.broadcast_to(base.to_numpy(), after.shape)
    ok = ~np.isnan(after) & ~np.isnan(before)
    counts = wins_draws_losses(after[ok], before[ok], tie_band)
    diff = np.round(after[ok], 6) - np.round(before[ok], 6)
    variation = variation_matrix(accuracy, baseline).to_numpy()[ok]
    return {"pairs": int(ok.sum()), "improved": counts["wins"], "unchanged": counts["draws"],
            "degraded": counts["losses"],
            "mean_change_points": float(100 * diff.mean()) if diff.size else float("nan"),
            "mean_variation_pct": float(np.nanmean(variation)) if variation.size else float("nan"),
            "median_variation_pct": float(np.nanmedian(variation)) if variation.size else float("nan")}


def majority_rates(names, archive) -> pd.Series:
    """Each dataset's majority-class rate on its test split (NaN where the archive or the split cannot be read):
    the accuracy a collapsed model gets by always answering one class."""
    rates = {}
    for name in names:
        try:
            labels = test_labels(name, archive) if archive else None
        except TSTransferError:
            labels = None
        rates[name] = majority_rate(labels) if labels else np.nan
    series = pd.Series(rates, name="majority", dtype=float)
    series.index.name = "dataset"
    return series


def collapsed(tables: StudyTables, majority: pd.Series) -> tuple[pd.DataFrame, int]:
    """The no-transfer baselines at or below their dataset's majority-class rate (dataset, accuracy, majority) and
    the number of transfer pairs at or below their target's."""
    base = pd.DataFrame({"accuracy": tables.baseline, "majority": majority.reindex(tables.baseline.index)})
    flagged = base[[at_or_below_majority(a, m) for a, m in zip(base.accuracy, base.majority)]]
    pairs = 0
    for target in tables.accuracy.columns:
        m = majority.get(target, np.nan)
        pairs += sum(at_or_below_majority(a, m) for a in tables.accuracy[target].dropna())
    return flagged, pairs


def study_config(settings: dict) -> TrainConfig | None:
    """The recipe a study was run with, from its settings (None before its first grid)."""
    if "epochs" not in settings:
        return None
    return TrainConfig.from_record(settings.get("recipe", {}), "the study's recorded settings (study.sqlite)",
                                   epochs=settings["epochs"], seed=settings.get("seed", 0))


def deviations(settings: dict) -> list[str]:
    """How a study's settings depart from the paper's recipe (epochs, recipe), in words."""
    config = study_config(settings)
    return config.deviations() if config else []


def write_results(study: str | Path, out: str | Path | None = None, seeds: list[int] | None = None,
                  tie_band: float = 0.0) -> tuple[dict, dict]:
    """Write accuracy_matrix.csv, variation_matrix.csv, no_transfer.csv, runs.csv and settings.json (with
    several seeds: their means, and accuracy_std.csv, variation_std.csv, no_transfer_per_seed.csv, per_seed.csv).

    Returns (paths, summary). `out` defaults to `<study>/results`.
    """
    tables = load_study(study, seeds)
    out = Path(out) if out else StudyPaths(study).results
    summary = summarize(tables.accuracy, tables.baseline, tie_band)
    majority = majority_rates(tables.baseline.index.union(tables.accuracy.columns), tables.settings.get("archive"))
    flagged, flagged_pairs = collapsed(tables, majority)
    summary.update({"baselines_at_or_below_majority": list(flagged.index),
                    "pairs_at_or_below_majority": flagged_pairs})
    counts = tables.runs.status.value_counts().to_dict()
    meta = {"settings": tables.settings, "deviations_from_paper": deviations(tables.settings),
            "datasets": sorted(set(tables.baseline.index) | set(tables.accuracy.columns)),
            "runs": {k: int(v) for k, v in counts.items()}, "summary": summary}
    if len(tables.seeds) > 1 or tie_band:
        meta.update({"seeds": tables.seeds, "tie_band_points": tie_band})
    paths = {
        "accuracy": atomic_write_text(out / "accuracy_matrix.csv", csv_text(tables.accuracy)),
        "variation": atomic_write_text(out / "variation_matrix.csv", csv_text(tables.variation)),
        "no_transfer": atomic_write_text(out / "no_transfer.csv", csv_text(tables.baseline)),
        "runs": atomic_write_text(out / "runs.csv", csv_text(tables.runs, index=False)),
        "settings": atomic_write_text(out / "settings.json", json.dumps(meta, indent=2, default=str)),
        "majority": atomic_write_text(out / "majority.csv", csv_text(
            pd.DataFrame({"majority": majority, "no_transfer": tables.baseline.reindex(majority.index)}))),
    }
    if tables.per_seed is not None:
        paths.update({
            "accuracy_std": atomic_write_text(out / "accuracy_std.csv", csv_text(tables.accuracy_std)),
            "variation_std": atomic_write_text(out / "variation_std.csv", csv_text(tables.variation_std)),
            "no_transfer_per_seed": atomic_write_text(out / "no_transfer_per_seed.csv",
                                                      csv_text(tables.baseline_per_seed)),
            "per_seed": atomic_write_text(out / "per_seed.csv", csv_text(tables.per_seed, index=False)),
        })
    return paths, summary
