"""Running a study's grid: the paper's N pre-trainings + N(N-1) fine-tunings (per seed), resumable.

The driver (this process) hands the planned runs (study.plan_runs) to an engine, and is the only writer of
the store. Workers train, write their files atomically where the driver told them (study.StudyPaths) and
return their numbers. A kill -9 at any moment loses at most the runs in flight: on the next start
'running' rows go back to 'pending' and rerun from scratch with the same seed, which gives the same numbers.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .architectures import DEFAULT_ARCH, architecture
from .cpus import check_threads, thread_governor, threads_per_worker, usable_cpus
from .data import data_fingerprint, dataset_shape, find_dataset, load_dataset
from .errors import TSTransferError
from .files import check_writable_dir
from .fused import fit_fused
from .models import cost_per_series, create_model, load_model
from .recipe import TrainConfig, batch_size
from .study import RunSpec, StudyPaths, open_store, resume
from .training import resolve_device, save_run, train, trained_model
from .transfer import fine_tune, target_network


@dataclass(frozen=True)
class Job:
    """One run as a worker receives it: what to run and where its files are, relative to the study folder."""

    spec: RunSpec
    model: str  # the model file to write
    history: str  # its per-epoch history CSV
    source_model: str = ""  # the pre-trained source of a fine-tuning


def execute_run(job: Job, archive: str, study: str, config: dict) -> dict:
    """Run one pre-training or fine-tuning (in a worker); returns its numbers or its error. Never raises."""
    started = time.perf_counter()
    spec = job.spec
    try:
        cfg = TrainConfig(**config)
        dataset = load_dataset(spec.target, archive)
        if spec.kind == "pretrain":
            trained, result = train(dataset, cfg, progress=False)
        else:
            source = load_source(Path(study) / job.source_model, spec.source)
            trained, result = fine_tune(source, dataset, cfg, progress=False, source_name=spec.source)
        save_run(trained, result, Path(study) / job.model, Path(study) / job.history)
        return _result_fields(job, result)
    except Exception as err:  # a failed run is recorded, the study goes on
        return _failure(err, started)


def load_source(path: Path, source: str):
    """The pre-trained model of `source` at `path`."""
    if not path.is_file():
        raise TSTransferError(f"no pre-trained model of {source} (its pre-training failed)")
    return load_model(path)


def _result_fields(job: Job, result) -> dict:
    return {"status": "done", "best_epoch": result.best_epoch, "train_loss": result.train_loss,
            "train_acc": result.train_acc, "test_loss": result.test_loss, "test_acc": result.test_acc,
            "seconds": result.seconds, "device": result.device, "model_path": job.model,
            "history_path": job.history}


def _failure(err: Exception, started: float) -> dict:
    detail = str(err) if isinstance(err, TSTransferError) else traceback.format_exc(limit=3)
    return {"status": "failed", "error": f"{type(err).__name__}: {detail}".strip(),
            "seconds": time.perf_counter() - started}


def execute_fused(jobs: list[Job], archive: str, study: str, config: dict) -> list[dict]:
    """Fine-tune several sources on one target together (fused.fit_fused); one result per job."""
    started = time.perf_counter()
    results: list[dict | None] = [None] * len(jobs)
    try:
        cfg = TrainConfig(**config)
        dataset = load_dataset(jobs[0].spec.target, archive)
        networks, members = [], []
        for i, job in enumerate(jobs):
            try:
                source = load_source(Path(study) / job.source_model, job.spec.source)
                networks.append(target_network(source, dataset, cfg.seed, cfg.arch))
                members.append(i)
            except TSTransferError as err:  # this member fails, the others are fused
                results[i] = _failure(err, started)
        if networks:
            trained, run_results = fit_fused(networks, dataset, cfg, progress=False)
            for i, network, result in zip(members, trained, run_results):
                job = jobs[i]
                model = trained_model(network, dataset, cfg, result, kind="transfer", source=job.spec.source,
                                      fused_with=len(networks))
                save_run(model, result, Path(study) / job.model, Path(study) / job.history)
                results[i] = _result_fields(job, result)
    except Exception as err:  # the whole group failed: each member records the error
        failure = _failure(err, started)
        results = [r if r is not None else failure for r in results]
    return results


def execute_job(jobs: list[Job], archive: str, study: str, config: dict) -> list[dict]:
    """A unit of work for an engine: one run, or a group of fine-tunings of one target to fuse (one seed)."""
    config = {**config, "seed": jobs[0].spec.seed}
    if len(jobs) == 1:
        return [execute_run(jobs[0], archive, study, config)]
    return execute_fused(jobs, archive, study, config)


def plan_jobs(runs: list[RunSpec], fuse: int) -> list[tuple[RunSpec, ...]]:
    """Pre-trainings alone; each target's fine-tunings of one seed in fixed groups of up to `fuse` (sorted by
    source), so a resumed study groups its runs exactly as an uninterrupted one."""
    jobs = [(r,) for r in runs if r.kind == "pretrain"]
    by_target: dict[tuple[str, int], list[RunSpec]] = {}
    for r in runs:
        if r.kind == "transfer":
            by_target.setdefault((r.target, r.seed), []).append(r)
    for target in by_target:
        group = sorted(by_target[target], key=lambda r: r.source)
        jobs += [tuple(group[i : i + max(1, fuse)]) for i in range(0, len(group), max(1, fuse))]
    return jobs


# ----------------------------------------------------------------------------- engines


def die_with_parent(parent: int) -> None:
    """In a worker: end this process when the driver dies, even by kill -9, so no orphan keeps training
    (and duplicates the work of a rerun). Linux: the kernel's parent-death signal; elsewhere: a watcher."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        armed = True
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the driver died before the signal was armed
        os._exit(1)
    if armed:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def start_worker(parent: int, most_threads: int) -> None:
    """A worker process of the local engine: dies with the driver, and its runs take at most `most_threads` threads
    (its share of the usable CPUs: the governor's ceiling, cpus.ThreadGovernor)."""
    die_with_parent(parent)
    import torch

    torch.set_num_threads(most_threads)


