"""Studies: the planned runs, the layout of a study folder, the results' summary arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tstransfer.errors import TSTransferError
from tstransfer.study import RunSpec, StudyPaths, open_store, plan_runs, study_datasets, summarize


def test_plan_has_n_pretrainings_then_n_times_n_minus_1_transfers():
    names = [f"D{i}" for i in range(6)]
    runs = plan_runs(names)
    assert len(runs) == 6 + 6 * 5
    assert all(r.kind == "pretrain" for r in runs[:6]) and all(r.kind == "transfer" for r in runs[6:])
    assert len(set(runs)) == len(runs) and RunSpec("transfer", "D1", "D1") not in runs
    sub = plan_runs(sources=["D0", "D1"], targets=["D2"])
    assert {str(r) for r in sub} == {"D0", "D1", "D2", "D0->D2", "D1->D2"}


def test_study_paths_do_no_io_and_know_the_first_seed_only_when_read(tmp_path):
    study = tmp_path / "never-created"
    paths = StudyPaths(study)
    assert not study.exists()  # a path calculator: nothing read, nothing made
    assert paths.model(RunSpec("transfer", "A", "B")) == study / "transfer" / "A" / "B.safetensors"
    assert paths.history(RunSpec("transfer", "A", "B")) == study / "transfer" / "A" / "B.history.csv"
    assert paths.model(RunSpec("pretrain", "", "A")) == study / "pretrained" / "A.safetensors"
    assert paths.loss_figure("A/B") == study / "figures" / "A%2FB_loss.png"
    with pytest.raises(ValueError, match="StudyPaths.of"):
        paths.model(RunSpec("pretrain", "", "A", seed=3))  # which seed keeps the plain layout is unknown
    store = open_store(study, create=True)
    store.record_once({"seed": 3})
    store.close()
    first = StudyPaths.of(study)
    assert first.primary_seed == 3
    assert first.model(RunSpec("pretrain", "", "A", seed=3)) == study / "pretrained" / "A.safetensors"
    assert first.model(RunSpec("pretrain", "", "A", seed=4)) == study / "seed-4" / "pretrained" / "A.safetensors"
    assert StudyPaths.of(tmp_path / "new").primary_seed == 0


def test_a_study_works_on_the_datasets_named_else_its_scope(tmp_path, mini_archive):
    study = tmp_path / "s"
    with pytest.raises(TSTransferError, match="has no datasets yet: name them"):
        study_datasets(study, str(mini_archive), None)
    assert study_datasets(study, str(mini_archive), ["gunpoint", "GunPoint"]) == ["GunPoint"]
    assert "Plane" in study_datasets(study, str(mini_archive), None, every=True)
    store = open_store(study, create=True)
    store.extend_scope(str(mini_archive), ["Plane", "ECG200"])
    store.close()
    assert study_datasets(study, str(mini_archive), None) == ["Plane", "ECG200"]


def test_summary_counts_on_a_known_matrix():
    acc = pd.DataFrame([[np.nan, 0.9, 0.5], [0.8, np.nan, 0.5], [0.7, 0.6, np.nan]],
                       index=list("abc"), columns=list("abc"))
    base = pd.Series({"a": 0.8, "b": 0.6, "c": 0.5})
    s = summarize(acc, base)
    assert (s["pairs"], s["improved"], s["unchanged"], s["degraded"]) == (6, 1, 4, 1)
    assert s["mean_change_points"] == pytest.approx(100 * (0.3 - 0.1) / 6)


def test_tie_band_turns_small_differences_into_draws():
    acc = pd.DataFrame([[np.nan, 0.9, 0.505], [0.795, np.nan, 0.5], [0.7, 0.61, np.nan]],
                       index=list("abc"), columns=list("abc"))
    base = pd.Series({"a": 0.8, "b": 0.6, "c": 0.5})
    exact = summarize(acc, base)
    assert (exact["improved"], exact["unchanged"], exact["degraded"]) == (3, 1, 2)
    banded = summarize(acc, base, tie_band=1.0)  # within 1 point: 0.505 vs 0.5, 0.795 vs 0.8, 0.61 vs 0.6
    assert (banded["improved"], banded["unchanged"], banded["degraded"]) == (1, 4, 1)
    assert banded["mean_change_points"] == exact["mean_change_points"]  # the band only decides draws
