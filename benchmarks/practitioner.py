"""The practitioner's benchmark: on small datasets the zoo did not train on, what does `fit` give against what a
practitioner would try instead (aeon's MiniRocket, the FCN from scratch)? It decides `fit`'s defaults.

Usage: python benchmarks/practitioner.py [--archive ../shared/ucr] [--seeds 0 1] [--epochs 1000]
       [--targets A B ...] [--threads 1] [--summary-only]

Targets: the smallest datasets of the archive that have a model in the shipped zoo (at most 60 training
series, smallest first). Sources: the shipped zoo without the target (leave one dataset out). Arms, each on
the target's own train/test split, every FCN arm with the same epoch budget (`--epochs`, 1000 by default
instead of the paper's 2000, said in the results):
- scratch-paper: the FCN from scratch with the paper's recipe (batch int(min(n/10, 16)), fixed epochs);
- scratch-practical, scratch-practical-b8: from scratch with the practical recipe (batch floor 4, or 8);
- sim-1 .. sim-5: the 5 most similar sources (Algorithm 1), each fine-tuned with the practical recipe;
  ens-3, ens-5: the mean probabilities of sim-1..3 and sim-1..5 (`fit --ensemble 3|5`, at no extra cost);
- logme: the LogME pick (`--select transferability`), validate: the validate pick among the top 3
  (`--select validate`, 3 stratified splits), both fine-tuned with the practical recipe (reused when the pick
  is one of sim-1..5; the selection's own seconds are added);
- minirocket: aeon's MiniRocketClassifier (10,000 kernels).

Resumable and meant for the background (`nice`): each finished arm is one JSON line in
`benchmarks/results/practitioner/runs-seed<S>.jsonl` (its test probabilities in `proba/`), and a rerun skips
what is there. Seeds run outer (seed 0 on every target first). The summary (`summary.md`, `summary.csv`) is
rewritten after every target. Seconds are wall-clock on this machine with `--threads` threads, niced: they
compare arms run side by side, not machines.

`--suite arch` (issue 28's architecture axis) runs another set of arms on targets the zoos never saw (the 12
extra UCR datasets of `../shared/data/fetch_ucr_extra.sh` with the fewest training points, `--extra-archive`),
results in `benchmarks/results/practitioner_arch/`: MiniRocket and, for each architecture of `--archs`, the
network from scratch and fine-tuned from the most similar source of its own shipped zoo (`fit`'s path), all with
the practical recipe. Every source pool is the same: the datasets that every architecture's zoo held when the
run started. Each training has a wall-clock budget (`--max-time`, the recipe's `max_time`: it stops there with
its best weights), because a 2-core CPU cannot train these long series to 1000 epochs for every arm; the budget
and the epochs each arm reached are in the results. `--shard i/n` splits the targets among n processes run side by
side (each appends to runs-seed<S>-<i>.jsonl). `--max-time 0 --out DIR`: no budget, `fit`'s own recipe.
`--ways transfer`: the transfer arms alone (`fit`'s default; the summary then has no scratch column).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tstransfer.backbone import overlap
from tstransfer.baselines import minirocket
from tstransfer.data import load_dataset
from tstransfer.files import atomic_write_text
from tstransfer.models import load_model
from tstransfer.recipe import TrainConfig
from tstransfer.selection import rank_by_similarity, rank_by_transferability, rank_by_validation
from tstransfer.training import train
from tstransfer.transfer import fine_tune
from tstransfer.zoo import Zoo

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "ucr"
OUT = HERE / "results" / "practitioner"
TOP = 5
ENSEMBLES = (3, 5)
MAX_TRAIN = 60
N_TARGETS = 12
ARMS = ["scratch-paper", "scratch-practical", "scratch-practical-b8", *[f"sim-{i}" for i in range(1, TOP + 1)],
        *[f"ens-{k}" for k in ENSEMBLES], "logme", "validate", "minirocket"]


def default_targets(zoo: Zoo, archive: Path) -> list[str]:
    """The zoo's datasets in the archive with at most MAX_TRAIN training series, smallest first."""
    rows = [(e.n_train, e.length, name) for name, e in zoo.entries.items()
            if e.n_train and e.n_train <= MAX_TRAIN and (archive / name).is_dir()]
    return [name for *_, name in sorted(rows)][:N_TARGETS]


