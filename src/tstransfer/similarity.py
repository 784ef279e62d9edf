"""Algorithm 1 of the paper: inter-dataset similarity from DBA class prototypes and DTW.

1. For each dataset, on its training set only, one prototype per class: the DTW Barycenter Average
   (Petitjean et al. 2011) of the class, initialised at the class medoid (the series with the least sum
   of squared DTW distances to the others), 10 iterations. A one-member class gives that member.
2. DTW with a squared-Euclidean local cost, square root of the total, no warping window; unequal
   lengths allowed. (aeon's `dtw_distance` returns the total without the square root.)
3. distance(A, B) = min DTW over all pairs (prototype of A, prototype of B).
4. For each target, the other datasets ranked by that distance: K_1 (most similar) ... K_{N-1}.

The DTW and DBA kernels are aeon's (numba). Prototypes are cached per dataset, keyed by a hash of the
preprocessed training data and the parameters, so adding a dataset costs one dataset's work.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .cpus import check_jobs
from .data import Dataset, data_fingerprint, find_dataset, list_archive, load_dataset
from .errors import TSTransferError
from .files import atomic_path, atomic_paths, csv_text, safe_name

DBA_ITERATIONS = 10
FINGERPRINTS = "fingerprints.json"  # beside distances.csv: the data each dataset's row was computed from
CACHE_VERSION = "dba-medoid-fulldtw-v1"


def dtw(x: np.ndarray, y: np.ndarray) -> float:
    """Full DTW distance (no window, squared-Euclidean local cost, square root of the total)."""
    from aeon.distances import dtw_distance  # aeon loads numba: seconds

    return float(np.sqrt(dtw_distance(np.atleast_2d(x), np.atleast_2d(y))))


# DTW and DBA hold a length x length cost matrix: longer series are averaged down to this many points first
# (piecewise aggregate approximation), bounding it to 72 MB. Every dataset of the UCR archive is shorter (its
# longest, Rock, has 2844 points), so Algorithm 1's results on it are exactly those without a bound.
MAX_SIMILARITY_LENGTH = 3000


def paa(x: np.ndarray, length: int = MAX_SIMILARITY_LENGTH) -> np.ndarray:
    """x (channels, n) averaged over `length` near-equal segments when n is longer; unchanged otherwise."""
    n = x.shape[-1]
    if n <= length:
        return x
    starts = np.linspace(0, n, length + 1).astype(np.int64)[:-1]
    return np.add.reduceat(x, starts, axis=-1) / np.diff(np.append(starts, n))


def _trimmed(dataset: Dataset, y: int) -> list[np.ndarray]:
    """The training series of class y, each (channels, own length; at most MAX_SIMILARITY_LENGTH), float64."""
    idx = np.flatnonzero(dataset.y_train == y)
    # C-contiguous float64 always: numba compiles one specialisation per array layout and dtype
    return [np.ascontiguousarray(paa(dataset.X_train[i, :, : dataset.len_train[i]].astype(np.float64)))
            for i in idx]


def medoid_index(series: list[np.ndarray]) -> int:
    """The series with the least sum of squared DTW distances to the others."""
    from aeon.distances import dtw_pairwise_distance  # aeon loads numba: seconds

    if len(series) == 1:
        return 0
    costs = dtw_pairwise_distance(series)  # aeon's cost = squared DTW distance
    return int(np.argmin(costs.sum(axis=1)))


def dba(series: list[np.ndarray], iterations: int = DBA_ITERATIONS) -> np.ndarray:
    """DBA of a list of (channels, length) series, medoid-initialised, `iterations` updates.

    Equal-length classes use aeon's Petitjean DBA kernel (tol 0: it runs all iterations unless the cost
    rises through rounding, where it keeps the better barycenter). Classes of unequal lengths (aeon's
    kernel needs one length) use the same update written on aeon's DTW alignment path.
    """
    center = series[medoid_index(series)].copy()
    if len(series) == 1:
        return center
    if len({s.shape[1] for s in series}) == 1:
        from aeon.clustering.averaging import petitjean_barycenter_average  # aeon loads numba: seconds

        return petitjean_barycenter_average(np.stack(series), distance="dtw", max_iters=iterations, tol=0.0,
                                            init_barycenter=center)
    return dba_update(series, center, iterations)


def dba_update(series: list[np.ndarray], center: np.ndarray, iterations: int = DBA_ITERATIONS) -> np.ndarray:
    """Petitjean's DBA updates from `center`, on aeon's DTW alignment path (any series lengths)."""
    from aeon.distances import dtw_alignment_path  # aeon loads numba: seconds

    for _ in range(iterations):
        sums = np.zeros_like(center)
        counts = np.zeros(center.shape[1])
        for s in series:
            path, _ = dtw_alignment_path(center, s)
            i, j = np.asarray(path).T
            np.add.at(sums.T, i, s[:, j].T)
            np.add.at(counts, i, 1)
        center = sums / counts
    return center


def class_prototypes(dataset: Dataset, iterations: int = DBA_ITERATIONS, progress: bool = False) -> list[np.ndarray]:
    """One DBA prototype per class of the training split, in class order."""
    classes = tqdm(range(dataset.n_classes), desc="similarity: DBA prototype of each class", unit="class",
                   disable=not progress or dataset.n_classes < 2, leave=False, dynamic_ncols=True)
    try:
        return [dba(_trimmed(dataset, y), iterations) for y in classes]
    except MemoryError:
        raise TSTransferError(f"{dataset.name}: not enough memory for the DBA prototypes of {len(dataset.y_train)} "
                              f"series of length {dataset.X_train.shape[-1]}", exit_code=1) from None


def dataset_distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Algorithm 1's distance: the minimum DTW over all pairs of prototypes."""
    return min(dtw(p, q) for p in a for q in b)


