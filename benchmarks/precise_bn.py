"""What recomputing the kept weights' BatchNorm statistics over the training set ("precise BN", the practical
recipe's `precise_bn`) does to a short paper-recipe training, on the vendored mini archive.

Usage: python benchmarks/precise_bn.py [--epochs 30] [--threads 2]

Each dataset is trained once with the paper's recipe; the saved model (running averages, as the paper keeps
them) and the same weights with recomputed statistics are scored on the test split and on the training split,
beside the training accuracy the history logged at the kept epoch and the majority-class rate. Results:
benchmarks/results/precise_bn_cpu.txt.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch

from tstransfer.data import MINI_ARCHIVE, list_archive, load_dataset
from tstransfer.guardrails import majority_rate
from tstransfer.recipe import TrainConfig
from tstransfer.training import evaluate, recompute_batchnorm, train

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[30])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    lines = [f"# precise BatchNorm statistics after a short paper-recipe training, {time.strftime('%Y-%m-%d')}",
             "test / train accuracy of the same weights: running averages (paper) vs recomputed (practical); "
             "logged: the training accuracy the history logged at the kept epoch; seed 0", "",
             f"{'dataset':<24}{'epochs':>7}{'majority':>9}{'logged':>8}{'train paper':>12}{'train precise':>14}"
             f"{'test paper':>11}{'test precise':>13}"]
    gains = []
    for epochs in args.epochs:
        for name in list_archive(MINI_ARCHIVE):
            ds = load_dataset(name)
            model, result = train(ds, TrainConfig(epochs=epochs, seed=0, threads=args.threads, test_every=None),
                                  progress=False)
            precise = copy.deepcopy(model)
            recompute_batchnorm(precise.network, torch.as_tensor(ds.X_train),
                                None if ds.equal_length else torch.as_tensor(ds.len_train))
            scores = [evaluate(m, ds, split)["accuracy"] for split in ("train", "test") for m in (model, precise)]
            gains.append(scores[3] - scores[2])
            lines.append(f"{name:<24}{epochs:>7}{majority_rate(ds.y_test):>9.3f}{result.train_acc:>8.3f}"
                         f"{scores[0]:>12.3f}{scores[1]:>14.3f}{scores[2]:>11.3f}{scores[3]:>13.3f}")
            print(lines[-1], flush=True)
    lines += ["", f"mean test accuracy change from recomputing the statistics: {100 * sum(gains) / len(gains):+.1f} "
              f"points over {len(gains)} trainings (min {100 * min(gains):+.1f}, max {100 * max(gains):+.1f})"]
    text = "\n".join(lines) + "\n"
    print(lines[-1])
    (HERE / "results" / "precise_bn_cpu.txt").write_text(text)


if __name__ == "__main__":
    main()
