"""The peer of the shipped LITE zoo: aeon's IndividualLITEClassifier (Keras/TensorFlow, the LITE paper's code) on
the same splits, for benchmarks/zoo_accuracy.py.

Usage: nice python benchmarks/lite_peer.py [--archive ../shared/ucr] [--datasets A B ...] [--epochs 1500]

Each dataset's splits are read and preprocessed by tstransfer (z-normalised series, as the zoo's models saw them),
then aeon's IndividualLITEClassifier trains with its published defaults (1500 epochs, batch 64, custom filters,
dilation, multiplexing; seed 0) in a throw-away virtual environment (/tmp/tstransfer-aeon-venv, made with
`pip install aeon tensorflow` when missing, as benchmarks/training_speed.py does). Its test accuracy is appended to
benchmarks/results/lite_peer.csv after each dataset: resumable, a dataset already there is skipped. Datasets default
to the shipped LITE zoo's, smallest first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from training_speed import ensure_aeon_venv

from tstransfer.data import load_dataset
from tstransfer.zoo import read_manifest, shipped_zoo

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "ucr"
OUT = HERE / "results" / "lite_peer.csv"

PEER_SCRIPT = r"""
import sys, time, json, numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)  # one CPU, like the zoo build's workers
tf.config.threading.set_inter_op_parallelism_threads(1)
from aeon.classification.deep_learning import IndividualLITEClassifier
X, y, Xt, yt = (np.load(p) for p in sys.argv[1:5])
clf = IndividualLITEClassifier(n_epochs=int(sys.argv[5]), random_state=0, verbose=False, save_best_model=False,
                               save_last_model=False)
start = time.perf_counter()
clf.fit(X, y)
accuracy = float((clf.predict(Xt) == yt).mean())
print(json.dumps({"accuracy": accuracy, "seconds": time.perf_counter() - start}))
"""


def run_peer(python: Path, name: str, archive: str, epochs: int) -> dict | None:
    ds = load_dataset(name, archive)
    with tempfile.TemporaryDirectory() as tmp:
        labels = np.asarray([str(c) for c in ds.classes])
        for file, array in (("X", ds.X_train), ("y", labels[ds.y_train]), ("Xt", ds.X_test),
                            ("yt", labels[ds.y_test])):
            np.save(f"{tmp}/{file}.npy", np.asarray(array, dtype=np.float64) if file.startswith("X") else array)
        script = Path(tmp) / "peer.py"
        script.write_text(PEER_SCRIPT)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        proc = subprocess.run([str(python), str(script), *(f"{tmp}/{f}.npy" for f in ("X", "y", "Xt", "yt")),
                               str(epochs)], capture_output=True, text=True, env=env, cwd=tmp, timeout=6 * 3600)
    match = re.search(r"\{.*\}", proc.stdout)
    if proc.returncode != 0 or not match:
        print(f"{name}: aeon failed: {proc.stderr[-800:]}", flush=True)
        return None
    return json.loads(match.group(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(SHARED))
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--epochs", type=int, default=1500)
    args = parser.parse_args()
    names = args.datasets or list(read_manifest(shipped_zoo("lite"))["models"])
    done = set()
    if OUT.is_file():
        with open(OUT) as f:
            done = {row["dataset"] for row in csv.DictReader(f)}
    python = ensure_aeon_venv()
    if python is None:
        raise SystemExit("no aeon + tensorflow environment")
    if args.epochs != 1500:
        print(f"NOTE: {args.epochs} epochs, not LITE's published 1500: not a fidelity check")
    for name in names:
        if name in done:
            continue
        started = time.perf_counter()
        result = run_peer(python, name, args.archive, args.epochs)
        if result is None:
            continue
        new = not OUT.is_file()
        with open(OUT, "a", newline="") as f:  # one row per finished dataset: an interrupted run loses nothing done
            writer = csv.writer(f)
            if new:
                writer.writerow(["dataset", "accuracy", "seconds", "epochs", "date"])
            writer.writerow([name, f"{result['accuracy']:.6f}", f"{result['seconds']:.1f}", args.epochs,
                             time.strftime("%Y-%m-%d")])
        print(f"{name}: peer accuracy {result['accuracy']:.4f} ({time.perf_counter() - started:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
