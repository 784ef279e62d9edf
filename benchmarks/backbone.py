"""Does one backbone pre-trained on many datasets beat the single most similar source (issue 29's fold benchmark)?

Usage: python benchmarks/backbone.py [--shard 0/2] [--seeds 0] [--max-time 30] [--backbone-epochs 100]
       [--folds 4] [--threads 1] [--summary-only]

Protocol, cross-validation over datasets: the 40 datasets of `../shared/ucr` (the LITE zoo's) are shuffled (seed 0)
and cut into `--folds` folds. Backbone k is pre-trained (`tstransfer backbone build`'s pretrain_backbone: pretext
task, BatchNorm multiplexer, balanced sampling) on the training splits of the other folds' datasets and is
evaluated on fold k's, which it never saw. Every training is LITE with the practical recipe and the same wall-clock
budget (`--max-time` seconds, one thread: a declared deviation, a 2-core CPU cannot train 5 arms x 52 targets to
1000 epochs), each target on its official split, its test split used for nothing but the score. Arms:
- scratch: LITE from scratch;
- k1: fine-tuned from the LITE zoo model of the most similar dataset (Algorithm 1) among backbone k's datasets:
  the single source and the backbone choose from the same pool;
- backbone: backbone k fine-tuned;
- multihead: backbone k's twin pre-trained on the same datasets with the multi-head objective (`mhfold<k>`, the
  objective `backbone build` defaults to), fine-tuned;
- minirocket: aeon's MiniRocket (10,000 kernels).
Extra targets (`--extra-archive`): the 12 extra UCR datasets with the fewest training points whose series no
backbone and no zoo model saw (per series: PhalangesOutlinesCorrect, the shared Phalanx datasets' series, is run
and listed apart, and the 13th, Worms, takes its place). Arms: scratch, k1 (among all 40), minirocket,
and backbones pre-trained on nested random subsets of 10 and 20 datasets, fold 0's 30 and all 40 (how the gain
grows with the number of pre-training datasets), all 40 with the multi-head objective (`--objective multihead`),
and, for a target of a UCR type the shared datasets hold (Image, Sensor, Simulated), the backbone of the shared
datasets of its type only (`--domain TYPE`).
The all-40 multi-head backbone is the one the LITE zoo ships (`backbone-lite`, the same file).

Resumable and meant for the background (`nice`): backbones are built with checkpoints into `backbones/`, each
finished arm is one JSON line in `runs-seed<S>-<shard>.jsonl` (test probabilities in `proba/`); a rerun skips what
is there. Two processes (`--shard 0/2`, `--shard 1/2`) split the backbones, then the targets. The summary
(`summary.md`, `summary.csv`, `scaling.png`) is rewritten after every target.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from practitioner import (
    EXTRA,
    N_TARGETS,
    SHARED,
    Runs,
    accuracy,
    finished_rows,
    test_proba,
    unseen_targets,
    wins_draws_losses,
)

from tstransfer.backbone import BackboneConfig, overlap, pretrain_backbone
from tstransfer.baselines import minirocket
from tstransfer.data import load_dataset, ucr_summary
from tstransfer.files import atomic_write_text
from tstransfer.models import load_model
from tstransfer.recipe import TrainConfig
from tstransfer.selection import rank_by_similarity
from tstransfer.training import train
from tstransfer.transfer import fine_tune
from tstransfer.zoo import Zoo

OUT = Path(__file__).resolve().parent / "results" / "backbone"
SHARED_ARMS = ["scratch", "k1", "backbone", "minirocket"]
MULTIHEAD_ARM = "multihead"  # shared targets: the fold's multi-head twin, summarized apart (it came after the rest)
SIZES = (10, 20, 30, 40)  # pre-training datasets of the scaling backbones (30: fold 0's)
DOMAINS = ("Image", "Sensor", "Simulated")  # the UCR types of the extra targets that the 40 shared datasets hold


def plan(names: list[str], folds: int) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The backbones (name -> the datasets it is pre-trained on) and each shared dataset's fold."""
    order = [names[i] for i in np.random.default_rng(0).permutation(len(names))]
    fold_of = {name: i % folds for i, name in enumerate(order)}
    backbones = {f"fold{k}": [n for n in order if fold_of[n] != k] for k in range(folds)}
    backbones.update({f"mhfold{k}": backbones[f"fold{k}"] for k in range(folds)})  # the multi-head twins
    pool = backbones["fold0"]  # nested subsets: 10 of 20 of fold 0's 30 of all 40
    backbones.update({"subset10": pool[:10], "subset20": pool[:20], "all40": order, "multihead40": order})
    types = ucr_summary().type
    backbones.update({f"domain-{t}": [n for n in order if types.get(n) == t] for t in DOMAINS})
    return backbones, fold_of