# ----------------------------------------------------------------------------- cache


def cache_key(dataset: Dataset, iterations: int = DBA_ITERATIONS) -> str:
    return hashlib.sha256(f"{dataset.fingerprint()}|{iterations}|{CACHE_VERSION}".encode()).hexdigest()[:20]


def _cache_file(cache_dir: Path, name: str) -> Path:
    return cache_dir / f"{safe_name(name, 'dataset')}.npz"


MAX_PROTOTYPE_BYTES = 64 << 20  # one class prototype; a UCR one is a few KB


def read_prototypes(path: str | Path, key: str | None = None) -> list[np.ndarray]:
    """The class prototypes stored in an `.npz` file (no pickle); with `key`, only if it was made with it.
    A damaged file is a TSTransferError."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if any(info.file_size > MAX_PROTOTYPE_BYTES for info in f.zip.infolist()):
                raise ValueError(f"a member inflates to more than {MAX_PROTOTYPE_BYTES} bytes")
            if key is not None and str(f["key"]) != key:
                raise KeyError("key")
            n = int(f["n_classes"])
            if not 1 <= n <= len(f.files):
                raise ValueError(f"n_classes {n} does not match its arrays")
            protos = [np.asarray(f[f"class_{i}"], dtype=np.float64) for i in range(n)]
    except KeyError as err:
        raise TSTransferError(f"{path}: prototypes file without {err}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise TSTransferError(f"{path}: not a readable prototypes file ({err})") from None
    if any(p.ndim != 2 or not np.isfinite(p).all() for p in protos):
        raise TSTransferError(f"{path}: prototypes must be finite (channels, length) arrays")
    return protos


def write_prototypes(path: str | Path, prototypes: list[np.ndarray], classes: list, key: str) -> Path:
    arrays = {f"class_{i}": p for i, p in enumerate(prototypes)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), n_classes=np.array(len(prototypes)),
                     labels=np.array([str(c) for c in classes]), **arrays)
    return Path(path)


def load_cached(cache_dir: Path, name: str, key: str) -> list[np.ndarray] | None:
    """Cached prototypes made with `key`; None when absent, stale or damaged (then they are recomputed)."""
    path = _cache_file(cache_dir, name)
    if not path.is_file():
        return None
    try:
        return read_prototypes(path, key)
    except TSTransferError:
        return None


def save_cached(cache_dir: Path, name: str, key: str, prototypes: list[np.ndarray], classes: list) -> None:
    write_prototypes(_cache_file(cache_dir, name), prototypes, classes, key)


def _prototypes_job(name: str, archive: str, cache_dir: str, iterations: int) -> tuple[str, bool]:
    """Worker: load a dataset, compute its prototypes unless cached. Returns (name, was_cached)."""
    dataset = load_dataset(name, archive)
    key = cache_key(dataset, iterations)
    if load_cached(Path(cache_dir), dataset.name, key) is not None:
        return dataset.name, True
    save_cached(Path(cache_dir), dataset.name, key, class_prototypes(dataset, iterations), dataset.classes)
    return dataset.name, False


def archive_prototypes(names: list[str], archive: str | Path, cache_dir: str | Path, jobs: int = 1,
                       iterations: int = DBA_ITERATIONS, progress: bool = True) -> dict[str, list[np.ndarray]]:
    """Prototypes of every named dataset, computed in `jobs` processes, read from / written to the cache."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(names), unit="dataset", desc="prototypes", disable=not progress, dynamic_ncols=True)
    stored: dict[str, str] = {}
    args = [(n, str(archive), str(cache_dir), iterations) for n in names]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_prototypes_job, *a): a[0] for a in args}
            for future in as_completed(futures):
                stored[futures[future]] = future.result()[0]
                bar.update(1)
    else:
        for a in args:
            stored[a[0]] = _prototypes_job(*a)[0]
            bar.update(1)
    bar.close()
    return {stored[name]: read_prototypes(_cache_file(cache_dir, stored[name])) for name in names}