class LocalEngine:
    """N worker processes on this machine (1: in this process), each with its share of the usable CPUs."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self.capacity = self.workers
        self.pool = None
        if self.workers > 1:  # spawn: forking a process that already runs torch threads can deadlock
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=start_worker,
                                            initargs=(os.getpid(), threads_per_worker(self.workers)))

    def submit(self, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(execute_job, *args)
        future: Future = Future()
        future.set_result(execute_job(*args))
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
            import ray  # optional extra [ray]
        except ImportError:
            raise TSTransferError("--engine ray needs Ray: pip install 'tstransfer[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self.remote = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=0)(execute_job)
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
class GridCounts:
    planned: int
    skipped: int
    done: int
    failed: int
    seconds: float


def check_local_threads(threads: int | None, workers: int) -> None:
    """--threads with --workers on this machine: together at most the usable CPUs (cpus.py)."""
    check_threads(threads)
    if threads and workers > 1 and threads > threads_per_worker(workers):
        raise TSTransferError(f"--threads {threads} with --workers {workers}: {workers * threads} threads on "
                              f"{usable_cpus()} usable CPU(s); give at most {threads_per_worker(workers)} threads per "
                              "worker, or leave --threads out")


def default_fuse(device: str = "auto", arch: str = DEFAULT_ARCH) -> int:
    """Fine-tunings per fused job: 8 on CUDA (one small FCN leaves a GPU mostly idle), 1 on CPU: there fusing 3
    gains 1.1-1.8x (benchmarks/training_speed.py), but a fused run's float32 numbers differ from a separate
    run's, and a study keeps the separate runs it has always had on CPU (`--fuse K` asks for it). 1 for an
    architecture without a fused form (architectures.py)."""
    if architecture(arch).fused is None:
        return 1
    return 8 if resolve_device(device).type == "cuda" else 1


class _StudyLock:
    """One driver per study folder: a second `grid` on the same folder is refused."""

    def __init__(self, paths: StudyPaths):
        self.file = open(paths.lock, "w")  # noqa: SIM115 (held for the driver's lifetime)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()  # refused: nothing left open behind the message
            raise TSTransferError(f"--study {paths.root}: another tstransfer process is running this study") \
                from None

    def release(self) -> None:
        self.file.close()


def run_grid(archive: str | Path, study: str | Path, runs: list[RunSpec], config: TrainConfig,
             engine: str = "local", workers: int = 1, address: str | None = None, gpus_per_run: float = 0,
             retry_failed: bool = False, progress: bool = True, fuse: int | None = None,
             on_result: Callable[[RunSpec, dict], None] | None = None) -> GridCounts:
    """Run every planned run that is not finished yet; returns counts. Resumable after any kill.

    Each run uses its own seed (RunSpec.seed) and `config` for everything else. `fuse`: fine-tunings of one
    target trained together per job (fused.fit_fused); None: `default_fuse`. `on_result(spec, result)`:
    called in this process after each run is recorded (e.g. `zoo build` exports each finished model at once).
    """
    runs = [r if r.seed is not None else replace(r, seed=config.seed) for r in runs]
    if engine == "local":
        check_local_threads(config.threads, workers)
    archive, study = Path(archive).resolve(), Path(study).resolve()
    fingerprints = {}
    for name in dict.fromkeys([r.target for r in runs] + [r.source for r in runs if r.source]):
        _, _, train, test = find_dataset(name, archive)  # fail early, with the archive's message, on a misspelt name
        fingerprints[name] = data_fingerprint(train, test)
    check_writable_dir(study, "--study")
    study.mkdir(parents=True, exist_ok=True)
    lock = _StudyLock(StudyPaths(study))
    store = open_store(study, create=True)
    fuse = (fuse or store.settings().get("fuse")
            or default_fuse(config.device if engine == "local" else ("cuda" if gpus_per_run else "cpu"), config.arch))
    if fuse > 1 and architecture(config.arch).fused is None:
        print(f"NOTE: --fuse {fuse}: {config.arch} has no fused form; its fine-tunings run one after the other",
              file=sys.stderr)
        fuse = 1
    try:
        # fusing changes float rounding, so a study keeps one --fuse for results equal after a resume
        recorded = store.settings()
        store.check_settings({"epochs": config.epochs, "fuse": fuse})  # epochs: said in the words of the setting
        if "recipe" in recorded:  # any shape a study recorded (older ones: a flat field dict without epochs)
            config.check_same(recorded["recipe"], f"--study {study}", ignore=("seed", "epochs"))
        store.record_once({"recipe": config.study_record(),
                           "seed": runs[0].seed if runs else config.seed})  # its runs keep the plain layout
        paths = StudyPaths(study, primary_seed=store.settings()["seed"])
        store.check_datasets(fingerprints, str(archive))
        store.extend_scope(str(archive), list(fingerprints))
        resume(store, paths)
        for r in runs:
            store.add(r.kind, r.source, r.target, r.seed, config.epochs)
        rows = {r: store.get(r.kind, r.source, r.target, r.seed, config.epochs) for r in runs}
        todo = [r for r in runs if rows[r]["status"] == "pending" or (retry_failed and rows[r]["status"] == "failed")]
        counts = GridCounts(len(runs), len(runs) - len(todo), 0, 0, 0.0)
        if not todo:
            return counts

        if engine == "local":
            # without --threads each run is governed (cpus.ThreadGovernor) within its worker's share of the CPUs
            threads = config.threads
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

        def job_of(spec: RunSpec) -> Job:
            source = paths.relative(paths.pretrained(spec.source, spec.seed)) if spec.source else ""
            return Job(spec, paths.relative(paths.model(spec)), paths.relative(paths.history(spec)), source)

        # A job of fine-tunings waits for the pre-trainings of all its sources (in this grid or done before).
        pending_sources = {(r.target, r.seed) for r in todo if r.kind == "pretrain"}

        def blocked(job) -> bool:
            return any((r.source, r.seed) in pending_sources for r in job)

        jobs = plan_jobs(todo, fuse)
        ready = [j for j in jobs if not blocked(j)]
        waiting = [j for j in jobs if j not in ready]
        in_flight: dict = {}
        started = time.perf_counter()
        bar = tqdm(total=len(todo), unit="run", desc="study", disable=not progress, dynamic_ncols=True)
        try:
            while ready or in_flight:
                while ready and len(in_flight) < runner.capacity:
                    job = ready.pop(0)
                    for spec in job:
                        store.set_status(rows[spec]["id"], "running", error=None)
                    in_flight[runner.submit([job_of(spec) for spec in job], str(archive), str(study), payload)] = job
                for handle, results in runner.wait(list(in_flight)):
                    job = in_flight.pop(handle)
                    # one transaction per job: a fused group is recorded whole or not at all
                    store.set_many([(rows[spec]["id"], dict(result)) for spec, result in zip(job, results)])
                    for spec, result in zip(job, results):
                        status = result["status"]
                        counts.failed += status == "failed"
                        counts.done += status != "failed"
                        bar.update(1)
                        bar.set_postfix(last=str(spec), failed=counts.failed)
                        if spec.kind == "pretrain":
                            pending_sources.discard((spec.target, spec.seed))
                        if on_result is not None:
                            on_result(spec, result)
                    unblocked = [j for j in waiting if not blocked(j)]
                    waiting = [j for j in waiting if j not in unblocked]
                    ready.extend(unblocked)
        finally:
            bar.close()
            runner.close()
        counts.seconds = time.perf_counter() - started
        return counts
    finally:
        store.close()
        lock.release()


def transfer_in_study(archive: str | Path, study: str | Path, source: str, target: str, config: TrainConfig,
                      seeds=None, progress: bool = True) -> list[dict]:
    """Fine-tune the study's pre-trained `source` on `target` (each seed; default: `config.seed`), recorded in
    the study like a grid run; returns the runs' rows (a failed run is an error naming it)."""
    seeds = list(seeds or [config.seed])
    paths = StudyPaths.of(study)
    for seed in seeds:
        if not paths.pretrained(source, seed).is_file():
            raise TSTransferError(f"--study {study}: no pre-trained model of {source}"
                                  f"{'' if seed == paths.primary_seed else f' with seed {seed}'}; run "
                                  f"`tstransfer pretrain --datasets {source}"
                                  f"{'' if seed == paths.primary_seed else f' --seed {seed}'}` first")
    specs = [RunSpec("transfer", source, target, seed) for seed in seeds]
    counts = run_grid(archive, study, specs, config, retry_failed=True, progress=progress)
    store = open_store(study)
    try:
        rows = [dict(store.get("transfer", source, target, seed, config.epochs)) for seed in seeds]
    finally:
        store.close()
    for spec, row in zip(specs, rows):
        if row["status"] != "done":
            raise TSTransferError(f"{spec} failed: {row['error']}", exit_code=1)
        row["already_finished"] = bool(counts.skipped)
    return rows