def build_backbones(backbones: dict[str, list[str]], mine: list[str], out: Path, epochs: int, threads: int) -> None:
    folder = out / "backbones"
    folder.mkdir(parents=True, exist_ok=True)
    for name in mine:
        path = folder / f"{name}.safetensors"
        if path.is_file():
            continue
        config = BackboneConfig(epochs=epochs, threads=threads, checkpoint_every=200,
                                objective="multihead" if name.startswith(("multihead", "mhfold")) else "pretext")
        datasets = [load_dataset(n, SHARED) for n in backbones[name]]
        started = time.perf_counter()
        model, result = pretrain_backbone(datasets, config, path, progress=False)
        model.save(path)
        for extra in path.parent.glob(f"{path.name}.checkpoint.*"):
            extra.unlink()
        print(f"backbone {name}: {len(datasets)} datasets, {result.steps} steps, last accuracy "
              f"{result.history[-1]['accuracy']:.3f}, {time.perf_counter() - started:.0f}s", flush=True)


def wait_for(paths: list[Path]) -> None:
    while not all(p.is_file() for p in paths):
        time.sleep(10)


def run_target(target: str, archive: Path, arms: dict[str, str | None], pool: list[str], seed: int, runs: Runs,
               max_time: float, threads: int, out: Path, target_set: str, fold: int | None = None) -> None:
    """`arms`: arm -> backbone name (None for scratch, k1, minirocket); `pool`: k1's candidate datasets."""
    dataset = load_dataset(target, archive)
    base = {"set": target_set, "target": target, "fold": fold, "seed": seed, "n_train": len(dataset.y_train),
            "n_test": len(dataset.y_test), "classes": dataset.n_classes, "length": int(dataset.X_train.shape[-1]),
            "max_time": max_time}
    config = replace(TrainConfig.named("practical", arch="lite", seed=seed, threads=threads, max_time=max_time),
                     test_every=None)

    def record(arm: str, proba: np.ndarray, seconds: float, result=None, **extra) -> None:
        row = {**base, "arm": arm, "accuracy": accuracy(proba, dataset), "seconds": seconds, **extra}
        if result is not None:
            row.update(epochs_run=result.epochs, best_epoch=result.best_epoch, deviations=config.deviations())
        print(f"{target:<28} seed {seed} {arm:<12} acc {row['accuracy']:.4f}  {seconds:.1f}s", flush=True)
        runs.add(row, proba)

    for arm, backbone in arms.items():
        if runs.get(target, arm):
            continue
        if arm == "minirocket":
            result = minirocket(dataset, seed)
            record(arm, result.proba, result.seconds)
        elif arm == "scratch":
            model, result = train(dataset, config, progress=False)
            record(arm, test_proba(model, dataset), result.seconds, result)
        elif arm == "k1":
            zoo = Zoo(arch="lite")
            started = time.perf_counter()
            table = rank_by_similarity(zoo, dataset, exclude=[n for n in zoo.names() if n not in pool])
            selection = time.perf_counter() - started
            source = str(table.source.iloc[0])
            model, result = fine_tune(zoo.model(source), dataset, config, progress=False, source_name=source)
            record(arm, test_proba(model, dataset), result.seconds + selection, result, source=source,
                   selection_seconds=selection)
        else:
            source = load_model(out / "backbones" / f"{backbone}.safetensors")
            model, result = fine_tune(source, dataset, config, progress=False, source_name=backbone)
            record(arm, test_proba(model, dataset), result.seconds, result, backbone=backbone)


