"""Shared fixtures: the vendored mini archive and small generated archives in every layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tstransfer.data import MINI_ARCHIVE


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory) -> Path:
    """The user's selection cache (usercache.py) in a folder of the test session, never the home folder; the
    command-line subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("user-cache")
    os.environ["TSTRANSFER_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def mini_archive() -> Path:
    return MINI_ARCHIVE


def write_ucr2018(root: Path, name: str, train_rows: list[list], test_rows: list[list] | None = None) -> Path:
    """Write a dataset in the UCR 2018 layout; rows are [label, v1, v2, ...] (NaN allowed)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("TRAIN", train_rows), ("TEST", test_rows)):
        if rows is not None:
            text = "\n".join("\t".join("NaN" if isinstance(v, float) and np.isnan(v) else str(v) for v in row)
                             for row in rows)
            (folder / f"{name}_{split}.tsv").write_text(text + "\n")
    return folder


def toy_rows(n_per_class: int, length: int, labels=(1, 2), seed: int = 0) -> list[list]:
    """Two easily separable classes: a sine and a ramp, with noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    rows = []
    for i, label in enumerate(labels):
        base = np.sin(2 * np.pi * (i + 1) * t) if i % 2 == 0 else t * (i + 1)
        for _ in range(n_per_class):
            rows.append([label, *np.round(base + 0.1 * rng.standard_normal(length), 5)])
    return rows


@pytest.fixture
def toy_archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    write_ucr2018(root, "Toy", toy_rows(6, 32, seed=1), toy_rows(4, 32, seed=2))
    return root


@pytest.fixture
def toy_grid_archive(tmp_path: Path) -> Path:
    """Three tiny datasets (2, 3 and 2 classes) for fast grids."""
    root = tmp_path / "grid_archive"
    write_ucr2018(root, "Alpha", toy_rows(5, 24, labels=(1, 2), seed=1), toy_rows(3, 24, labels=(1, 2), seed=2))
    write_ucr2018(root, "Beta", toy_rows(4, 20, labels=(0, 1, 2), seed=3), toy_rows(2, 20, labels=(0, 1, 2), seed=4))
    write_ucr2018(root, "Gamma", toy_rows(5, 28, labels=(-1, 1), seed=5), toy_rows(3, 28, labels=(-1, 1), seed=6))
    return root


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory):
    """A real zoo: 3 mini-archive datasets pre-trained (3 epochs) with their prototypes."""
    from tstransfer.grid import run_grid
    from tstransfer.similarity import compute_similarity
    from tstransfer.study import StudyPaths, plan_runs
    from tstransfer.training import TrainConfig

    names = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]
    study = tmp_path_factory.mktemp("zoo") / "study"
    config = TrainConfig(epochs=3, threads=2, test_every=10)
    run_grid(MINI_ARCHIVE, study, plan_runs(names, transfers=False), config, progress=False)
    compute_similarity(MINI_ARCHIVE, StudyPaths(study).similarity, names, jobs=1, progress=False)
    return study
