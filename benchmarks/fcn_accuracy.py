"""FCN accuracy with the paper's full recipe (2000 epochs) against the authors' published FCN results.

Usage: python benchmarks/fcn_accuracy.py [--archive ../shared/ucr] [--datasets A B ...] [--epochs 2000]

Prints, per dataset, our test accuracy beside the published FCN mean (std) over 10 runs
(`dl-4-tsc_results-uea-avg-std.csv`, UCR 2015 names) and whether it lies within 2 std or 3 points.
The test split is evaluated once at the end (logging it every epoch does not change the result).
"""

from __future__ import annotations

import argparse
import csv
import re
import time
from pathlib import Path

from tstransfer.data import ALIASES_2018_TO_2015, load_dataset
from tstransfer.training import TrainConfig, train

HERE = Path(__file__).resolve().parent
DEFAULT_ARCHIVE = HERE.parent.parent / "shared" / "ucr"
PUBLISHED = HERE.parent.parent / "shared" / "reference" / "dl-4-tsc_results-uea-avg-std.csv"
FASTEST = ["SonyAIBORobotSurface1", "ItalyPowerDemand", "MoteStrain", "TwoLeadECG", "ECG200"]


def published_fcn(path: Path) -> dict[str, tuple[float, float]]:
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            m = re.match(r"([\d.]+)\(([\d.]+)\)", row["FCN"] or "")
            if m:
                out[row[""]] = (float(m.group(1)), float(m.group(2)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(DEFAULT_ARCHIVE))
    parser.add_argument("--published", default=str(PUBLISHED))
    parser.add_argument("--datasets", nargs="+", default=FASTEST)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    published = published_fcn(Path(args.published))
    if args.epochs != 2000:
        print(f"NOTE: {args.epochs} epochs, not the paper's 2000: accuracies are not comparable.")
    print(f"{'dataset':<24}{'ours %':>8}{'published %':>16}{'diff':>7}  ok   best_epoch  seconds")
    rows_ok = 0
    for name in args.datasets:
        ds = load_dataset(name, args.archive)
        start = time.perf_counter()
        _, result = train(ds, TrainConfig(epochs=args.epochs, seed=args.seed, test_every=args.epochs))
        ours = 100 * result.test_acc
        mean, std = published.get(ALIASES_2018_TO_2015.get(name, name), (float("nan"), float("nan")))
        ok = abs(ours - mean) <= max(2 * std, 3.0)
        rows_ok += ok
        print(f"{name:<24}{ours:>8.1f}{mean:>10.1f} ({std:.1f}){ours - mean:>+7.1f}  {'yes' if ok else 'NO ':<4}"
              f"{result.best_epoch:>10}  {time.perf_counter() - start:>7.0f}", flush=True)
    print(f"{rows_ok}/{len(args.datasets)} within 2 std or 3 points of the published FCN mean")


if __name__ == "__main__":
    main()