_SEEN: dict[tuple[str, str], str | None] = {}


def seen_by(target: str, archive: Path, backbone: str, out: Path) -> str | None:
    """Which of `target`'s series `backbone` trained on (backbone.overlap, the check `fit` makes, stricter: one
    series is enough), or None."""
    if (target, backbone) not in _SEEN:
        model = load_model(out / "backbones" / f"{backbone}.safetensors")
        found = overlap(model, load_dataset(target, archive), backbone)
        said = [f"{k} of its {n} {split} series (from {', '.join(sources)})"
                for split, (k, n, sources) in found.counts.items() if k]
        _SEEN[target, backbone] = f"{backbone} trained on {' and '.join(said)}" if said else found.refusal()
    return _SEEN[target, backbone]


def seen_targets(rows: pd.DataFrame, out: Path, extra: Path) -> dict[str, str]:
    """target -> why it is left out of the tables: a shared target whose fold's backbone (and so k1's pool)
    trained on some of its series, an extra one that the 40 shared datasets hold."""
    seen = {}
    for target_set, target in rows[["set", "target"]].drop_duplicates().itertuples(index=False):
        backbone = rows[(rows.target == target) & (rows.arm == "backbone")].backbone.dropna()
        name = str(backbone.iloc[0]) if target_set == "shared" and len(backbone) else "all40"
        why = seen_by(target, SHARED if target_set == "shared" else extra, name, out)
        if why is not None:
            seen[target] = why
    return seen


def extra_arms() -> dict[str, str | None]:
    return {"scratch": None, "k1": None, "minirocket": None, **{f"backbone{n}": {30: "fold0", 40: "all40"}.get(
        n, f"subset{n}") for n in SIZES}, "multihead40": "multihead40"}


# ----------------------------------------------------------------------------- summary


def with_every_arm(rows: pd.DataFrame, target_set: str, arms: list[str]) -> pd.DataFrame:
    """The rows of `arms` on the (target, seed) pairs of `target_set` where every one of them is finished."""
    part = rows[(rows.set == target_set) & rows.arm.isin(arms)]
    done = part.groupby(["target", "seed"]).arm.nunique() == len(arms)
    return part.set_index(["target", "seed"]).loc[done[done].index].reset_index()


def section(acc: pd.DataFrame, sec: pd.DataFrame, facts: pd.DataFrame, arms: list[str],
            compare: list[str]) -> list[str]:
    per_target = acc.groupby(level="target").mean()
    order = facts.assign(points=facts.n_train * facts.length).loc[per_target.index].sort_values("points").index
    folds = (facts.fold != "").any()  # the shared targets' fold; the extra targets have none
    lines = [f"| target | {'fold | ' if folds else ''}n_train | length | classes | " + " | ".join(arms) + " |",
             f"|---|{'---:|' if folds else ''}---:|---:|---:|" + "---:|" * len(arms)]
    for target in order:
        row, f = per_target.loc[target], facts.loc[target]
        cells = [f"**{v:.3f}**" if abs(v - row.max()) < 1e-9 else f"{v:.3f}" for v in row[arms]]
        lines.append(f"| {target} | {f'{f.fold} | ' if folds else ''}{f.n_train} | {f.length} | {f.classes} | "
                     + " | ".join(cells) + " |")
    lines.append(f"| **mean** | {'| ' if folds else ''}| | | " + " | ".join(
        f"**{per_target[a].mean():.3f}**" for a in arms) + " |")
    lines += ["", "| arm | mean accuracy | " + " | ".join(f"W/D/L vs {c}" for c in compare) + " | mean seconds |",
              "|---|---:|" + "---:|" * len(compare) + "---:|"]
    for arm in arms:
        lines.append(f"| {arm} | {acc[arm].mean():.4f} | " + " | ".join(
            wins_draws_losses(acc[arm], acc[c]) if c != arm else "" for c in compare) + f" | {sec[arm].mean():.1f} |")
    return lines


