"""OpenMP's wait policy, side by side in one run: seconds per epoch with spinning waits (OMP_WAIT_POLICY=ACTIVE,
libgomp's default, what tstransfer runs with) and sleeping ones (PASSIVE), on a quiet machine and with one core
taken by a busy loop pinned to it. Neither wins both cases (issue 22: the thread count should follow the free
cores instead).

Usage: python benchmarks/omp_wait_policy.py [--epochs 15] [--threads 2] [--repeats 2]

Each measurement is a fresh process (the policy is read when torch loads OpenMP) training the paper's FCN with
the paper's recipe on mini-archive datasets. Results: benchmarks/results/omp_wait_policy_cpu.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = ["ItalyPowerDemand", "GunPoint", "SonyAIBORobotSurface1"]
CHILD = r"""
import json, sys, time
from dataclasses import replace
from tstransfer.data import load_dataset
from tstransfer.recipe import TrainConfig
from tstransfer.training import train
epochs, threads, out = int(sys.argv[1]), int(sys.argv[2]), {}
for name in sys.argv[3:]:
    ds = load_dataset(name)
    config = replace(TrainConfig(epochs=epochs, threads=threads), test_every=None)
    train(ds, replace(config, epochs=2), progress=False)  # warm-up
    start = time.perf_counter()
    train(ds, config, progress=False)
    out[name] = (time.perf_counter() - start) / epochs
print(json.dumps(out))
"""


def measure(policy: str, epochs: int, threads: int) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    done = subprocess.run([sys.executable, "-c", CHILD, str(epochs), str(threads), *DATASETS], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    lines = [f"# OpenMP wait policy, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, {args.threads} threads, "
             f"paper recipe, {args.epochs} epochs, best of {args.repeats}", "",
             f"{'case':<30}{'dataset':<24}{'ACTIVE ms/epoch':>16}{'PASSIVE ms/epoch':>17}{'ACTIVE/PASSIVE':>15}"]
    for case in ("quiet", "one core busy"):
        busy = None
        if case == "one core busy":  # a busy loop pinned to core 0, as another program on a laptop
            busy = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", "while True: pass"])
        try:
            best = {p: {} for p in ("ACTIVE", "PASSIVE")}
            for _ in range(args.repeats):
                for policy in best:
                    for name, seconds in measure(policy, args.epochs, args.threads).items():
                        best[policy][name] = min(seconds, best[policy].get(name, float("inf")))
        finally:
            if busy is not None:
                busy.kill()
        for name in DATASETS:
            a, p = best["ACTIVE"][name], best["PASSIVE"][name]
            lines.append(f"{case:<30}{name:<24}{a * 1e3:>16.1f}{p * 1e3:>17.1f}{a / p:>15.2f}")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    (HERE / "results" / "omp_wait_policy_cpu.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
