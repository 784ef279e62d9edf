"""Algorithm 1 over a whole archive: wall time, peak memory, and a side-by-side timing against tslearn.

Usage: python benchmarks/similarity.py [--archive ../shared/ucr] [--jobs 2] [--subset 8]

1. tstransfer's Algorithm 1 (aeon numba DTW/DBA kernels) over every dataset of the archive, from an
   empty cache: wall time and peak memory (this process and its workers).
2. On a subset (the `--subset` smallest datasets by n_train * length^2), the same computation composed
   from tslearn (`cdist_dtw` for the medoids and the prototype distances, `dtw_barycenter_averaging`
   for DBA, 10 iterations) and ours again, in the same run: times and ratio, and the largest difference
   between the two distance matrices.
3. The top-5 neighbours of five targets. Needs `pip install tslearn`.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from tstransfer.data import list_archive, load_dataset
from tstransfer.similarity import compute_similarity

HERE = Path(__file__).resolve().parent
DEFAULT_ARCHIVE = HERE.parent.parent / "shared" / "ucr"
TARGETS = ["GunPoint", "Coffee", "ECG200", "Beef", "ItalyPowerDemand"]


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def tslearn_similarity(names: list[str], archive: str) -> np.ndarray:
    from tslearn.barycenters import dtw_barycenter_averaging
    from tslearn.metrics import cdist_dtw

    prototypes, owner = [], []
    for k, name in enumerate(names):
        ds = load_dataset(name, archive)
        X = ds.X_train.transpose(0, 2, 1).astype(np.float64)  # tslearn: (n, length, channels)
        for y in range(ds.n_classes):
            members = X[ds.y_train == y]
            if len(members) == 1:
                center = members[0]
            else:
                medoid = int(np.argmin((cdist_dtw(members) ** 2).sum(axis=1)))
                center = dtw_barycenter_averaging(members, init_barycenter=members[medoid], max_iter=10, tol=0.0)
            prototypes.append(center)
            owner.append(k)
    dist = cdist_dtw(prototypes)
    owner = np.array(owner)
    out = np.zeros((len(names), len(names)))
    for a in range(len(names)):
        for b in range(len(names)):
            if a != b:
                out[a, b] = dist[np.ix_(owner == a, owner == b)].min()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(DEFAULT_ARCHIVE))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--subset", type=int, default=8)
    args = parser.parse_args()
    names = list_archive(args.archive)

    with tempfile.TemporaryDirectory() as study:
        start = time.perf_counter()
        full = compute_similarity(args.archive, study, names, jobs=args.jobs, progress=False)
        wall = time.perf_counter() - start
    print(f"Algorithm 1, {len(names)} datasets, jobs={args.jobs}: {wall:.1f} s wall, peak memory {peak_mb():.0f} MB")

    sizes = {n: (lambda d: len(d.y_train) * d.X_train.shape[-1] ** 2)(load_dataset(n, args.archive)) for n in names}
    subset = sorted(names, key=sizes.get)[: args.subset]
    with tempfile.TemporaryDirectory() as study:
        start = time.perf_counter()
        ours = compute_similarity(args.archive, study, subset, jobs=1, progress=False).distances
        t_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = tslearn_similarity(subset, args.archive)
    t_theirs = time.perf_counter() - start
    print(f"\nsubset of {len(subset)} datasets ({', '.join(subset)}), one process each:")
    print(f"{'implementation':<34}{'seconds':>9}{'ratio':>8}")
    print(f"{'tstransfer (aeon numba kernels)':<34}{t_ours:>9.2f}{1.0:>8.2f}")
    print(f"{'tslearn DBA + cdist_dtw':<34}{t_theirs:>9.2f}{t_theirs / t_ours:>8.2f}")
    diff = np.abs(ours.to_numpy() - theirs).max()
    print(f"largest |distance difference| between the two matrices: {diff:.2e}")

    print("\ntop-5 neighbours (K_1..K_5):")
    for target in [t for t in TARGETS if t in full.neighbours.index]:
        row = full.neighbours.loc[target]
        print(f"{target:<20}" + ", ".join(f"{n} ({full.distances.loc[target, n]:.2f})" for n in row.iloc[:5]))


if __name__ == "__main__":
    main()