class Runs:
    """The finished arms of one seed: JSON lines, appended as each arm ends (a rerun skips them). `part`: processes
    running side by side each append to a file of their own (runs-seed<S><part>.jsonl) and read every part's."""

    def __init__(self, out: Path, seed: int, part: str = ""):
        self.path = out / f"runs-seed{seed}{part}.jsonl"
        self.proba_dir = out / "proba"
        self.proba_dir.mkdir(parents=True, exist_ok=True)
        self.rows = {}
        for path in sorted(out.glob(f"runs-seed{seed}.jsonl")) + sorted(out.glob(f"runs-seed{seed}-*.jsonl")):
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.rows[(row["target"], row["arm"])] = row

    def get(self, target: str, arm: str) -> dict | None:
        return self.rows.get((target, arm))

    def proba(self, target: str, seed: int, arm: str) -> np.ndarray:
        return np.load(self.proba_dir / f"{target}-s{seed}-{arm}.npy").astype(np.float64)

    def add(self, row: dict, proba: np.ndarray | None = None) -> dict:
        if proba is not None:
            np.save(self.proba_dir / f"{row['target']}-s{row['seed']}-{row['arm']}.npy", proba.astype(np.float32))
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.rows[(row["target"], row["arm"])] = row
        return row


def test_proba(model, dataset) -> np.ndarray:
    return model.proba(dataset.X_test, None if dataset.equal_length else dataset.len_test)


def accuracy(proba: np.ndarray, dataset) -> float:
    return float((proba.argmax(1) == dataset.y_test).mean())