# ----------------------------------------------------------------------------- matrix and ranking


def distance_matrix(prototypes: dict[str, list[np.ndarray]], jobs: int = 1) -> pd.DataFrame:
    """The N x N matrix of Algorithm 1's dataset distances (0 on the diagonal)."""
    from aeon.distances import dtw_pairwise_distance  # aeon loads numba: seconds

    names = list(prototypes)
    flat = [p for n in names for p in prototypes[n]]
    owner = np.repeat(np.arange(len(names)), [len(prototypes[n]) for n in names])
    costs = dtw_pairwise_distance(flat, n_jobs=jobs)  # every prototype pair in one numba call
    dist = np.sqrt(np.maximum(costs, 0))
    out = np.zeros((len(names), len(names)))
    for a in range(len(names)):
        rows = dist[owner == a]
        for b in range(len(names)):
            if a != b:
                out[a, b] = rows[:, owner == b].min()
    return pd.DataFrame(out, index=names, columns=names)


def neighbours(matrix: pd.DataFrame) -> pd.DataFrame:
    """For each target (index), the other datasets from most to least similar (columns K_1 ... K_{N-1})."""
    rows = {}
    for target in matrix.index:
        others = matrix.loc[target].drop(target)
        rows[target] = list(others.sort_values(kind="stable").index)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[f"K_{i + 1}" for i in range(len(matrix) - 1)])
    table.index.name = "target"
    return table


@dataclass
class SimilarityResult:
    distances: pd.DataFrame
    neighbours: pd.DataFrame
    prototypes: dict[str, list[np.ndarray]]
    paths: dict[str, Path]


def compute_similarity(archive: str | Path, out: str | Path, names: list[str] | None = None, jobs: int | None = 1,
                       iterations: int = DBA_ITERATIONS, progress: bool = True) -> SimilarityResult:
    """Algorithm 1 over an archive; writes distances.csv, neighbours.csv and prototypes/ (the cache) in `out`
    (a study's similarity/ folder, study.StudyPaths.similarity)."""
    names = names or list_archive(archive)
    if len(names) < 2:
        raise TSTransferError("similarity needs at least 2 datasets")
    jobs = check_jobs(jobs)  # None: every usable CPU
    out = Path(out)
    protos = archive_prototypes(names, archive, out / "prototypes", jobs=jobs, iterations=iterations,
                                progress=progress)
    matrix = distance_matrix(protos, jobs=jobs)
    table = neighbours(matrix)
    # what was read, so that whoever uses these tables can tell they are of other data (study.check_similarity)
    read = {"archive": str(Path(archive).resolve()), "iterations": iterations, "datasets": {
        found[0]: data_fingerprint(found[2], found[3]) for found in (find_dataset(n, archive) for n in names)}}
    paths = {"distances": out / "distances.csv", "neighbours": out / "neighbours.csv",
             "fingerprints": out / FINGERPRINTS, "prototypes": out / "prototypes"}
    with atomic_paths(paths["neighbours"], paths["distances"], paths["fingerprints"]) as (n_tmp, d_tmp, f_tmp):
        n_tmp.write_text(csv_text(table))
        d_tmp.write_text(csv_text(matrix))
        f_tmp.write_text(json.dumps(read, indent=1) + "\n")
    return SimilarityResult(matrix, table, protos, paths)
