"""The user's cache of source selections: a target's class prototypes (Algorithm 1's DBA, the costly part: 40-100 s
for 500 series) and its ranking against a zoo's sources, so that `recommend`, `fit --dry-run` and `fit` on the
same file compute them once.

Keys come from content only, so a changed file or a changed zoo is never served a stale answer:
- prototypes: `similarity.cache_key(dataset)`, a hash of the preprocessed training data and the DBA parameters;
- a ranking: a hash of that key and of every candidate source's name and prototypes file (its sha256).

Where: $TSTRANSFER_CACHE, else $XDG_CACHE_HOME/tstransfer, else ~/.cache/tstransfer ("off" disables it). Bounded:
the least recently used entries go once it holds more than MAX_ENTRIES files or MAX_BYTES. A cache that cannot be
written (a read-only home) is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TSTransferError
from .files import atomic_write_text, sha256_file
from .similarity import read_prototypes, write_prototypes

MAX_ENTRIES = 400
MAX_BYTES = 64 << 20


def cache_dir() -> Path | None:
    """The cache folder (None when disabled)."""
    given = os.environ.get("TSTRANSFER_CACHE")
    if given is not None:
        return None if given.strip().lower() in ("", "off", "0", "no") else Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tstransfer"


def _folder() -> Path | None:
    root = cache_dir()
    return None if root is None else root / "selection"


def load_prototypes(key: str) -> list[np.ndarray] | None:
    """A target's cached prototypes made with `key`, else None."""
    folder = _folder()
    path = folder / f"prototypes-{key}.npz" if folder else None
    if path is None or not path.is_file():
        return None
    try:
        protos = read_prototypes(path, key)
    except TSTransferError:
        return None  # damaged: recomputed and rewritten
    _touch(path)
    return protos


def save_prototypes(key: str, prototypes: list[np.ndarray], classes: list) -> None:
    folder = _folder()
    if folder is None:
        return
    try:
        write_prototypes(folder / f"prototypes-{key}.npz", prototypes, classes, key)
        _evict(folder)
    except (OSError, TSTransferError):
        pass  # a cache that cannot be written is no cache, not a failure


def ranking_key(target_key: str, sources: dict[str, Path]) -> str:
    """The key of a ranking: the target's prototypes key and every candidate source's name and prototypes."""
    h = hashlib.sha256(target_key.encode())
    for name in sorted(sources):
        h.update(f"|{name}:{sha256_file(sources[name])}".encode())
    return h.hexdigest()[:32]


def load_ranking(key: str) -> pd.DataFrame | None:
    folder = _folder()
    path = folder / f"ranking-{key}.csv" if folder else None
    if path is None or not path.is_file():
        return None
    try:
        table = pd.read_csv(io.StringIO(path.read_text()), dtype={"source": str}, float_precision="round_trip")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if list(table.columns) != ["rank", "source", "distance"] or table.empty:
        return None
    _touch(path)
    return table


def save_ranking(key: str, table: pd.DataFrame) -> None:
    folder = _folder()
    if folder is None:
        return
    try:
        # full precision: a cached ranking is the computed one, to the last bit
        atomic_write_text(folder / f"ranking-{key}.csv", table.to_csv(index=False, float_format="%.17g"))
        _evict(folder)
    except (OSError, TSTransferError):
        pass


def _touch(path: Path) -> None:
    try:
        os.utime(path)  # least recently *used* goes first
    except OSError:
        pass


def _evict(folder: Path) -> None:
    """Drop the least recently used entries beyond MAX_ENTRIES files or MAX_BYTES."""
    entries = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for i, path in enumerate(entries):
        total += path.stat().st_size
        if i >= MAX_ENTRIES or total > MAX_BYTES:
            path.unlink(missing_ok=True)