def run_target(target: str, seed: int, archive: Path, zoo: Zoo, runs: Runs, epochs: int, threads: int) -> None:
    dataset = load_dataset(target, archive)
    base = {"target": target, "seed": seed, "n_train": len(dataset.y_train), "n_test": len(dataset.y_test),
            "classes": dataset.n_classes, "length": int(dataset.X_train.shape[-1]), "epochs": epochs}
    def recipe(name: str, **overrides) -> TrainConfig:  # the test split scored once, for the kept weights
        return replace(TrainConfig.named(name, epochs=epochs, seed=seed, threads=threads, **overrides), test_every=None)

    practical = recipe("practical")

    def record(arm: str, proba: np.ndarray | None, seconds: float, **extra) -> dict:
        row = {**base, "arm": arm, "accuracy": None if proba is None else accuracy(proba, dataset),
               "seconds": seconds, **extra}
        print(f"{target:<24} seed {seed} {arm:<22} acc {row['accuracy'] if row['accuracy'] is not None else '-'}"
              f"  {seconds:.1f}s", flush=True)
        return runs.add(row, proba)

    def scratch(arm: str, config: TrainConfig) -> None:
        if runs.get(target, arm):
            return
        model, result = train(dataset, config, progress=False)
        record(arm, test_proba(model, dataset), result.seconds, epochs_run=result.epochs,
               best_epoch=result.best_epoch, deviations=config.deviations())

    scratch("scratch-paper", recipe("paper"))
    scratch("scratch-practical", practical)
    scratch("scratch-practical-b8", recipe("practical", min_batch_size=8))

    # Algorithm 1's ranking of the other zoo datasets (the target's own model is left out)
    ranked = runs.get(target, "select-similarity")
    if not ranked:
        started = time.perf_counter()
        table = rank_by_similarity(zoo, dataset, exclude=[target])
        ranked = record("select-similarity", None, time.perf_counter() - started, ranking=list(table.source))
    order = ranked["ranking"]

    def fine_tuned(source: str, arm: str) -> dict:
        row = runs.get(target, arm)
        if row:
            return row
        model, result = fine_tune(zoo.model(source), dataset, practical, progress=False, source_name=source)
        return record(arm, test_proba(model, dataset), result.seconds, source=source, epochs_run=result.epochs,
                      best_epoch=result.best_epoch, similarity_rank=order.index(source) + 1)

    sims = [fine_tuned(source, f"sim-{i + 1}") for i, source in enumerate(order[:TOP])]
    for k in ENSEMBLES:
        if not runs.get(target, f"ens-{k}"):
            proba = np.mean([runs.proba(target, seed, f"sim-{i + 1}") for i in range(k)], axis=0)
            record(f"ens-{k}", proba, sum(r["seconds"] for r in sims[:k]) + ranked["seconds"],
                   sources=[r["source"] for r in sims[:k]])

    def picked(arm: str, choose) -> None:
        if runs.get(target, arm):
            return
        started = time.perf_counter()
        table = choose()
        selection_seconds = time.perf_counter() - started
        source = str(table.source.iloc[0])
        if source in order[:TOP]:  # already fine-tuned with the same recipe and seed: the same run
            i = order.index(source) + 1
            row = runs.get(target, f"sim-{i}")
            proba, seconds = runs.proba(target, seed, f"sim-{i}"), row["seconds"]
        else:
            model, result = fine_tune(zoo.model(source), dataset, practical, progress=False, source_name=source)
            proba, seconds = test_proba(model, dataset), result.seconds
        record(arm, proba, seconds + selection_seconds, source=source, selection_seconds=selection_seconds,
               similarity_rank=order.index(source) + 1, note=table.attrs.get("note"))

    picked("logme", lambda: rank_by_transferability(zoo, dataset, exclude=[target]))
    picked("validate", lambda: rank_by_validation({n: zoo.model(n) for n in order[:3]}, dataset, practical,
                                                  max(1, epochs // 10)))

    if not runs.get(target, "minirocket"):
        result = minirocket(dataset, seed)
        record("minirocket", result.proba, result.seconds)


# ----------------------------------------------------------------------------- summary


def wins_draws_losses(a: pd.Series, b: pd.Series) -> str:
    both = pd.concat([a, b], axis=1).dropna()
    diff = (both.iloc[:, 0] - both.iloc[:, 1]).round(6)
    return f"{(diff > 0).sum()}/{(diff == 0).sum()}/{(diff < 0).sum()}"


def finished_rows(out: Path) -> list[dict]:
    """Every finished arm of every seed, as its JSON line recorded it."""
    rows = []
    for path in sorted(out.glob("runs-seed*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def summarize(out: Path, epochs: int) -> str | None:
    rows = finished_rows(out)
    rows = [r for r in rows if r["arm"] in ARMS]
    if not rows:
        return None
    runs = pd.DataFrame(rows)
    # a target counts once all its arms are finished for a seed
    complete = runs.groupby(["target", "seed"]).arm.nunique() == len(ARMS)
    runs = runs.set_index(["target", "seed"]).loc[complete[complete].index].reset_index()
    if runs.empty:
        return None
    acc = runs.pivot_table(index=["target", "seed"], columns="arm", values="accuracy")[ARMS]
    sec = runs.pivot_table(index=["target", "seed"], columns="arm", values="seconds")[ARMS]
    per_target = acc.groupby(level="target").mean()
    facts = runs.groupby("target")[["n_train", "classes", "length"]].first()
    order = facts.sort_values(["n_train", "length"]).index
    per_target = per_target.loc[order]
    seeds = sorted(runs.seed.unique())
    atomic_write_text(out / "summary.csv", per_target.join(facts).to_csv(float_format="%.4f"))

    lines = [
        "# Practitioner benchmark: `fit` against MiniRocket and the FCN from scratch",
        "",
        f"Targets: {len(per_target)} small datasets of `../shared/ucr` with a model in the shipped zoo (smallest "
        f"first); sources: the shipped zoo without the target. Seeds {', '.join(map(str, seeds))} (a target is "
        f"listed once all its arms are finished for a seed; accuracies are means over the finished seeds). Every "
        f"FCN arm has the same budget of {epochs} epochs (**not the paper's 2000**): `scratch-paper` runs all of "
        "them, the practical recipe stops early. Fine-tuning uses the practical recipe. Accuracy on each "
        "dataset's official test split, which no arm uses to choose anything.",
        "",
        "The shipped zoo's DiatomSizeReduction model was rebuilt with the practical recipe (30.1% -> 94.1%) while "
        "this ran, after BirdChicken's fine-tunings: BirdChicken's `sim-3` (both seeds) started from the paper-recipe "
        "model; no earlier target had DiatomSizeReduction among its 5 most similar sources or as its LogME pick.",
        "",
        "| target | n_train | classes | " + " | ".join(ARMS) + " |",
        "|---|---:|---:|" + "---:|" * len(ARMS),
    ]
    for target, row in per_target.iterrows():
        f = facts.loc[target]
        best = row.max()
        cells = [f"**{v:.3f}**" if abs(v - best) < 1e-9 else f"{v:.3f}" for v in row]
        lines.append(f"| {target} | {f.n_train} | {f.classes} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | | | " + " | ".join(f"**{v:.3f}**" for v in per_target.mean()) + " |")
    lines += ["", "Per arm, over every (target, seed): mean accuracy, wins/draws/losses against MiniRocket and "
              "against each scratch arm, mean seconds (training; selection included for logme, validate and the "
              "ensembles).", "",
              "| arm | mean accuracy | W/D/L vs MiniRocket | W/D/L vs scratch-paper | W/D/L vs scratch-practical "
              "| mean seconds |", "|---|---:|---:|---:|---:|---:|"]
    for arm in ARMS:
        lines.append(f"| {arm} | {acc[arm].mean():.4f} | {wins_draws_losses(acc[arm], acc['minirocket'])} | "
                     f"{wins_draws_losses(acc[arm], acc['scratch-paper'])} | "
                     f"{wins_draws_losses(acc[arm], acc['scratch-practical'])} | {sec[arm].mean():.1f} |")
    lines += ["", "Choices the defaults rest on, W/D/L over every (target, seed), mean accuracy difference in points:",
              "", "| comparison | W/D/L | mean difference |", "|---|---:|---:|"]
    for a, b in (("ens-3", "sim-1"), ("ens-5", "sim-1"), ("ens-5", "ens-3"), ("logme", "sim-1"),
                 ("validate", "sim-1"), ("scratch-practical-b8", "scratch-practical"), ("sim-1", "scratch-practical"),
                 ("ens-3", "scratch-practical")):
        lines.append(f"| {a} vs {b} | {wins_draws_losses(acc[a], acc[b])} | "
                     f"{100 * (acc[a] - acc[b]).mean():+.2f} |")
    near_chance = [(t, s) for (t, s), r in acc.iterrows() if r["minirocket"] > 0.9 and runs.set_index(
        ["target", "seed"]).loc[(t, s)].n_train.iloc[0] < 20 and r["ens-3"] < 1.5 / facts.loc[t].classes]
    lines += ["", f"Targets with n_train < 20 where MiniRocket is above 0.9 and `ens-3` is near chance (below 1.5x "
              f"1/classes): {near_chance or 'none'}."]
    text = "\n".join(lines) + "\n"
    atomic_write_text(out / "summary.md", text)  # the seeds' processes may write it at the same time
    return text


# ----------------------------------------------------------------------------- the architecture axis

ARCH_OUT = HERE / "results" / "practitioner_arch"
EXTRA = HERE.parent / "data" / "ucr-extra"  # ../shared/data/fetch_ucr_extra.sh's default destination
SUMMARY_2018 = HERE.parent / "src" / "tstransfer" / "ucr2018_summary.csv"


WAYS = ("scratch", "transfer")


def arch_arms(archs: list[str], ways: tuple[str, ...] = WAYS) -> list[str]:
    return ["minirocket", *[f"{a}-{how}" for how in WAYS if how in ways for a in archs]]


def extra_targets(archive: Path, count: int = N_TARGETS) -> list[str]:
    """The `count` equal-length datasets of `archive` with the fewest training points (series x length)."""
    summary = pd.read_csv(SUMMARY_2018)
    summary = summary[summary.name.isin([p.name for p in archive.iterdir() if p.is_dir()])]
    summary = summary[summary.length.astype(str).str.isdigit()]
    points = summary.n_train.astype(int) * summary.length.astype(int)
    return list(summary.assign(points=points).sort_values(["points", "name"]).name[:count])


def unseen_targets(archive: Path, seen, count: int = N_TARGETS) -> list[str]:
    """The `count` datasets of `extra_targets`' order for which `seen(name)` (why it was seen, or None) is None, then
    those found seen on the way (run, and listed apart in the summaries)."""
    chosen, found = [], []
    for target in extra_targets(archive, count=sum(p.is_dir() for p in archive.iterdir())):
        if len(chosen) == count:
            break
        (found if seen(target) else chosen).append(target)
    return chosen + found


_SEEN_BY_POOL: dict[tuple[str, str], str | None] = {}


def seen_by_pool(target: str, archive: Path, sources: list[str]) -> str | None:
    """Which of `target`'s series the pool's source models trained on, or None. Read from the shipped LITE
    backbone's record, which holds every training series of the 40 datasets the zoos were trained on."""
    if (target, str(archive)) not in _SEEN_BY_POOL:
        model = load_model(Zoo(arch="lite").backbone("lite"))
        pool = [s for s in sources if s != target]  # a shared target's own model is out of its pool
        found = overlap(model, load_dataset(target, archive), "backbone-lite", within=pool)
        said = [f"{k} of its {n} {split} series (from {', '.join(names)})"
                for split, (k, n, names) in found.counts.items() if k]
        _SEEN_BY_POOL[target, str(archive)] = (f"the pool's models trained on {' and '.join(said)}" if said
                                               else found.refusal())
    return _SEEN_BY_POOL[target, str(archive)]


def shared_sources(archs: list[str]) -> list[str]:
    """The datasets every architecture's shipped zoo holds now: one source pool for every architecture."""
    pools = [set(Zoo(arch=a).names()) for a in archs]
    return sorted(set.intersection(*pools))


def run_arch_target(target: str, seed: int, archive: Path, archs: list[str], sources: list[str], runs: Runs,
                    epochs: int, threads: int, max_time: float, target_set: str,
                    ways: tuple[str, ...] = WAYS) -> None:
    dataset = load_dataset(target, archive)
    base = {"set": target_set, "target": target, "seed": seed, "n_train": len(dataset.y_train),
            "n_test": len(dataset.y_test), "classes": dataset.n_classes, "length": int(dataset.X_train.shape[-1]),
            "epochs": epochs, "max_time": max_time}

    def record(arm: str, proba: np.ndarray | None, seconds: float, **extra) -> None:
        row = {**base, "arm": arm, "accuracy": None if proba is None else accuracy(proba, dataset),
               "seconds": seconds, **extra}
        print(f"{target:<24} seed {seed} {arm:<16} acc {row['accuracy'] if proba is not None else '-'}"
              f"  {seconds:.1f}s  {extra.get('epochs_run', '')}", flush=True)
        runs.add(row, proba)

    if not runs.get(target, "minirocket"):
        result = minirocket(dataset, seed)
        record("minirocket", result.proba, result.seconds)
    for arch in archs:
        config = replace(TrainConfig.named("practical", arch=arch, epochs=epochs, seed=seed, threads=threads,
                                           max_time=max_time), test_every=None)
        if "scratch" in ways and not runs.get(target, f"{arch}-scratch"):
            model, result = train(dataset, config, progress=False)
            record(f"{arch}-scratch", test_proba(model, dataset), result.seconds, epochs_run=result.epochs,
                   best_epoch=result.best_epoch, deviations=config.deviations())
        if "transfer" in ways and not runs.get(target, f"{arch}-transfer"):
            zoo = Zoo(arch=arch)
            started = time.perf_counter()
            outside = [n for n in zoo.names() if n not in sources or n == target]  # a shared target: left out
            table = rank_by_similarity(zoo, dataset, exclude=outside)
            selection = time.perf_counter() - started
            source = str(table.source.iloc[0])
            model, result = fine_tune(zoo.model(source), dataset, config, progress=False, source_name=source)
            record(f"{arch}-transfer", test_proba(model, dataset), result.seconds + selection, source=source,
                   selection_seconds=selection, epochs_run=result.epochs, best_epoch=result.best_epoch,
                   deviations=config.deviations(), ranking=list(table.source))


SETS = {"extra": "UCR datasets that no zoo holds (the extra datasets with the fewest training points)",
        "shared": "the FCN suite's small datasets of `../shared/ucr`, each left out of the source pool (its "
                  "siblings stay: transfer is flattered)"}


def arch_section(runs: pd.DataFrame, arms: list[str], where: str) -> tuple[list[str], pd.DataFrame]:
    acc = runs.pivot_table(index=["target", "seed"], columns="arm", values="accuracy")[arms]
    sec = runs.pivot_table(index=["target", "seed"], columns="arm", values="seconds")[arms]
    reached = runs[runs.arm != "minirocket"].pivot_table(index=["target", "seed"], columns="arm",
                                                         values="epochs_run")
    facts = runs.groupby("target")[["n_train", "classes", "length"]].first()
    order = facts.assign(points=facts.n_train * facts.length).sort_values("points").index
    per_target = acc.groupby(level="target").mean().loc[order]
    lines = [f"Targets: {len(per_target)} {where}, each on its official split; seeds "
             f"{', '.join(map(str, sorted(runs.seed.unique())))}.", "",
             "| target | n_train | length | classes | " + " | ".join(arms) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(arms)]
    for target, row in per_target.iterrows():
        f = facts.loc[target]
        cells = [f"**{v:.3f}**" if abs(v - row.max()) < 1e-9 else f"{v:.3f}" for v in row]
        lines.append(f"| {target} | {f.n_train} | {f.length} | {f.classes} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | | | | " + " | ".join(f"**{v:.3f}**" for v in per_target.mean()) + " |")
    lines += ["", "| arm | mean accuracy | points behind MiniRocket (mean) | worst target behind MiniRocket | "
              "W/D/L vs MiniRocket | mean seconds | mean epochs reached |", "|---|---:|---:|---|---:|---:|---:|"]
    for arm in arms:
        gap = 100 * (acc["minirocket"] - acc[arm])
        worst = f"{gap.idxmax()[0]} ({gap.max():+.1f})" if arm != "minirocket" else ""
        epochs_cell = f"{reached[arm].mean():.0f}" if arm in reached else ""
        lines.append(f"| {arm} | {acc[arm].mean():.4f} | {gap.mean():+.2f} | {worst} | "
                     f"{wins_draws_losses(acc[arm], acc['minirocket'])} | {sec[arm].mean():.1f} | {epochs_cell} |")
    if runs.seed.nunique() > 1:  # under a wall-clock budget the load beside a seed's run moves the epochs it reaches
        by_seed = runs.pivot_table(index="seed", columns="arm", values="accuracy")[arms]
        epochs_by_seed = runs[runs.arm != "minirocket"].pivot_table(index="seed", columns="arm", values="epochs_run")
        why = (": the budget is wall-clock, so a seed run beside another process reaches fewer epochs in it"
               if runs.max_time.notna().any() else "")
        lines += ["", f"By seed, mean accuracy (mean epochs reached){why}.", "", "| seed | " + " | ".join(arms) + " |",
                  "|---:|" + "---:|" * len(arms)]
        for seed, row in by_seed.iterrows():
            lines.append(f"| {seed} | " + " | ".join(
                f"{row[a]:.3f}" + (f" ({epochs_by_seed.loc[seed, a]:.0f})" if a in epochs_by_seed else "")
                for a in arms) + " |")
    return lines, per_target.join(facts)


def summarize_arch(out: Path, archs: list[str], archives: dict[str, Path], ways: tuple[str, ...] = WAYS) -> str | None:
    rows = finished_rows(out)
    arms = arch_arms(archs, ways)
    runs = pd.DataFrame([{"set": "extra", **r} for r in rows if r["arm"] in arms])
    if runs.empty:
        return None
    sources = json.loads((out / "sources.json").read_text())
    why_seen = {t: why for s, t in runs[["set", "target"]].drop_duplicates().itertuples(index=False)
                if (why := seen_by_pool(t, archives[s], sources))}
    seen, runs = runs[runs.target.isin(why_seen)], runs[~runs.target.isin(why_seen)]
    complete = runs.groupby(["target", "seed"]).arm.nunique() == len(arms)
    runs = runs.set_index(["target", "seed"]).loc[complete[complete].index].reset_index()
    if runs.empty:
        return None
    if runs.max_time.nunique(dropna=False) > 1:  # the summary states one budget: a folder mixing them would lie
        budgets = ", ".join(sorted({"none" if pd.isna(v) else f"{v:g} s" for v in runs.max_time}))
        raise SystemExit(f"{out}: runs with different --max-time budgets ({budgets}); each budget needs its own --out")
    budget, epochs = runs.max_time.iloc[0], runs.epochs.iloc[0]
    how = ("no time budget** (one CPU thread): `fit`'s own recipe" if pd.isna(budget) else
           f"a wall-clock budget of {budget:.0f} s per training** (one CPU thread; a deviation from the recipe: long "
           "series stop before they converge, the FCN's sooner, since its epochs cost more)")
    lines = [
        "# Practitioner benchmark, architecture axis",
        "",
        f"Every network trains with the practical recipe (at most {epochs} epochs, early stopping) **and {how}. "
        "`-transfer`: fine-tuned "
        "from the most similar source (Algorithm 1) of the architecture's own shipped zoo, every architecture "
        "choosing among the same source datasets (`sources.json`); its seconds include the selection. MiniRocket: "
        "aeon's, 10,000 kernels.",
    ]
    tables = []
    for name, where in SETS.items():
        part = runs[runs.set == name]
        if not part.empty:
            section, table = arch_section(part, arms, where)
            lines += ["", f"## {name} targets", "", *section]
            tables.append(table.assign(set=name))
    if not seen.empty:
        lines += ["", "## left out: targets whose series the source models trained on", "",
                  "Found per series (`backbone.overlap` on the shipped backbone's record of the 40 shared datasets' "
                  "training series, within the pool): transfer from such a source is evaluated on series it was "
                  "trained on. Their numbers, not counted above:", "",
                  "| target | why | " + " | ".join(arms) + " |", "|---|---|" + "---:|" * len(arms)]
        for target, part in seen.groupby("target"):
            accs = part.groupby("arm").accuracy.mean()
            lines.append(f"| {target} | {why_seen[target]} | "
                         + " | ".join(f"{accs[a]:.3f}" if a in accs else "" for a in arms) + " |")
    atomic_write_text(out / "summary.csv", pd.concat(tables).to_csv(float_format="%.4f"))
    text = "\n".join(lines) + "\n"
    atomic_write_text(out / "summary.md", text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(SHARED))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--targets", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--suite", choices=["fcn", "arch"], default="fcn", help="fcn: the FCN arms on zoo targets "
                        "(leave one out); arch: the architecture axis on targets outside the zoos")
    parser.add_argument("--archs", nargs="+", default=["lite", "fcn"])
    parser.add_argument("--extra-archive", default=str(EXTRA))
    parser.add_argument("--set", choices=list(SETS), default="extra", help="--suite arch's targets: extra (outside "
                        "every zoo) or shared (the FCN suite's, left out of the pool)")
    parser.add_argument("--max-time", type=float, default=100.0, help="seconds per training (--suite arch); 0: no "
                        "budget, fit's own recipe (give another --out)")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS), help="--suite arch: the trainings of "
                        "each architecture (transfer alone: fit's default, at half the cost)")
    parser.add_argument("--shard", default="0/1", help="i/n (--suite arch): this process's share of the targets, "
                        "for n processes side by side")
    args = parser.parse_args()
    if args.suite == "arch":
        return main_arch(args)
    out, archive = Path(args.out), Path(args.archive)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    if not args.summary_only:
        zoo = Zoo()
        targets = args.targets or default_targets(zoo, archive)
        print(f"targets: {targets}", flush=True)
        for seed in args.seeds:
            runs = Runs(out, seed)
            for target in targets:
                run_target(target, seed, archive, zoo, runs, args.epochs, args.threads)
                summarize(out, args.epochs)
    print(summarize(out, args.epochs) or "no finished target yet")



def main_arch(args) -> None:
    out = Path(args.out) if args.out != str(OUT) else ARCH_OUT
    if not (args.max_time >= 0 and math.isfinite(args.max_time)):
        raise SystemExit(f"--max-time {args.max_time}: seconds above 0, or 0 for no budget")
    ways = tuple(args.ways)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    archives = {"extra": Path(args.extra_archive), "shared": Path(args.archive)}
    if not args.summary_only:
        archive = archives[args.set]
        if not archive.is_dir():
            raise SystemExit(f"{archive}: no such folder (the extra datasets: ../shared/data/fetch_ucr_extra.sh)")
        pool = out / "sources.json"  # the source pool is fixed at the first run, kept by the reruns
        if not pool.is_file():
            pool.write_text(json.dumps(shared_sources(args.archs)))
        sources = json.loads(pool.read_text())
        targets = args.targets or (unseen_targets(archive, lambda t: seen_by_pool(t, archive, sources))
                                   if args.set == "extra" else default_targets(Zoo(), archive))
        index, count = map(int, args.shard.split("/"))
        targets = targets[index::count]
        print(f"targets: {targets}\nsources ({len(sources)}): {sources}", flush=True)
        for seed in args.seeds:
            runs = Runs(out, seed, f"-{index}" if count > 1 else "")
            for target in targets:
                run_arch_target(target, seed, archive, args.archs, sources, runs, args.epochs, args.threads,
                                args.max_time or None, args.set, ways)
                summarize_arch(out, args.archs, archives, ways)
    print(summarize_arch(out, args.archs, archives, ways) or "no finished target yet")


if __name__ == "__main__":
    main()
