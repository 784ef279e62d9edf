"""How many CPU threads a training run uses: the CPUs nothing else is using, re-measured while it trains.

PyTorch's OpenMP threads spin at every barrier. When another process holds one of the CPUs, the thread that
shares it runs part of the time and the others spin waiting for it at every operation: on this project's
2-CPU machine, a 2-thread run with one CPU taken by a busy loop was 4.8x slower than a 1-thread run, with
three quarters of its samples inside libgomp's barrier (perf, benchmarks/results/training_speed_cpu.txt).
So a run without `--threads` takes as many threads as CPUs are free, measured from /proc/stat (Linux; elsewhere
torch's default is kept), and follows the machine as it changes. Niced work counts as taking its CPU too: with
the kernel's autogroup scheduling (the default), a `nice -n 19` busy loop still slowed a 2-thread run to 127
ms an epoch against 103 for one thread. The thread count does not change a run's numbers on a given CPU
(tests/test_cpus.py), so reproducibility is untouched.

This module is also the one place a CPU count becomes threads or processes (`usable_cpus`, `check_threads`,
`threads_per_worker`, `check_jobs`): from the CPUs this process may run on (its affinity: taskset, SLURM and Docker
cpusets), never from os.cpu_count(), and never more than those: 64 threads on 1 CPU took 88 s where 1 took 3 s.
"""

from __future__ import annotations

import os
import time

from .errors import TSTransferError

# torch's own thread count before any run changed it: the most a governed run takes
_BASELINE: int | None = None
PROC_STAT = "/proc/stat"  # Linux's CPU time counters
# others' use above this share of a CPU makes that CPU taken (a CPU shared with our thread shows ~0.5)
TAKEN_SHARE = 0.3


def threads_for(busy: float, n_cpus: int, most: int) -> int:
    """Threads for a run when other processes use `busy` CPUs' worth of `n_cpus`: one per free CPU, at least 1,
    at most `most`."""
    return max(1, min(most, n_cpus - int(busy + 1 - TAKEN_SHARE)))


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0)) or [0]
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity), at least 1."""
    return max(1, len(allowed_cpus()))


def _check_count(value, what: str, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TSTransferError(f"{what} {value}: must be an integer of at least 1")
    cpus = usable_cpus()
    if value > cpus:
        raise TSTransferError(f"{what} {value}: this process may run on {cpus} CPU(s) (its CPU affinity); more "
                              f"{unit} than CPUs only wait for each other: give at most {cpus}, or leave it out")
    return value


def check_threads(threads: int | None, what: str = "--threads") -> int | None:
    """A thread count asked for: None (chosen per run by the governor) or 1 .. the usable CPUs."""
    return None if threads is None else _check_count(threads, what, "threads")


def check_jobs(jobs: int | None, what: str = "--jobs") -> int:
    """Parallel processes / numba threads: the usable CPUs when None, else 1 .. the usable CPUs (numba refuses
    more threads than the CPUs it sees)."""
    return usable_cpus() if jobs is None else _check_count(jobs, what, "jobs")


def threads_per_worker(workers: int) -> int:
    """The most threads each of `workers` parallel runs may take: the usable CPUs shared out, at least 1."""
    return max(1, usable_cpus() // max(1, workers))


def cpu_ticks(cpus: list[int]) -> tuple[int, int] | None:
    """(busy, total) clock ticks of the given CPUs since boot from /proc/stat (busy: all but idle and iowait);
    None where /proc/stat cannot be read."""
    try:
        with open(PROC_STAT) as f:
            lines = f.read(1 << 20).splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    wanted = {f"cpu{c}" for c in cpus}
    busy = total = 0
    for line in lines:
        parts = line.split()
        if not parts or parts[0] not in wanted or len(parts) < 9:
            continue
        try:
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in parts[1:9])
        except ValueError:  # a malformed /proc/stat (a container's fake one): no measurement, torch's default
            return None
        total += user + nice + system + idle + iowait + irq + softirq + steal
        busy += user + nice + system + irq + softirq + steal
    return (busy, total) if total > 0 else None


def others_busy(before: tuple, after: tuple, n_cpus: int, hz: float) -> float:
    """CPUs' worth of work by other processes between two samples (busy ticks, total ticks, our process's CPU
    seconds, wall seconds): our own time is counted as busy in /proc/stat and taken off."""
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return 0.0
    own_ticks = (after[2] - before[2]) * hz
    return max(0.0, (busy - own_ticks) / total * n_cpus)


class ThreadGovernor:
    """Sets torch's thread count to the free CPUs now (a 50 ms look) and again at `update()` when at least
    `interval` seconds have passed; `close()` gives torch back the count it found."""

    def __init__(self, interval: float = 2.0, first_look: float = 0.05):
        import torch

        global _BASELINE
        if _BASELINE is None:
            _BASELINE = torch.get_num_threads()
        self.cpus = allowed_cpus()
        self.most = max(1, min(_BASELINE, len(self.cpus)))
        self.interval = interval
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.threads = self.found = torch.get_num_threads()
        self.history: list[tuple[float, int]] = []  # (others' CPUs, threads) at each decision, to inspect
        self._mark = self._sample()
        if self._mark is not None and self.most > 1:
            time.sleep(first_look)
            self.update(force=True)

    def _sample(self):
        ticks = cpu_ticks(self.cpus)
        return None if ticks is None else (*ticks, time.process_time(), time.perf_counter())

    def update(self, force: bool = False) -> int:
        """Re-measure if `interval` has passed (or `force`); returns the thread count in use."""
        if self._mark is None or self.most <= 1:
            return self.threads
        if not force and time.perf_counter() - self._mark[3] < self.interval:
            return self.threads
        now = self._sample()
        if now is None:
            return self.threads
        busy = others_busy(self._mark, now, len(self.cpus), self.hz)
        self._mark = now
        threads = threads_for(busy, len(self.cpus), self.most)
        self.history.append((round(busy, 2), threads))
        if threads != self.threads:
            import torch

            torch.set_num_threads(threads)
            self.threads = threads
        return threads

    def close(self) -> None:
        if self.threads != self.found:
            import torch

            torch.set_num_threads(self.found)
            self.threads = self.found


class FixedThreads:
    """A run with `--threads N` (or on a GPU): the count is set once and left alone; `close()` gives torch back the
    count it found (a later governed run reads torch's own count as its ceiling)."""

    def __init__(self, threads: int | None):
        import torch

        self.found = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()

    def update(self, force: bool = False) -> int:
        return self.threads

    def close(self) -> None:
        if self.threads != self.found:
            import torch

            torch.set_num_threads(self.found)


def thread_governor(threads: int | None, device):
    """The thread policy of a run: `threads` when given (at most the usable CPUs), the free CPUs on a CPU run,
    torch's default on a GPU."""
    check_threads(threads, "threads")
    if threads or device.type != "cpu":
        return FixedThreads(threads)
    return ThreadGovernor()


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; elsewhere what `platform` knows): benchmarks print it beside
    every timing, since ratios between contenders move from one CPU to another."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()