# ----------------------------------------------------------------------------- cost before running


def forward_flops(arch: str, length: int, channels: int = 1) -> float:
    """Floating-point operations of one forward pass of `arch` (its default configuration) over one series
    (models.cost_per_series: 2 per multiply-add of every convolution and dense layer)."""
    with torch.device("meta"):
        config = create_model(arch, channels, 2).config
    return cost_per_series(config, length)


def timed_steps(network, optimizer, X: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Seconds of one training step of `network` on the batch (X, y), the mean of `steps` after two warm-up steps
    (CUDA synchronised around the timed ones)."""
    cuda = X.device.type == "cuda"
    for i in range(steps + 2):
        if i == 2:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(network(X), y).backward()
        optimizer.step()
    if cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def measure_speed(device: str = "auto", threads: int | None = None,
                  arch: str = DEFAULT_ARCH) -> tuple[float, float]:
    """(seconds of fixed cost per training step, FLOP/s of the training arithmetic) of `arch`, measured now
    on this machine: a tiny batch times the per-step overhead, a large one the arithmetic."""
    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(threads)
    network = create_model(arch, 1, 2).to(dev)
    optimizer = torch.optim.Adam(network.parameters(), foreach=True)

    def seconds_per_step(batch: int, length: int, steps: int) -> float:
        X, y = torch.randn(batch, 1, length, device=dev), torch.zeros(batch, dtype=torch.long, device=dev)
        return timed_steps(network, optimizer, X, y, steps)

    overhead = seconds_per_step(2, 16, 20)
    big = seconds_per_step(16, 256, 6)
    # on a busy machine the small steps can take as long as the big ones: then the big step's time is all
    # arithmetic, not a difference near zero that would claim an absurd speed
    arithmetic = big - overhead if big > 2 * overhead else big
    return overhead, 3 * 16 * forward_flops(arch, 256) / arithmetic


@dataclass
class CostEstimate:
    runs: list[dict]  # one row per run: run, n_train, n_test, length, steps, pflop, seconds
    flop: float
    seconds: float  # one worker with every thread of this machine
    overhead: float
    flops_per_second: float
    device: str


def estimate_cost(runs: list[RunSpec], archive: str | Path, config: TrainConfig) -> CostEstimate:
    """FLOPs and time of the runs at the speed measured now (forward + backward = 3 forward passes per
    training series per epoch, plus the logged test passes); early stopping is not predicted."""
    overhead, rate = measure_speed(config.device, config.threads, config.arch)
    shapes = {name: dataset_shape(name, archive) for name in dict.fromkeys(r.target for r in runs)}
    rows, total_flop, total_seconds = [], 0.0, 0.0
    for r in runs:
        s = shapes[r.target]
        steps, flop, seconds = run_cost(s, config, overhead, rate)
        rows.append({"run": str(r), **s, "steps": steps, "pflop": flop / 1e15, "seconds": seconds})
        total_flop += flop
        total_seconds += seconds
    return CostEstimate(rows, total_flop, total_seconds, overhead, rate, str(resolve_device(config.device)))


def run_cost(shape: dict, config: TrainConfig, overhead: float, rate: float) -> tuple[int, float, float]:
    """(training steps, FLOP, seconds) of one run of `config` on a dataset of `shape` (n_train, n_test, length,
    channels) at `overhead` seconds per step and `rate` FLOP/s, all its epochs run."""
    forward = forward_flops(config.arch, shape["length"], shape["channels"])
    steps = config.epochs * -(-shape["n_train"] // batch_size(config, shape["n_train"]))
    tests = (config.epochs // config.test_every if config.test_every else 1) if shape["n_test"] else 0
    flop = config.epochs * 3 * forward * shape["n_train"] + tests * forward * shape["n_test"]
    return steps, flop, steps * overhead + flop / rate


# Where early stopping (the practical recipe's: 50 epochs at the lr floor) ends a fine-tuning varies from dataset to
# dataset, not with its size alone: 322 to 652 epochs on 12 small targets x 2 seeds (benchmarks/practitioner.py,
# arm sim-1, median 422), 369 (SonyAIBORobotSurface2, 27 series), 387 (Plane, 105), 764 (Ham, 109), 979
# (MedicalImages, 381) (benchmarks/results/fit_estimate_*_cpu.txt; a rule growing with the series was refuted by
# Plane). The typical time uses the geometric middle of that spread and of the 1000-epoch cap: 560 epochs, within 2x
# of any run that stops between 280 and 1000 epochs.
TYPICAL_EPOCHS = 560


def typical_epochs(config: TrainConfig) -> int:
    """The epochs a run of `config` usually takes: all of them without early stopping."""
    return min(config.epochs, TYPICAL_EPOCHS) if config.early_stopping else config.epochs


@dataclass
class FitEstimate:
    bound: float  # seconds with every epoch run
    typical: float  # seconds at the epochs early stopping usually leaves (= bound without early stopping)
    step: float  # seconds of one training step, timed on this dataset's shape now
    steps_per_epoch: int
    typical_epochs: int


def time_step(dataset, config: TrainConfig, steps: int = 4) -> float:
    """Seconds of one training step of `config`'s network on a batch of this dataset's shape (its batch size, its
    longest series, its channels), timed now on this machine after two warm-up steps: the cost model of
    `measure_speed` is for planning studies, this is the dataset's own."""
    return time_batch(config.arch, dataset.in_channels, dataset.n_classes, batch_size(config, len(dataset.y_train)),
                      dataset.X_train.shape[-1], config.device, config.threads, steps)


def time_batch(arch: str, channels: int, classes: int, batch: int, length: int, device: str = "auto",
               threads: int | None = None, steps: int = 4) -> float:
    """Seconds of one training step of a fresh `arch` network on a random batch of this shape, after two warm-up
    steps, on the threads a training takes."""
    dev = resolve_device(device)
    X = torch.randn(batch, channels, length, generator=torch.Generator().manual_seed(0)).to(dev)
    y = torch.arange(batch, device=dev) % classes
    network = create_model(arch, channels, classes).to(dev)
    # the threads the training will take (--threads, else the free CPUs): torch's default on a busy machine spins
    # at every barrier and timed a step 45x too slow (an FCN step of GunPoint: 986 ms, 22 ms on one thread)
    governor = thread_governor(threads, dev)
    try:
        return timed_steps(network, torch.optim.Adam(network.parameters(), foreach=True), X, y, steps)
    finally:
        governor.close()


def estimate_fit(dataset, config: TrainConfig, runs: int = 1) -> FitEstimate:
    """Seconds of `runs` trainings of `config` on `dataset`: a step timed on the dataset's own shape, times the
    steps of every epoch (the bound), and of the epochs early stopping usually leaves (typical: `typical_epochs`),
    within the time budget when there is one."""
    step = time_step(dataset, config)
    per_epoch = -(-len(dataset.y_train) // batch_size(config, len(dataset.y_train)))
    usual = typical_epochs(config)
    bound = runs * config.epochs * per_epoch * step
    typical = runs * usual * per_epoch * step
    if config.max_time:
        bound, typical = min(bound, runs * config.max_time), min(typical, runs * config.max_time)
    return FitEstimate(bound=bound, typical=typical, step=step, steps_per_epoch=per_epoch, typical_epochs=usual)


def format_cost(cost: CostEstimate, workers: int = 1) -> str:
    """The estimate as a table for people, one run per line and the total."""
    lines = [f"{'run':<40}{'n_train':>8}{'length':>8}{'steps':>10}{'PFLOP':>9}{'est. time':>11}"]
    for row in cost.runs:
        lines.append(f"{row['run']:<40}{row['n_train']:>8}{row['length']:>8}{row['steps']:>10}"
                     f"{row['pflop']:>9.3f}{format_duration(row['seconds']):>11}")
    lines.append(f"{len(cost.runs)} runs, {cost.flop / 1e15:.2f} PFLOP, about {format_duration(cost.seconds)} on "
                 f"{cost.device} at the speed measured now ({cost.flops_per_second / 1e9:.0f} GFLOP/s, "
                 f"{cost.overhead * 1e3:.1f} ms per step; --workers {workers} share the same cores)")
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"
