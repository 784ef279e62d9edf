"""`fit`'s time estimate against the time it takes, on datasets of three sizes, side by side in one run.

Usage: python benchmarks/fit_estimate.py [--archive ../shared/ucr] [--datasets A B C]

For each dataset (left out of the zoo, as a user's own file is): the estimate `fit --dry-run` prints (a training
step timed on the dataset's shape; the bound runs every epoch, the typical time stops where early stopping usually
does: grid.typical_epochs), then the fine-tuning `fit` runs with its defaults (the practical recipe,
the most similar source of the shipped zoo), timed. Goal: the typical estimate within 2x of the measured time.
Then what a CPU user should expect (the README's table): the estimate for 50, 500 and 5,000 series of length 150.
Run it on a quiet machine. Results: benchmarks/results/fit_estimate_cpu.txt (with the CPU model).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from tstransfer.cpus import cpu_model
from tstransfer.data import Dataset, load_dataset
from tstransfer.grid import estimate_fit, format_duration
from tstransfer.recipe import TrainConfig
from tstransfer.selection import rank_by_similarity
from tstransfer.transfer import fine_tune
from tstransfer.zoo import Zoo

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "ucr"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(SHARED))
    # earlier runs (fit_estimate_calibration*_cpu.txt) set grid.TYPICAL_EPOCHS; these are other datasets
    parser.add_argument("--datasets", nargs="+", default=["Lightning7", "Trace", "DistalPhalanxTW"])
    parser.add_argument("--out", default=str(HERE / "results" / "fit_estimate_cpu.txt"))
    args = parser.parse_args()
    zoo = Zoo()
    config = replace(TrainConfig.named("practical"), test_every=None)
    lines = [f"# fit's time estimate against the measured fine-tuning, {time.strftime('%Y-%m-%d')}, {cpu_model()}, "
             "threads: the governor's (one per free CPU)",
             "# practical recipe (at most 1000 epochs, early stopping), the most similar source of the shipped zoo; "
             "the dataset left out of the zoo", "",
             f"{'dataset':<32}{'n_train':>8}{'length':>7}{'step ms':>9}{'typical':>9}{'bound':>9}{'measured':>10}"
             f"{'epochs':>8}{'typ. epochs':>12}{'measured/typical':>18}"]
    ratios = []
    for name in args.datasets:
        dataset = load_dataset(name, args.archive)
        source = str(rank_by_similarity(zoo, dataset, exclude=[name], arch=config.arch).source.iloc[0])
        estimate = estimate_fit(dataset, config, 1)
        started = time.perf_counter()
        _, result = fine_tune(zoo.model(source), replace(dataset, X_test=None, y_test=None, len_test=None), config,
                              progress=False, source_name=source)
        measured = time.perf_counter() - started
        ratios.append(measured / estimate.typical)
        lines.append(f"{name:<32}{len(dataset.y_train):>8}{dataset.X_train.shape[-1]:>7}{estimate.step * 1e3:>9.1f}"
                     f"{format_duration(estimate.typical):>9}{format_duration(estimate.bound):>9}"
                     f"{format_duration(measured):>10}{result.epochs:>8}{estimate.typical_epochs:>12}"
                     f"{ratios[-1]:>18.2f}")
        print(lines[-1], flush=True)
    lines += ["", f"measured/typical from {min(ratios):.2f} to {max(ratios):.2f} (goal: within 0.5 to 2)", "",
              "# what to expect: fit's estimate for N series of length 150, 2 classes (one fine-tuning)",
              f"{'series':>8}{'step ms':>9}{'steps/epoch':>13}{'typical':>9}{'bound':>9}"]
    rng = np.random.default_rng(0)
    for n in (50, 500, 5000):
        y = np.arange(n) % 2
        X = rng.standard_normal((n, 1, 150)).astype(np.float32)
        estimate = estimate_fit(Dataset(f"n{n}", X, y, np.full(n, 150), None, None, None, [0, 1]), config, 1)
        lines.append(f"{n:>8}{estimate.step * 1e3:>9.1f}{estimate.steps_per_epoch:>13}"
                     f"{format_duration(estimate.typical):>9}{format_duration(estimate.bound):>9}")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
