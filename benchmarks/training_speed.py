"""Training speed, side by side in one run: tstransfer vs aeon's FCNClassifier vs a plain PyTorch loop, on a
quiet machine and with one CPU taken by a busy loop; fused vs sequential fine-tuning of K sources; achieved
GFLOP/s vs the machine's matmul GFLOP/s; peak memory; a cost model of the paper's full 85 x 84 grid.

Usage: python benchmarks/training_speed.py [--archive ../shared/ucr] [--epochs 20] [--skip-aeon]
       [--gpu-gflops 20000] [--device auto]

Same data, same architecture, same batch size (the paper's rule) for every contender. Every rate is a steady
state: tstransfer and the plain loop run one warm-up epoch in the same process first (oneDNN builds its kernels
on first use); aeon is timed as fit(2 + E epochs) - fit(2 epochs), which takes off Keras' model building and
graph tracing. aeon's FCN runs on Keras/TensorFlow in a throw-away virtual environment
(/tmp/tstransfer-aeon-venv) that this script creates with `pip install aeon tensorflow` when it is missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tstransfer.cpus import allowed_cpus, cpu_model
from tstransfer.data import ALIASES_2015_TO_2018, Dataset, load_dataset
from tstransfer.fused import fit_fused
from tstransfer.models import create_model
from tstransfer.recipe import batch_size
from tstransfer.training import TrainConfig, batch_size_rule, fit, native_bf16, resolve_device
from tstransfer.transfer import transfer_network

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
# tiny (generated, overhead-bound), small, medium, two long ones (>= 500 points)
DATASETS = ["tiny", "ItalyPowerDemand", "GunPoint", "Car", "Lightning2"]
AEON_VENV = Path(tempfile.gettempdir()) / "tstransfer-aeon-venv"

AEON_SCRIPT = r"""
import sys, time, json, numpy as np
from aeon.classification.deep_learning import FCNClassifier
X, y = np.load(sys.argv[1]), np.load(sys.argv[2])
batch, seconds = int(sys.argv[4]), {}
if len(sys.argv) > 5:  # another architecture, one CPU thread
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import aeon.classification.deep_learning as dl
    FCNClassifier = getattr(dl, sys.argv[5])
for epochs in (2, 2 + int(sys.argv[3])):
    clf = FCNClassifier(n_epochs=epochs, batch_size=batch, verbose=False, random_state=0)
    start = time.perf_counter(); clf.fit(X, y); seconds[epochs] = time.perf_counter() - start
