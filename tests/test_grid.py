"""Grids: the results store, resume after kill -9, failures, the Ray engine, the matrices of a real grid
(planning and the summary arithmetic: test_study.py)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from tstransfer.grid import run_grid
from tstransfer.models import load_model
from tstransfer.study import load_study, open_store, plan_runs, write_results
from tstransfer.training import TrainConfig

DATASETS = ["Alpha", "Beta", "Gamma"]
CONFIG = TrainConfig(epochs=3, seed=11, threads=1)


def _snapshot(study):
    """{run: (status, test_acc, weights)} of a study, the weights read from its model files."""
    out = {}
    for row in open_store(study).runs():
        weights = None
        if row["status"] == "done":
            weights = {k: v.clone() for k, v in load_model(study / row["model_path"]).network.state_dict().items()}
        out[(row["kind"], row["source"], row["target"])] = (row["status"], row["test_acc"], weights)
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key][:2] == b[key][:2], key
        if a[key][2] is not None:
            for name, tensor in a[key][2].items():
                assert torch.equal(tensor, b[key][2][name]), (key, name)


@pytest.fixture(scope="module")
def reference_study(tmp_path_factory, request):
    """The uninterrupted 3-dataset grid (local engine, in this process)."""
    from conftest import toy_rows, write_ucr2018

    root = tmp_path_factory.mktemp("ref")
    archive = root / "archive"
    write_ucr2018(archive, "Alpha", toy_rows(5, 24, labels=(1, 2), seed=1), toy_rows(3, 24, labels=(1, 2), seed=2))
    write_ucr2018(archive, "Beta", toy_rows(4, 20, labels=(0, 1, 2), seed=3),
                  toy_rows(2, 20, labels=(0, 1, 2), seed=4))
    write_ucr2018(archive, "Gamma", toy_rows(5, 28, labels=(-1, 1), seed=5), toy_rows(3, 28, labels=(-1, 1), seed=6))
    report = run_grid(archive, root / "study", plan_runs(DATASETS), CONFIG, progress=False)
    assert (report.planned, report.done, report.failed) == (9, 9, 0)
    return archive, root / "study"


def test_grid_store_and_rerun_skips_finished_runs(reference_study):
    archive, study = reference_study
    rows = open_store(study).runs()
    assert len(rows) == 9 and {r["status"] for r in rows} == {"done"}
    row = next(r for r in rows if r["source"] == "Alpha" and r["target"] == "Beta")
    assert row["kind"] == "transfer" and row["epochs"] == 3 and row["seed"] == 11
    assert 1 <= row["best_epoch"] <= 3 and 0 <= row["test_acc"] <= 1 and row["device"] == "cpu"
    assert (study / row["history_path"]).is_file() and load_model(study / row["model_path"]).classes == [0, 1, 2]
    again = run_grid(archive, study, plan_runs(DATASETS), CONFIG, progress=False)
    assert (again.skipped, again.done) == (9, 0)


def test_study_refuses_other_settings(reference_study):
    from tstransfer.errors import TSTransferError

    archive, study = reference_study
    with pytest.raises(TSTransferError, match="this study was run with epochs=3, not 4"):
        run_grid(archive, study, plan_runs(DATASETS), TrainConfig(epochs=4, seed=11, threads=1), progress=False)


def _grid_cmd(archive, study):
    return [sys.executable, "-m", "tstransfer.cli", "grid", "--archive", str(archive), "--study", str(study),
            "--datasets", *DATASETS, "--epochs", "3", "--seed", "11", "--threads", "1", "--quiet"]


def _done_count(study):
    try:
        with sqlite3.connect(study / "study.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_gives_the_uninterrupted_results(tmp_path, reference_study):
    archive, reference = reference_study
    study = tmp_path / "study"
    proc = subprocess.Popen(_grid_cmd(archive, study), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _done_count(study) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _done_count(study)
    assert 4 <= killed_at < 9, "the grid should have been killed mid-way"
    # no torn file is ever visible: every model file present loads
    for path in study.rglob("*.safetensors"):
        load_model(path)

    rerun = subprocess.run(_grid_cmd(archive, study), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{9 - killed_at} runs done" in rerun.stdout or "already finished" in rerun.stdout
    rows = open_store(study).runs()
    assert len(rows) == 9 and {r["status"] for r in rows} == {"done"}
    assert not list(study.rglob("*.tmp"))
    _assert_same(_snapshot(study), _snapshot(reference))


def test_a_failing_run_is_recorded_and_the_rest_completes(tmp_path, toy_grid_archive, capsys):
    from tstransfer.cli import main

    broken = toy_grid_archive / "Broken"
    broken.mkdir()
    (broken / "Broken_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\n")  # ragged
    study = tmp_path / "study"
    args = ["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha", "Broken",
            "Gamma", "--epochs", "2", "--threads", "1", "--quiet"]
    assert main(args) == 1  # runs failed: the grid says so in its exit code and how to retry
    captured = capsys.readouterr()
    assert "4 runs done, 5 failed" in captured.out and "--retry-failed" in captured.err
    rows = {(r["source"], r["target"]): r for r in open_store(study).runs()}
    assert len(rows) == 9
    failed = {k for k, r in rows.items() if r["status"] == "failed"}
    assert failed == {("", "Broken"), ("Broken", "Alpha"), ("Broken", "Gamma"), ("Alpha", "Broken"),
                      ("Gamma", "Broken")}
    assert "ragged rows" in rows[("", "Broken")]["error"]
    assert "no pre-trained model of Broken" in rows[("Broken", "Alpha")]["error"]
    # fixed data + --retry-failed: only the failed runs are redone
    (broken / "Broken_TRAIN.tsv").write_text("1\t0.1\t0.2\t0.3\n2\t0.3\t0.1\t0.0\n1\t0.2\t0.1\t0.3\n")
    assert main(args) == 0  # new data of a dataset with no finished run: accepted
    assert "0 runs done, 0 failed, 9 already finished" in capsys.readouterr().out
    assert main(args + ["--retry-failed"]) == 0
    assert "5 runs done, 0 failed, 4 already finished" in capsys.readouterr().out


def test_ray_engine_matches_the_local_engine(tmp_path, reference_study):
    pytest.importorskip("ray", reason="Ray is an optional extra; CI installs it")
    archive, reference = reference_study
    study = tmp_path / "ray_study"
    report = run_grid(archive, study, plan_runs(DATASETS), CONFIG, engine="ray", workers=2, progress=False)
    import ray

    ray.shutdown()
    assert (report.done, report.failed) == (9, 0)
    _assert_same(_snapshot(study), _snapshot(reference))


def test_results_matrices_and_summary(tmp_path, reference_study, capsys):
    from tstransfer.cli import main

    _, study = reference_study
    assert main(["results", "--study", str(study), "--out", str(tmp_path / "res")]) == 0
    out = capsys.readouterr().out
    assert "6 source->target pairs" in out
    acc = pd.read_csv(tmp_path / "res" / "accuracy_matrix.csv", index_col=0)
    var = pd.read_csv(tmp_path / "res" / "variation_matrix.csv", index_col=0)
    base = pd.read_csv(tmp_path / "res" / "no_transfer.csv", index_col=0)["accuracy"]
    assert list(acc.index) == DATASETS and list(acc.columns) == DATASETS
    assert np.isnan(acc.loc["Alpha", "Alpha"])
    expected = 100 * (acc.loc["Beta", "Alpha"] - base["Alpha"]) / base["Alpha"]
    assert var.loc["Beta", "Alpha"] == pytest.approx(expected, rel=1e-4, abs=1e-4)
    runs = pd.read_csv(tmp_path / "res" / "runs.csv")
    assert len(runs) == 9
    settings = (tmp_path / "res" / "settings.json").read_text()
    assert "epochs=3 (paper: 2000)" in settings
    tables = load_study(study)
    assert tables.baseline.to_dict() == pytest.approx(base.to_dict(), abs=1e-6)
    paths, summary = write_results(study)
    assert paths["accuracy"] == study / "results" / "accuracy_matrix.csv"


def test_two_seeds_give_per_pair_mean_and_std_and_resume_by_seed(tmp_path, toy_grid_archive, capsys):
    """`grid --seeds 0 1`: every run once per seed (the first seed in the plain layout), results give the mean
    and std over the seeds, and each seed's runs are the runs a one-seed study of that seed gives."""
    from tstransfer.cli import main

    study, single = tmp_path / "seeds", tmp_path / "single"
    common = ["--archive", str(toy_grid_archive), "--datasets", *DATASETS, "--epochs", "2", "--threads", "1",
              "--quiet"]
    assert main(["grid", "--study", str(study), "--seeds", "0", "1", *common]) == 0
    assert "18 runs done" in capsys.readouterr().out
    assert (study / "pretrained" / "Alpha.safetensors").is_file()
    assert (study / "seed-1" / "transfer" / "Alpha" / "Beta.safetensors").is_file()
    assert main(["grid", "--study", str(study), "--seeds", "0", "1", *common]) == 0
    assert "0 runs done, 0 failed, 18 already finished" in capsys.readouterr().out
    assert main(["grid", "--study", str(single), "--seed", "1", *common]) == 0
    assert main(["results", "--study", str(study)]) == 0
    assert "accuracy_std" in capsys.readouterr().out
    per_seed = pd.read_csv(study / "results" / "per_seed.csv")
    alone = load_study(single)
    one = per_seed[per_seed.seed == 1].set_index(["source", "target"]).accuracy
    # seed 1 of the 2-seed study = a one-seed study with --seed 1
    assert one.to_dict() == pytest.approx(alone.accuracy.stack().dropna().to_dict(), abs=1e-12)
    mean = pd.read_csv(study / "results" / "accuracy_matrix.csv", index_col=0)
    std = pd.read_csv(study / "results" / "accuracy_std.csv", index_col=0)
    pairs = per_seed.groupby(["source", "target"]).accuracy
    for (source, target), value in pairs.mean().items():
        assert mean.loc[source, target] == pytest.approx(value, abs=1e-6)
        assert std.loc[source, target] == pytest.approx(pairs.std().loc[(source, target)], abs=1e-6)
    base = pd.read_csv(study / "results" / "no_transfer_per_seed.csv", index_col=0)
    assert list(base.columns) == ["0", "1"] and len(base) == 3
    assert main(["results", "--study", str(study), "--seeds", "1", "--out", str(tmp_path / "only1")]) == 0
    assert not (tmp_path / "only1" / "accuracy_std.csv").exists()  # one seed: today's files, nothing more
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "only1" / "accuracy_matrix.csv", index_col=0),
                                  pd.read_csv(_results(single) / "accuracy_matrix.csv", index_col=0))
    assert main(["results", "--study", str(study), "--seeds", "7"]) == 2
    assert "no runs with this seed" in capsys.readouterr().err
    assert main(["grid", "--study", str(study), "--seed", "1", "--seeds", "1", *common]) == 2
    assert "--seed or --seeds" in capsys.readouterr().err
    # a third seed for one dataset only: a mean over 3 seeds here and 2 there is refused, with the way out
    assert main(["pretrain", "--study", str(study), "--seeds", "2", *common[:2], "--datasets", "Alpha",
                 *common[6:]]) == 0
    capsys.readouterr()
    assert main(["results", "--study", str(study)]) == 2
    err = capsys.readouterr().err
    assert "Beta lacks seed 2" in err and "pass --seeds 0 1" in err
    assert main(["results", "--study", str(study), "--seeds", "0", "1"]) == 0