def summarize(out: Path, backbones: dict[str, list[str]], folds: int, epochs: int, extra: Path) -> str | None:
    rows = pd.DataFrame(finished_rows(out))
    if rows.empty:
        return None
    why_seen = seen_targets(rows, out, extra)
    seen = rows[rows.target.isin(why_seen)]
    rows = rows[~rows.target.isin(why_seen)]
    budget = rows.max_time.iloc[0]
    lines = ["# One backbone for all datasets: the fold benchmark", "",
             f"LITE, the practical recipe with **a wall-clock budget of {budget:.0f} s per training** (one thread; a "
             "deviation: long series stop before they converge), official splits, seeds "
             f"{', '.join(map(str, sorted(rows.seed.unique())))}. Backbones: the pretext task (which dataset a series "
             f"comes from), BatchNorm statistics per dataset, balanced sampling, {epochs} batches of 64 per dataset "
             "(**not the 300 of `backbone build`'s default**), seed 0. `k1`: the LITE zoo model of the most similar "
             "dataset (Algorithm 1) in the backbone's own pool. A target is listed once all its arms are finished.",
             ""]
    tables = []
    for name, arms, compare, what in (
            ("shared", SHARED_ARMS, ["scratch", "k1", "minirocket"],
             f"the 40 datasets of `../shared/ucr`, {folds} folds: each evaluated with the backbone of the folds it "
             f"is not in ({40 - 40 // folds} datasets) and k1 from the same pool, less the targets whose series "
             "that pool holds (below)"),
            ("extra", list(extra_arms()), ["scratch", "k1", "backbone40", "minirocket"],
             f"UCR datasets no backbone and no zoo model saw (the {N_TARGETS} extra datasets with the fewest "
             "training points whose series the shared datasets do not hold: one that does is listed below); "
             "backbone<N>: pre-trained on N of the 40 shared datasets (nested), multihead40: all 40, multi-head "
             "objective")):
        part = with_every_arm(rows, name, arms)
        if part.empty:
            continue
        acc = part.pivot_table(index=["target", "seed"], columns="arm", values="accuracy")[arms]
        sec = part.pivot_table(index=["target", "seed"], columns="arm", values="seconds")[arms]
        facts = part.groupby("target")[["n_train", "classes", "length"]].first()
        facts["fold"] = part.groupby("target").fold.first().map(lambda v: "" if pd.isna(v) else int(v))
        lines += [f"## {name} targets: {len(facts)}", "", what + ".", "",
                  *section(acc, sec, facts, arms, compare), ""]
        tables.append(acc.groupby(level="target").mean().join(facts).assign(set=name))
        if name == "extra":
            lines += scaling(acc, out)
    if not tables:
        return None
    lines += multihead_section(rows)
    lines += domain_section(rows, backbones)
    lines += left_out(seen, why_seen)
    atomic_write_text(out / "summary.csv", pd.concat(tables).to_csv(float_format="%.4f"))
    text = "\n".join(lines) + "\n"
    atomic_write_text(out / "summary.md", text)
    return text