print(json.dumps({"seconds": seconds[max(seconds)] - seconds[2]}))
"""


def get_dataset(name: str, archive: str) -> Dataset:
    """A dataset of the archive, or "tiny": 20 series x 24 points (the paper's batch rule gives 2)."""
    if name != "tiny":
        return load_dataset(name, archive)
    rng = np.random.default_rng(0)
    y = np.arange(20) % 2
    X = (rng.standard_normal((20, 1, 24)) + y[:, None, None]).astype(np.float32)
    return Dataset("tiny", X, y, np.full(20, 24), None, None, None, ["a", "b"])


# ----------------------------------------------------------------------------- FLOPs


def flops_per_sample_step(length: int, in_channels: int = 1, classes: int = 2) -> float:
    """Multiply-adds x2 of one training step for one series: forward + backward ~ 3 x forward (convs dominate)."""
    convs = [(in_channels, 128, 8), (128, 256, 5), (256, 128, 3)]
    forward = sum(2 * cin * cout * k * length for cin, cout, k in convs) + 2 * 128 * classes
    return 3.0 * forward


def matmul_gflops(seconds: float = 2.0, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


# ----------------------------------------------------------------------------- contenders


def plain_pytorch_epochs_per_s(ds, epochs: int) -> float:
    """The textbook loop: nn.Sequential with padding='same', DataLoader, Adam."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(ds.in_channels, 128, 8, padding="same"), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Conv1d(128, 256, 5, padding="same"), nn.BatchNorm1d(256), nn.ReLU(),
        nn.Conv1d(256, 128, 3, padding="same"), nn.BatchNorm1d(128), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(128, ds.n_classes))
    loader = DataLoader(TensorDataset(torch.as_tensor(ds.X_train), torch.as_tensor(ds.y_train)),
                        batch_size=batch_size_rule(len(ds.y_train)), shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def epoch():
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

    epoch()  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs / (time.perf_counter() - start)


def tstransfer_epochs_per_s(ds, epochs: int, device: str, threads: int | None = None, amp: bool = False,
                            arch: str = "fcn") -> float:
    """Steady-state epochs/s of training.fit with the architecture's published recipe: a warm-up run first, then
    the epochs' own times (the history)."""
    torch.manual_seed(0)
    warm = TrainConfig.named(arch=arch, epochs=1, seed=0, device=device, threads=threads, amp=amp, test_every=None)
    fit(create_model(arch, ds.in_channels, ds.n_classes), ds, replace(warm, test_every=None), progress=False)
    config = replace(warm, epochs=epochs)
    result = fit(create_model(arch, ds.in_channels, ds.n_classes), ds, config, progress=False)
    return epochs / sum(row["seconds"] for row in result.history)


def ensure_aeon_venv() -> Path | None:
    python = AEON_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {AEON_VENV} with aeon + tensorflow (one time) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(AEON_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "aeon", "tensorflow"], check=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as err:
        print(f"aeon venv unavailable: {err}")
        return None
    return python


def aeon_epochs_per_s(python: Path, ds, epochs: int, batch: int | None = None,
                      classifier: str | None = None) -> float | None:
    """aeon's FCNClassifier (or `classifier` of aeon.classification.deep_learning, on one CPU thread)."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/X.npy", ds.X_train.astype(np.float64))
        np.save(f"{tmp}/y.npy", np.asarray(ds.classes)[ds.y_train].astype(str))
        script = Path(tmp) / "fit.py"
        script.write_text(AEON_SCRIPT)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        batch = batch or batch_size_rule(len(ds.y_train))
        proc = subprocess.run([str(python), str(script), f"{tmp}/X.npy", f"{tmp}/y.npy", str(epochs), str(batch),
                               *([classifier] if classifier else [])], capture_output=True, text=True, env=env,
                              cwd=tmp, timeout=3600)
    match = re.search(r"\{.*\}", proc.stdout)
    if proc.returncode != 0 or not match:
        print(f"aeon failed: {proc.stderr[-500:]}")
        return None
    return epochs / json.loads(match.group(0))["seconds"]


def peak_memory_mb(archive: str, name: str, epochs: int) -> float:
    """Max RSS of a fresh process that trains one model (what one grid worker needs)."""
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec
    code = ("import re, sys; from tstransfer.data import load_dataset; from tstransfer.training import "
            "TrainConfig, train; train(load_dataset(sys.argv[1], sys.argv[2]), TrainConfig(epochs=int(sys.argv[3])), "
            "progress=False); print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    out = subprocess.run([sys.executable, "-c", code, name, archive, str(epochs)], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1]) / 1024


# ----------------------------------------------------------------------------- sections


class BusyCore:
    """A busy loop pinned to the last CPU this process may use, for the contended cases."""

    def __enter__(self):
        cpu = allowed_cpus()[-1]
        code = f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def throughput(archive: str, epochs: int, device: str, python: Path | None, contended: bool) -> dict:
    title = "one CPU taken by a pinned busy loop" if contended else "quiet machine"
    print(f"\n{2 if contended else 1}. Training throughput, epochs/s, {title} ({epochs} epochs, steady state, "
          f"device {device})")
    amp = not contended and native_bf16(torch.device(device))
    extra = f"{'tst 2 thr':>10}" if contended else (f"{'--amp':>8}" if amp else "")
    print(f"{'dataset':<18}{'n x L':>10}{'batch':>6}{'tstransfer':>11}{extra}{'plain torch':>12}{'aeon (TF)':>10}"
          f"{'vs aeon':>9}{'vs plain':>9}{'GFLOP/s':>9}")
    achieved = {}
    for name in DATASETS:
        ds = get_dataset(name, archive)
        ours = tstransfer_epochs_per_s(ds, epochs, device)
        fixed = tstransfer_epochs_per_s(ds, max(2, epochs // 4), device, threads=2) if contended else None
        bf16 = tstransfer_epochs_per_s(ds, epochs, device, amp=True) if amp else None
        plain = plain_pytorch_epochs_per_s(ds, epochs)
        theirs = aeon_epochs_per_s(python, ds, epochs) if python else None
        flops = flops_per_sample_step(ds.X_train.shape[-1], ds.in_channels, ds.n_classes) * len(ds.y_train)
        achieved[name] = ours * flops / 1e9
        fixed_text = f"{fixed:>10.2f}" if contended else (f"{bf16:>8.2f}" if amp else "")
        print(f"{name:<18}{f'{len(ds.y_train)}x{ds.X_train.shape[-1]}':>10}{batch_size_rule(len(ds.y_train)):>6}"
              f"{ours:>11.2f}{fixed_text}{plain:>12.2f}{theirs if theirs else float('nan'):>10.2f}"
              f"{ours / theirs if theirs else float('nan'):>9.2f}{ours / plain:>9.2f}{achieved[name]:>9.1f}",
              flush=True)
    if contended:
        print("   tstransfer picks its threads from the free CPUs (tstransfer.cpus); 'tst 2 thr' is --threads 2")
    elif amp:
        print("   --amp: bf16 autocast on this CPU's native bf16 (AMX / AVX512-BF16); not the paper's recipe, so "
              "'vs aeon' uses float32")
    return achieved


# aeon's classifier of each registered architecture, and the datasets of the comparison (short, then long)
AEON_CLASSIFIERS = {"fcn": "FCNClassifier", "resnet": "ResNetClassifier", "lite": "IndividualLITEClassifier"}
ARCH_DATASETS = ["GunPoint", "Car"]


def architectures_vs_aeon(archive: str, epochs: int, python: Path) -> None:
    """Each architecture of the registry against aeon's same network (Keras), one CPU thread each, the same data
    and batch size (the architecture's published batch rule), steady state."""
    print(f"\n7. Each architecture vs aeon's same network, epochs/s, one CPU thread each ({epochs} epochs, steady "
          "state, device cpu)")
    print(f"{'arch':<8}{'dataset':<12}{'n x L':>9}{'batch':>6}{'tstransfer':>11}{'aeon (TF)':>10}{'vs aeon':>9}")
    torch.set_num_threads(1)
    for arch, classifier in AEON_CLASSIFIERS.items():
        for name in ARCH_DATASETS:
            ds = get_dataset(name, archive)
            batch = batch_size(TrainConfig.named(arch=arch), len(ds.y_train))
            ours = tstransfer_epochs_per_s(ds, epochs, "cpu", threads=1, arch=arch)
            theirs = aeon_epochs_per_s(python, ds, epochs, batch=batch, classifier=classifier)
            print(f"{arch:<8}{name:<12}{f'{len(ds.y_train)}x{ds.X_train.shape[-1]}':>9}{batch:>6}{ours:>11.2f}"
                  f"{theirs if theirs else float('nan'):>10.2f}{ours / theirs if theirs else float('nan'):>9.2f}",
                  flush=True)


def fresh_heads(sources: list[nn.Module], num_classes: int) -> list[nn.Module]:
    out = []
    for source in sources:
        torch.manual_seed(0)
        out.append(transfer_network(source, num_classes))
    return out


def arithmetic_seconds(ds, epochs: int, device: str) -> float:
    """Seconds of one fine-tuning's convolution blocks alone (convolution, BatchNorm, ReLU; forward and backward,
    the same batch sizes and step count), after a warm-up: what a fused run of K networks repeats K times
    whatever it shares."""
    torch.manual_seed(0)
    body = nn.Sequential(*create_model("fcn", ds.in_channels, ds.n_classes).blocks).to(device)
    batch = batch_size_rule(len(ds.y_train))
    sizes = [batch] * (len(ds.y_train) // batch) + ([len(ds.y_train) % batch] if len(ds.y_train) % batch else [])
    inputs = [torch.randn(b, ds.in_channels, ds.X_train.shape[-1], device=device) for b in sizes]
    body(inputs[0]).mean().backward()  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        for x in inputs:
            body(x).mean().backward()
    return time.perf_counter() - start


def fused_vs_sequential(archive: str, epochs: int, device: str) -> None:
    """The ensemble of `fit --ensemble 3`: 3 sources fine-tuned on one target. The floor is what a fused run
    cannot go below: 3x one fine-tuning's convolution blocks, timed alone."""
    print(f"\n3. Fine-tuning K = 3 sources on one target, fused vs one after the other ({epochs} epochs, "
          "seconds, after a warm-up)")
    print(f"{'target':<22}{'n x L':>8}{'one':>7}{'sequential':>12}{'fused':>8}{'fused/one':>11}"
          f"{'floor/one':>11}{'seq/fused':>11}")
    config = TrainConfig(epochs=epochs, seed=0, test_every=None, device=device)
    sources = []
    for i in range(3):
        torch.manual_seed(i)
        sources.append(create_model("fcn", 1, 2 + i))
    for name in ("tiny", "ItalyPowerDemand", "SonyAIBORobotSurface1", "GunPoint", "Coffee"):
        ds = get_dataset(name, archive)
        warm = TrainConfig(epochs=1, seed=0, test_every=None, device=device)
        fit(fresh_heads(sources[:1], ds.n_classes)[0], ds, warm, progress=False)
        fit_fused(fresh_heads(sources, ds.n_classes), ds, warm, progress=False)
        times = []
        for net in fresh_heads(sources, ds.n_classes):
            start = time.perf_counter()
            fit(net, ds, config, progress=False)
            times.append(time.perf_counter() - start)
        one, sequential = times[0], sum(times)
        start = time.perf_counter()
        fit_fused(fresh_heads(sources, ds.n_classes), ds, config, progress=False)
        fused = time.perf_counter() - start
        floor = 3 * arithmetic_seconds(ds, epochs, device)
        print(f"{name:<22}{f'{len(ds.y_train)}x{ds.X_train.shape[-1]}':>8}{one:>7.2f}{sequential:>12.2f}"
              f"{fused:>8.2f}{fused / one:>11.2f}{floor / one:>11.2f}{sequential / fused:>11.2f}", flush=True)
    print("   floor: 3x one run's convolution blocks timed alone. Where it nears 2 or more, the three networks'\n"
          "   arithmetic alone takes twice one run: fusing shares only the rest (data, optimiser, per-step work)")


def paper_datasets() -> list[dict]:
    with open(SHARED / "reference" / "dl-4-tsc_results-uea-avg-std.csv") as f:
        names = [row[""] for row in csv.DictReader(f) if row[""] not in ("Average_Rank", "Wins")]
    with open(SHARED / "reference" / "UCR2018_DataSummary.csv", encoding="utf-8-sig") as f:
        table = {row["Name"]: row for row in csv.DictReader(f)}
    out = []
    for name in names:
        row = table[ALIASES_2015_TO_2018.get(name, name)]
        length = row["Length"]
        out.append({"name": row["Name"], "train": int(row["Train"]), "test": int(row["Test"]),
                    "classes": int(row["Class"]), "length": int(length) if length.isdigit() else 500})
    return out


def cost_model(cpu_gflops: float, gpu_gflops: float) -> None:
    """Each dataset is the target of 85 runs (its pre-training and 84 fine-tunings), 2000 epochs each, with the
    test split logged every epoch as the paper does (a forward pass = 1/3 of a training step)."""
    data = paper_datasets()
    total = 0.0
    for d in data:
        step = flops_per_sample_step(d["length"], 1, d["classes"])
        per_epoch = step * d["train"] + step / 3 * d["test"]
        total += 85 * 2000 * per_epoch
    print(f"\n6. Cost model of the paper's grid: {len(data)} datasets, {len(data)} x {len(data) - 1} fine-tunings + "
          f"{len(data)} pre-trainings, 2000 epochs, test logged every epoch")
    print(f"   total work {total / 1e15:.1f} PFLOP")
    print(f"   this CPU at the measured {cpu_gflops:.0f} GFLOP/s: {total / cpu_gflops / 1e9 / 86400:.0f} days")
    print(f"   one GPU at a sustained {gpu_gflops:.0f} GFLOP/s (stated, not measured): "
          f"{total / gpu_gflops / 1e9 / 3600:.1f} hours")
    print("   (variable-length datasets counted at length 500)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(SHARED / "ucr"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-aeon", action="store_true")
    parser.add_argument("--architectures-only", action="store_true", help="only section 7: each architecture vs "
                        "aeon's")
    parser.add_argument("--gpu-gflops", type=float, default=20000.0,
                        help="sustained GFLOP/s assumed for one GPU in the cost model")
    args = parser.parse_args()
    device = str(resolve_device(args.device))
    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {cpu_model()}, {len(allowed_cpus())} CPUs, torch threads "
          f"{torch.get_num_threads()}, device {device}; float32 matmul (2048^2): {peak:.0f} GFLOP/s")
    python = None if args.skip_aeon else ensure_aeon_venv()
    if args.architectures_only:
        if python is None:
            raise SystemExit("section 7 needs aeon's networks: no aeon + tensorflow environment")
        return architectures_vs_aeon(args.archive, args.epochs, python)
    achieved = throughput(args.archive, args.epochs, device, python, contended=False)
    if device == "cpu" and len(allowed_cpus()) > 1:
        with BusyCore():
            throughput(args.archive, max(4, args.epochs // 2), device, python, contended=True)
    fused_vs_sequential(args.archive, max(4, args.epochs // 2), device)
    print(f"\n4. Achieved GFLOP/s of a training step vs this machine's float32 matmul ({peak:.0f} GFLOP/s):")
    for name, value in achieved.items():
        print(f"   {name:<18}{value:>8.1f} GFLOP/s = {100 * value / peak:.0f}% of matmul")
    print("\n5. Peak memory of one training process (max RSS):")
    for name in DATASETS[1:]:
        print(f"   {name:<18}{peak_memory_mb(args.archive, name, 3):>8.0f} MB")
    cost_model(float(np.mean(list(achieved.values()))), args.gpu_gflops)


if __name__ == "__main__":
    main()