def _results(study):
    from tstransfer.cli import main

    assert main(["results", "--study", str(study)]) == 0
    return study / "results"


def test_fused_grid_records_every_run_and_resumes(tmp_path, toy_grid_archive, capsys):
    from tstransfer.cli import main

    study = tmp_path / "fused"
    args = ["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", *DATASETS,
            "--epochs", "2", "--threads", "1", "--fuse", "2", "--quiet"]
    assert main(args) == 0
    assert "9 runs done, 0 failed" in capsys.readouterr().out
    rows = open_store(study).runs()
    assert len(rows) == 9 and {r["status"] for r in rows} == {"done"}
    transfer = next(r for r in rows if r["kind"] == "transfer")
    assert load_model(study / transfer["model_path"]).metadata["fused_with"] == 2
    assert main(args) == 0 and "9 already finished" in capsys.readouterr().out
    assert main(args[:-3] + ["--fuse", "1", "--quiet"]) == 2  # a study keeps its --fuse
    assert "this study was run with fuse=2, not 1" in capsys.readouterr().err


def test_fit_time_step_runs_on_the_threads_the_training_takes(monkeypatch):
    """The step behind fit's time estimate is timed on the training's threads (--threads, else the free CPUs), and
    torch's count is given back: timed on torch's default threads, a busy 2-CPU machine spun at every barrier
    and timed a step 45x too slow."""
    import torch

    from tstransfer import grid
    from tstransfer.data import load_dataset
    from tstransfer.recipe import TrainConfig

    seen = []
    monkeypatch.setattr(grid, "timed_steps", lambda *args: seen.append(torch.get_num_threads()) or 0.01)
    before = torch.get_num_threads()
    ds = load_dataset("GunPoint")
    estimate = grid.estimate_fit(ds, TrainConfig.named("practical", threads=1), runs=2)
    assert seen == [1] and torch.get_num_threads() == before
    assert estimate.steps_per_epoch == 10 and estimate.bound == 2 * 1000 * 10 * 0.01
    assert estimate.typical == 2 * grid.TYPICAL_EPOCHS * 10 * 0.01