def left_out(seen: pd.DataFrame, why_seen: dict[str, str]) -> list[str]:
    """The targets whose series the backbone they would be evaluated with trained on, with their accuracies."""
    if seen.empty:
        return []
    arms = [*SHARED_ARMS, MULTIHEAD_ARM]
    lines = ["## left out: targets whose series a backbone trained on", "",
             "Found by the per-series record of what a backbone saw (`backbone.overlap`, the check `fit` makes): "
             "the UCR Phalanx datasets hold the same X-ray outlines under other labels and other splits, so a "
             "Phalanx target's fold backbone, and k1's source from the same pool, trained on most of its series. "
             "Their numbers, not counted above:", "",
             "| target | why | " + " | ".join(arms) + " |", "|---|---|" + "---:|" * len(arms)]
    for target, part in seen.groupby("target"):
        accs = part.groupby("arm").accuracy.mean().rename({"multihead40": MULTIHEAD_ARM})  # an extra target's
        lines.append(f"| {target} | {why_seen[target]} | "
                     + " | ".join(f"{accs[a]:.3f}" if a in accs else "" for a in arms) + " |")
    return [*lines, ""]


def multihead_section(rows: pd.DataFrame) -> list[str]:
    """The shared targets' fold backbones with the multi-head objective against their pretext twins (same datasets,
    same steps), on the targets where both are finished."""
    arms = ["scratch", "k1", "backbone", MULTIHEAD_ARM, "minirocket"]
    part = with_every_arm(rows, "shared", arms)
    if part.empty:
        return []
    acc = part.pivot_table(index=["target", "seed"], columns="arm", values="accuracy")[arms]
    lines = ["## multi-head fold backbones (shared targets)", "",
             f"Each fold's backbone again, pre-trained on the same datasets for the same steps with the multi-head "
             f"objective (`mhfold<k>`): {part.target.nunique()} targets, {len(acc)} target-seeds with every arm.", "",
             "| arm | mean accuracy | W/D/L vs scratch | W/D/L vs k1 | W/D/L vs backbone (pretext) "
             "| mean points vs k1 |",
             "|---|---:|---:|---:|---:|---:|"]
    for arm in arms:
        lines.append(f"| {arm} | {acc[arm].mean():.4f} | " + " | ".join(
            wins_draws_losses(acc[arm], acc[c]) if c != arm else "" for c in ("scratch", "k1", "backbone"))
            + f" | {100 * (acc[arm] - acc['k1']).mean():+.2f} |")
    return [*lines, ""]


def domain_section(rows: pd.DataFrame, backbones: dict[str, list[str]]) -> list[str]:
    """One backbone per UCR type against the one of all 40, on the extra targets of a type the shared datasets
    hold."""
    arms = ["scratch", "k1", "backbone40", "domain"]
    part = with_every_arm(rows, "extra", arms)
    if part.empty:
        return []
    acc = part.pivot_table(index=["target", "seed"], columns="arm", values="accuracy")[arms]
    per_target = acc.groupby(level="target").mean()
    used = part[part.arm == "domain"].groupby("target").backbone.first()
    lines = ["## per-domain backbones", "", "Extra targets whose UCR type the shared datasets hold: the backbone "
             "pre-trained on the shared datasets of that type only (`backbone build --domain TYPE`) against the one "
             "of all 40. A user's file has no type: `fit` ranks every backbone of its zoo like a source (Algorithm "
             "1: the distance to the nearest dataset it saw; LogME; validation), so a per-domain backbone is picked "
             "when its datasets are the nearest.", "",
             "| target | domain backbone (datasets) | " + " | ".join(arms) + " |", "|---|---|" + "---:|" * len(arms)]
    for target, row in per_target.iterrows():
        lines.append(f"| {target} | {used[target]} ({len(backbones[used[target]])}) | "
                     + " | ".join(f"{v:.3f}" for v in row) + " |")
    lines += ["| **mean** | | " + " | ".join(f"**{per_target[a].mean():.3f}**" for a in arms) + " |", "",
              f"domain vs backbone40: W/D/L {wins_draws_losses(acc['domain'], acc['backbone40'])}, "
              f"{100 * (acc['domain'] - acc['backbone40']).mean():+.2f} points.", ""]
    return lines


