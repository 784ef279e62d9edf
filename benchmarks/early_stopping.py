"""What the early-stopping option saves and costs, on real data, side by side in one run.

Usage: python benchmarks/early_stopping.py [--archive PATH] [--datasets ...] [--epochs 2000] [--patience 100]

Trains each dataset with the paper's recipe (2000 epochs) and again with `early_stopping=P` (stop once the
lr is at its floor and the training loss has not improved for P epochs), same seed, and prints the epochs
run, the wall time and the test accuracy of both. Defaults to the mini archive bundled with tstransfer.
"""

from __future__ import annotations

import argparse

from tstransfer.data import MINI_ARCHIVE, load_dataset
from tstransfer.training import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(MINI_ARCHIVE))
    parser.add_argument("--datasets", nargs="+", default=["SonyAIBORobotSurface1", "ItalyPowerDemand", "ECG200"])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--patience", type=int, default=100)
    args = parser.parse_args()
    print(f"{'dataset':<24}{'epochs':>8}{'ES epochs':>10}{'seconds':>9}{'ES s':>8}{'saved':>7}"
          f"{'acc':>8}{'ES acc':>8}{'diff':>7}")
    totals = [0.0, 0.0]
    diffs = []
    for name in args.datasets:
        ds = load_dataset(name, args.archive)
        runs = []
        for patience in (None, args.patience):
            config = TrainConfig(epochs=args.epochs, seed=0, test_every=args.epochs, early_stopping=patience)
            runs.append(train(ds, config, progress=False)[1])
        full, early = runs
        totals[0] += full.seconds
        totals[1] += early.seconds
        diffs.append(100 * (early.test_acc - full.test_acc))
        print(f"{name:<24}{full.epochs:>8}{early.epochs:>10}{full.seconds:>9.0f}{early.seconds:>8.0f}"
              f"{1 - early.seconds / full.seconds:>7.0%}{100 * full.test_acc:>8.1f}{100 * early.test_acc:>8.1f}"
              f"{diffs[-1]:>+7.1f}", flush=True)
    print(f"total: {totals[0]:.0f} s -> {totals[1]:.0f} s ({1 - totals[1] / totals[0]:.0%} saved); "
          f"mean accuracy change {sum(diffs) / len(diffs):+.2f} points")


if __name__ == "__main__":
    main()
