"""Would torch.compile pay for tstransfer's training step on CPU? Eager vs compiled FCN training step, side by
side in one process: the per-step time once compiled, and what compiling costs (the first two steps).

Usage: python benchmarks/torch_compile.py

The compiled step must win back its compile time within a run, and recompiles for every new batch shape (the last
partial batch, evaluation batches).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from tstransfer.models import create_model

SIZES = [(2, 24), (6, 24), (5, 150), (6, 577)]  # batch x length: tiny, ItalyPowerDemand, GunPoint, Car


def step_times(batch: int, length: int, compiled: bool, reps: int = 40) -> tuple[float, float]:
    """(seconds of the first two steps, ms per step after them)."""
    torch.manual_seed(0)
    network = create_model("fcn", 1, 2).train()
    optimizer = torch.optim.Adam(network.parameters(), foreach=True)
    forward = torch.compile(network) if compiled else network
    x, y = torch.randn(batch, 1, length), torch.zeros(batch, dtype=torch.long)

    def step():
        loss = F.cross_entropy(forward(x, None), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    step()
    step()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(reps):
        step()
    return first, 1e3 * (time.perf_counter() - start) / reps


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'batch x length':<16}{'eager ms':>10}{'compiled ms':>13}{'speed-up':>10}{'compile s':>11}"
          f"{'break-even steps':>18}")
    for batch, length in SIZES:
        _, eager = step_times(batch, length, False)
        first, compiled = step_times(batch, length, True)
        gain = eager - compiled
        even = f"{first * 1e3 / gain:>18.0f}" if gain > 0 else f"{'never':>18}"
        print(f"{f'{batch} x {length}':<16}{eager:>10.2f}{compiled:>13.2f}{eager / compiled:>10.2f}{first:>11.1f}"
              f"{even}", flush=True)


if __name__ == "__main__":
    main()