def scaling(acc: pd.DataFrame, out: Path) -> list[str]:
    """Mean accuracy of the backbone against the number of its pre-training datasets, and the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = [acc[f"backbone{n}"].mean() for n in SIZES]
    gains = [100 * (acc[f"backbone{n}"] - acc["scratch"]).mean() for n in SIZES]
    lines = ["Gain of the backbone over LITE from scratch on these targets, by the number of its pre-training "
             "datasets:", "", "| datasets | mean accuracy | gain over scratch (points) | W/D/L vs scratch |",
             "|---:|---:|---:|---:|"]
    for n, mean, gain in zip(SIZES, means, gains):
        lines.append(f"| {n} | {mean:.4f} | {gain:+.2f} | {wins_draws_losses(acc[f'backbone{n}'], acc['scratch'])} |")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(SIZES, gains, marker="o", label="backbone (pretext)")
    ax.axhline(100 * (acc["k1"] - acc["scratch"]).mean(), color="tab:orange", ls="--", label="k1 (of all 40)")
    ax.axhline(100 * (acc["minirocket"] - acc["scratch"]).mean(), color="tab:green", ls=":", label="MiniRocket")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="pre-training datasets", ylabel="accuracy gain over scratch (points)", xticks=list(SIZES),
           title=f"{len(acc)} extra UCR targets")
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = out / "scaling.tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(out / "scaling.png")
    return [*lines, "", "![gain by pre-training datasets](scaling.png)", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", default="0/1", help="i/n: this process's share of the backbones and targets")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-time", type=float, default=30.0)
    parser.add_argument("--backbone-epochs", type=int, default=100)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--extra-archive", default=str(EXTRA))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--targets", nargs="+", help="only these targets (a quick check)")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in SHARED.iterdir() if p.is_dir())
    backbones, fold_of = plan(names, args.folds)
    if not args.summary_only:
        index, count = map(int, args.shard.split("/"))
        torch.set_num_threads(args.threads)
        build_backbones(backbones, list(backbones)[index::count], out, args.backbone_epochs, args.threads)
        wait_for([out / "backbones" / f"{n}.safetensors" for n in backbones])
        while missing := [n for n in names if n not in Zoo(arch="lite").names()]:  # k1's pool: the whole zoo
            print(f"waiting for the LITE zoo's {missing} (`zoo build --arch lite`)", flush=True)
            time.sleep(60)
        extra = Path(args.extra_archive)
        unseen = unseen_targets(extra, lambda t: seen_by(t, extra, "all40", out))  # all40 saw every shared dataset
        work = [("shared", t) for t in names] + [("extra", t) for t in unseen]
        work = [w for w in sorted(work, key=lambda w: (w[0] != "extra", w[1])) if w[1] in (args.targets or [w[1]])]
        work = work[index::count]
        for seed in args.seeds:
            runs = Runs(out, seed, f"-{index}")
            for target_set, target in work:
                if target_set == "shared":
                    fold = fold_of[target]
                    arms = {"scratch": None, "k1": None, "backbone": f"fold{fold}", "minirocket": None,
                            MULTIHEAD_ARM: f"mhfold{fold}"}
                    run_target(target, SHARED, arms, backbones[f"fold{fold}"], seed, runs, args.max_time,
                               args.threads, out, "shared", fold)
                else:  # the domain backbone of the target's UCR type, when the shared datasets hold that type
                    domain = ucr_summary().type.get(target)
                    arms = {**extra_arms(), **({"domain": f"domain-{domain}"} if domain in DOMAINS else {})}
                    run_target(target, extra, arms, names, seed, runs, args.max_time, args.threads, out, "extra")
                summarize(out, backbones, args.folds, args.backbone_epochs, extra)
    summary = summarize(out, backbones, args.folds, args.backbone_epochs, Path(args.extra_archive))
    print(summary or "no finished target yet")


if __name__ == "__main__":
    main()
