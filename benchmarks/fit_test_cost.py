"""What a large test file costs `fit`: seconds per epoch with and without `--test`, side by side in one run.

Usage: python benchmarks/fit_test_cost.py [--archive ../shared/ucr] [--dataset TwoLeadECG] [--epochs 30]

A user's small training file with a large test file (TwoLeadECG: 23 training series, 1139 test series) is
fine-tuned from the shipped zoo's best source twice with `fit`'s settings (the practical recipe, the test split
scored once for the kept weights), once with the test split and once without. `fit` never uses the test
split to choose anything, so the epochs should cost the same; the paper's per-epoch logging (`--test-every 1`)
is timed beside for scale. Results: benchmarks/results/fit_test_cost_cpu.txt.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from tstransfer.data import load_dataset
from tstransfer.recipe import TrainConfig
from tstransfer.selection import rank_by_similarity
from tstransfer.transfer import fine_tune
from tstransfer.zoo import Zoo

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "ucr"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(SHARED))
    parser.add_argument("--dataset", default="TwoLeadECG")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, args.archive)
    zoo = Zoo()
    source = str(rank_by_similarity(zoo, ds, exclude=[ds.name]).source.iloc[0])
    fit_config = replace(TrainConfig.named("practical", epochs=args.epochs, early_stopping=None), test_every=None)
    arms = {"fit without --test": (replace(ds, X_test=None, y_test=None, len_test=None), fit_config),
            "fit with --test (scored once)": (ds, fit_config),
            "per-epoch test logging (--test-every 1)": (ds, replace(fit_config, test_every=1))}
    machine = platform.processor() or platform.machine()
    lines = [f"# fit's cost per epoch with a large test file, {time.strftime('%Y-%m-%d')}, {machine}, "
             f"{args.threads} threads",
             f"dataset {ds.name}: {len(ds.y_train)} training series, {len(ds.y_test)} test series, length "
             f"{ds.X_train.shape[-1]}; source {source} (shipped zoo), {args.epochs} epochs, practical recipe", ""]
    per_epoch = {}
    for name, (data, config) in arms.items():
        started = time.perf_counter()
        _, result = fine_tune(zoo.model(source), data, config, progress=False, source_name=source)
        total = time.perf_counter() - started
        per_epoch[name] = float(np.mean([h["seconds"] for h in result.history]))
        lines.append(f"{name:<42} {per_epoch[name] * 1e3:8.1f} ms/epoch   {total:6.1f} s in all")
    base = per_epoch["fit without --test"]
    lines += ["", f"with --test / without: {per_epoch['fit with --test (scored once)'] / base:.2f}x per epoch "
              "(goal: at most 1.5x)",
              f"per-epoch logging / without: {per_epoch['per-epoch test logging (--test-every 1)'] / base:.1f}x"]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results" / "fit_test_cost_cpu.txt").write_text(text)


if __name__ == "__main__":
    main()
