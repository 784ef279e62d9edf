"""Studies: the paper's N pre-trainings + N(N-1) fine-tunings, planned, run and resumed.

A study folder holds
    study.sqlite                        the results store (one row per run, see store.py)
    pretrained/<Dataset>.safetensors    + <Dataset>.history.csv (the no-transfer baselines)
    transfer/<Source>/<Target>.safetensors  + <Target>.history.csv
    results/                            the matrices written by `tstransfer results`

The driver (this process) plans the runs, hands them to an engine, and is the only writer of the
store. Workers train, write their files atomically and return their numbers. A kill -9 at any
moment loses at most the runs in flight: on the next start 'running' rows go back to 'pending'
and rerun from scratch with the same seed, which gives the same numbers.
"""

from __future__ import annotations

import fcntl
import os
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from .errors import TSTransferError
from .store import Store
from .training import TrainConfig


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: a pre-training (source '') or a fine-tuning source -> target."""

    kind: str
    source: str
    target: str

    @property
    def model_path(self) -> str:
        if self.kind == "pretrain":
            return f"pretrained/{self.target}.safetensors"
        return f"transfer/{self.source}/{self.target}.safetensors"

    def __str__(self) -> str:
        return self.target if self.kind == "pretrain" else f"{self.source}->{self.target}"


def plan_runs(datasets: list[str] | None = None, sources: list[str] | None = None,
              targets: list[str] | None = None, transfers: bool = True) -> list[RunSpec]:
    """Every run a study needs: pre-trainings of all sources and targets first, then each source -> target."""
    sources = list(dict.fromkeys(sources or datasets or []))
    targets = list(dict.fromkeys(targets or datasets or []))
    if not sources and not targets:
        raise TSTransferError("no datasets to plan: give --datasets, or --sources and --targets")
    runs = [RunSpec("pretrain", "", name) for name in dict.fromkeys(sources + targets)]
    if transfers:
        runs += [RunSpec("transfer", s, t) for s in sources for t in targets if s != t]
    return runs


def execute_run(spec: RunSpec, archive: str, study: str, config: dict) -> dict:
    """Run one pre-training or fine-tuning (in a worker); returns its numbers or its error. Never raises."""
    from .data import load_dataset
    from .training import save_run, train
    from .transfer import fine_tune, load_model

    started = time.perf_counter()
    try:
        cfg = TrainConfig(**config)
        dataset = load_dataset(spec.target, archive)
        if spec.kind == "pretrain":
            trained, result = train(dataset, cfg, progress=False)
        else:
            source_path = Path(study) / RunSpec("pretrain", "", spec.source).model_path
            if not source_path.is_file():
                raise TSTransferError(f"no pre-trained model of {spec.source} (its pre-training failed)")
            source = load_model(source_path)
            trained, result = fine_tune(source, dataset, cfg, progress=False, source_name=spec.source)
        model_path = Path(study) / spec.model_path
        _, history_path, _ = save_run(trained, result, model_path.parent, spec.target)
        return {"status": "done", "best_epoch": result.best_epoch, "train_loss": result.train_loss,
                "train_acc": result.train_acc, "test_loss": result.test_loss, "test_acc": result.test_acc,
                "seconds": result.seconds, "device": result.device, "model_path": spec.model_path,
                "history_path": str(history_path.relative_to(study))}
    except Exception as err:  # a failed run is recorded, the study goes on
        detail = str(err) if isinstance(err, TSTransferError) else traceback.format_exc(limit=3)
        return {"status": "failed", "error": f"{type(err).__name__}: {detail}".strip(),
                "seconds": time.perf_counter() - started}


# ----------------------------------------------------------------------------- engines


class LocalEngine:
    """N worker processes on this machine (1: in this process), `threads` CPU threads each."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self.capacity = self.workers
        self.pool = None
        if self.workers > 1:  # spawn: forking a process that already runs torch threads can deadlock
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))

    def submit(self, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(execute_run, *args)
        future: Future = Future()
        future.set_result(execute_run(*args))
        return future

    def wait(self, handles: list) -> list:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [(h, h.result()) for h in done]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class RayEngine:
    """Runs on a Ray cluster (`address`) or on a local Ray instance started for the study.

    Each run asks Ray for `cpus_per_run` CPUs and `gpus_per_run` GPUs (fractions let several FCNs
    share one GPU). The study folder and the archive must be on a file system every node sees.
    """

    def __init__(self, address: str | None = None, cpus_per_run: float = 1, gpus_per_run: float = 0,
                 workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise TSTransferError("--engine ray needs Ray: pip install 'tstransfer[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self.remote = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=0)(execute_run)
        self.capacity = 1_000_000  # Ray queues what does not fit the cluster

    def submit(self, *args):
        return self.remote.remote(*args)

    def wait(self, handles: list) -> list:
        done, _ = self.ray.wait(handles, num_returns=1)
        return [(h, self.ray.get(h)) for h in done]

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- the driver


@dataclass
class GridReport:
    planned: int
    skipped: int
    done: int
    failed: int
    seconds: float


class _StudyLock:
    """One driver per study folder: a second `grid` on the same folder is refused."""

    def __init__(self, study: Path):
        self.file = open(study / ".lock", "w")  # noqa: SIM115 (held for the driver's lifetime)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TSTransferError(f"--study {study}: another tstransfer process is running this study") from None

    def release(self) -> None:
        self.file.close()


def run_grid(archive: str | Path, study: str | Path, runs: list[RunSpec], config: TrainConfig,
             engine: str = "local", workers: int = 1, address: str | None = None, gpus_per_run: float = 0,
             retry_failed: bool = False, progress: bool = True) -> GridReport:
    """Run every planned run that is not finished yet; returns counts. Resumable after any kill."""
    from .data import find_dataset

    archive, study = Path(archive).resolve(), Path(study).resolve()
    for name in {r.target for r in runs} | {r.source for r in runs if r.source}:
        find_dataset(name, archive)  # fail early, with the archive's message, on a misspelt name
    study.mkdir(parents=True, exist_ok=True)
    lock = _StudyLock(study)
    store = Store(study)
    try:
        store.check_settings({"epochs": config.epochs, "seed": config.seed,
                              "recipe": {k: v for k, v in asdict(config).items()
                                         if k not in ("epochs", "seed", "device", "threads", "amp", "test_every")}})
        with store.db:  # runs left 'running' by a killed driver start again from scratch
            store.db.execute("UPDATE runs SET status='pending' WHERE status='running'")
        for r in runs:
            store.add(r.kind, r.source, r.target, config.seed, config.epochs)
        rows = {r: store.get(r.kind, r.source, r.target, config.seed, config.epochs) for r in runs}
        todo = [r for r in runs if rows[r]["status"] == "pending" or (retry_failed and rows[r]["status"] == "failed")]
        report = GridReport(len(runs), len(runs) - len(todo), 0, 0, 0.0)
        if not todo:
            return report

        cpus = os.cpu_count() or 1
        if engine == "local":
            threads = config.threads or max(1, cpus // max(1, workers))
            runner = LocalEngine(workers)
        elif engine == "ray":
            threads = config.threads or 1
            runner = RayEngine(address, cpus_per_run=threads, gpus_per_run=gpus_per_run, workers=workers)
        else:
            raise TSTransferError(f"--engine {engine}: choose local or ray")
        device = config.device
        if engine == "ray":
            device = "cuda" if gpus_per_run > 0 else "cpu"
        payload = {**asdict(config), "threads": threads, "device": device}

        # A fine-tuning waits for its source's pre-training (in this grid or done before).
        pending_sources = {r.target for r in todo if r.kind == "pretrain"}
        ready = [r for r in todo if r.kind == "pretrain" or r.source not in pending_sources]
        waiting = [r for r in todo if r not in ready]
        in_flight: dict = {}
        started = time.perf_counter()
        bar = tqdm(total=len(todo), unit="run", desc="study", disable=not progress, dynamic_ncols=True)
        try:
            while ready or in_flight:
                while ready and len(in_flight) < runner.capacity:
                    spec = ready.pop(0)
                    store.set_status(rows[spec]["id"], "running", error=None)
                    in_flight[runner.submit(spec, str(archive), str(study), payload)] = spec
                for handle, result in runner.wait(list(in_flight)):
                    spec = in_flight.pop(handle)
                    status = result.pop("status")
                    store.set_status(rows[spec]["id"], status, **result)
                    failed = status == "failed"
                    report.failed += failed
                    report.done += not failed
                    bar.update(1)
                    bar.set_postfix(last=str(spec), failed=report.failed)
                    if spec.kind == "pretrain":
                        unblocked = [r for r in waiting if r.source == spec.target]
                        waiting = [r for r in waiting if r.source != spec.target]
                        ready.extend(unblocked)
        finally:
            bar.close()
            runner.close()
        report.seconds = time.perf_counter() - started
        return report
    finally:
        store.close()
        lock.release()
