"""Correct or refused: each place where tstransfer once gave a silent wrong answer (issue 11, items 1-18).

Functions that did not exist before the fix are imported inside the tests, so that each test fails on its own
on the old code instead of the whole file failing to import."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import toy_rows, write_ucr2018
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE, load_dataset, load_files
from tstransfer.errors import TSTransferError
from tstransfer.models import TrainedModel, create_model, load_model
from tstransfer.training import TrainConfig, evaluate, train

FAST = TrainConfig(epochs=3, threads=1, test_every=10)


@pytest.fixture(scope="module")
def italy_model(tmp_path_factory):
    """A real dataset and a model trained on it (the accuracies need not be good, only consistent)."""
    ds = load_dataset("ItalyPowerDemand")
    model, _ = train(ds, TrainConfig(epochs=5, threads=1, test_every=10), progress=False)
    path = model.save(tmp_path_factory.mktemp("italy") / "ItalyPowerDemand.safetensors")
    return ds, path


def _raw_test(name="ItalyPowerDemand"):
    rows = np.loadtxt(MINI_ARCHIVE / name / f"{name}_TEST.tsv", delimiter="\t")
    return rows[:, 0], rows[:, 1:]


# ----------------------------------------------------------------------------- predictions


def test_1_predict_on_raw_arrays_equals_predict_file_equals_evaluate(italy_model):
    """End to end on a real dataset: raw file -> load_model -> predict == predict_file == evaluate."""
    ds, path = italy_model
    model = load_model(path)
    y, X = _raw_test()
    from_file, proba_file = model.predict_file(MINI_ARCHIVE / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.tsv")
    # scaled and shifted raw series (float64): per-series z-normalisation must make them the same input
    scaled = 250.0 * X + 40.0
    np.testing.assert_array_equal(model.predict(scaled), from_file)
    np.testing.assert_allclose(model.predict_proba(scaled), proba_file, atol=1e-5)
    assert np.mean(from_file == y) == pytest.approx(evaluate(model, ds)["accuracy"])
    # what users pass: lists, one 1-D series, (n, channels, length), ints
    np.testing.assert_array_equal(model.predict(X.tolist()), from_file)
    np.testing.assert_array_equal(model.predict(X[:, None, :].astype(np.float32)), from_file)
    assert model.predict(X[3]).tolist() == [from_file[3]]
    ints = np.round(1000 * X).astype(np.int64)
    np.testing.assert_array_equal(model.predict(ints), model.predict(ints.astype(float) / 1000))


def test_2_predict_needs_a_declared_or_certain_label_column(italy_model, tmp_path, capsys):
    _, path = italy_model
    y, X = _raw_test()
    labelled = MINI_ARCHIVE / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.tsv"
    unlabelled = tmp_path / "unlabelled.tsv"
    np.savetxt(unlabelled, X, delimiter="\t", fmt="%.6f")
    shorter = tmp_path / "shorter.tsv"  # 20 columns, the model was trained on 24: a label or not is uncertain
    np.savetxt(shorter, X[:, :20], delimiter="\t", fmt="%.6f")

    assert main(["predict", str(path), str(labelled), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["predict", str(path), str(unlabelled), "--out", str(tmp_path / "b.csv")]) == 0
    a = [line.split(",")[1] for line in (tmp_path / "a.csv").read_text().splitlines()]
    b = [line.split(",")[1] for line in (tmp_path / "b.csv").read_text().splitlines()]
    assert a == b and len(a) == len(y) + 1  # all 24 values of each series used in both
    capsys.readouterr()
    assert main(["predict", str(path), str(shorter)]) == 2
    err = capsys.readouterr().err
    assert "give --labels first, last, a column number, or none" in err and "Traceback" not in err
    assert main(["predict", str(path), str(shorter), "--labels", "none"]) == 0


def _tamper_header(path: Path, out: Path, edit) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    header = json.loads(meta["tstransfer-model"])
    edit(header, tensors)
    save_file(tensors, str(out), metadata={"tstransfer-model": json.dumps(header)})
    return out


def test_3_a_model_whose_header_disagrees_with_its_tensors_is_refused(italy_model, tmp_path):
    _, path = italy_model
    head = [k for k in load_model(path).network.state_dict() if k.endswith("weight")][-1]

    def more_classes(h, t):
        h["classes"] = [1, 2, 3]

    def int_weights(h, t):
        t[head] = t[head].to(torch.int32)

    def nan_weights(h, t):
        t[head][0, 0] = float("nan")

    for name, edit, message in (("classes", more_classes, "class"), ("int", int_weights, "float"),
                                ("nan", nan_weights, "finite")):
        bad = _tamper_header(path, tmp_path / f"{name}.safetensors", edit)
        with pytest.raises(TSTransferError, match=message):
            load_model(bad)


# ----------------------------------------------------------------------------- data


def test_4_an_infinite_value_is_refused_with_file_line_and_column(tmp_path):
    rows = toy_rows(4, 12)
    rows[2][5] = "inf"
    folder = write_ucr2018(tmp_path, "Inf", rows, toy_rows(2, 12))
    with pytest.raises(TSTransferError, match=r"Inf_TRAIN\.tsv.*line 3.*column 6"):
        load_dataset("Inf", tmp_path)
    assert main(["train", str(folder), "--epochs", "1", "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert not (tmp_path / "runs" / "Inf.safetensors").exists()


def test_4_a_run_whose_loss_becomes_non_finite_fails_loudly(tmp_path, monkeypatch, capsys):
    import torch.nn.functional as F

    real = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda *a, **k: real(*a, **k) * float("nan"))
    with pytest.raises(TSTransferError, match="loss became nan at epoch 1"):
        train(load_dataset("GunPoint"), FAST, progress=False)
    assert main(["train", "GunPoint", "--epochs", "2", "--out", str(tmp_path / "runs"), "--quiet"]) == 1
    assert "loss became nan" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "GunPoint.safetensors").exists()
    # in a grid: a failed run, with the reason
    from tstransfer.study import open_store

    study = tmp_path / "study"
    assert main(["pretrain", "--study", str(study), "--datasets", "GunPoint", "--epochs", "2", "--quiet"]) == 1
    [row] = open_store(study).runs()
    assert row["status"] == "failed" and "loss became nan" in row["error"]


def test_5_labels_are_typed_once_per_dataset(tmp_path):
    train_rows = toy_rows(3, 10, labels=(1, 2, "x"))
    test_rows = toy_rows(2, 10, labels=(1, 2))
    write_ucr2018(tmp_path, "Mixed", train_rows, test_rows)
    ds = load_dataset("Mixed", tmp_path)
    assert sorted(map(str, ds.classes)) == ["1", "2", "x"]
    train_labels = [ds.classes[i] for i in ds.y_train]
    test_labels = [ds.classes[i] for i in ds.y_test]
    assert test_labels == [train_labels[0]] * 2 + [train_labels[3]] * 2  # the same classes, the same type


def test_6_dataset_names_are_canonicalised_to_the_archives(tmp_path):
    from tstransfer.study import open_store

    study = tmp_path / "study"
    assert main(["pretrain", "--study", str(study), "--datasets", "gunpoint", "GunPoint", "GUNPOINT",
                 "--epochs", "1", "--quiet"]) == 0
    assert [(r["target"], r["status"]) for r in open_store(study).runs()] == [("GunPoint", "done")]
    assert [p.name for p in (study / "pretrained").glob("*.safetensors")] == ["GunPoint.safetensors"]


def test_7_a_folder_of_the_working_directory_does_not_shadow_the_archive(tmp_path, monkeypatch, capsys):
    from tstransfer.data import dataset_from_spec as _dataset

    write_ucr2018(tmp_path, "GunPoint", toy_rows(3, 10), toy_rows(2, 10))  # ./GunPoint: not the archive's
    monkeypatch.chdir(tmp_path)
    assert _dataset("GunPoint", str(MINI_ARCHIVE)).X_train.shape == (50, 1, 150)
    assert _dataset("./GunPoint", str(MINI_ARCHIVE)).X_train.shape == (6, 1, 10)
    write_ucr2018(tmp_path, "Plane2", toy_rows(3, 10), toy_rows(2, 10))
    with pytest.raises(TSTransferError, match=r"write \./Plane2"):
        _dataset("Plane2", str(MINI_ARCHIVE))
    from tstransfer.cli import DATASET_RULE

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert DATASET_RULE in " ".join(capsys.readouterr().out.split())


# ----------------------------------------------------------------------------- studies


def test_8_a_study_refuses_data_that_changed_under_it(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "study"
    args = ["pretrain", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha",
            "Gamma", "--epochs", "1", "--quiet"]
    assert main(args) == 0
    write_ucr2018(toy_grid_archive, "Alpha", toy_rows(5, 24, seed=11), toy_rows(3, 24, seed=12))
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "the data of Alpha differ" in err and "Gamma" not in err
    # the same data from another folder (a moved archive) is the same data; changed data there is refused
    other = tmp_path / "moved"
    other.mkdir()
    os.symlink(toy_grid_archive / "Gamma", other / "Gamma")
    moved = ["pretrain", "--archive", str(other), "--study", str(study), "--datasets", "Gamma", "--epochs", "1",
             "--quiet"]
    assert main(moved) == 0
    assert "1 already finished" in capsys.readouterr().out
    (other / "Gamma").unlink()
    write_ucr2018(other, "Gamma", toy_rows(5, 28, labels=(-1, 1), seed=7), toy_rows(3, 28, labels=(-1, 1), seed=8))
    assert main(moved) == 2
    assert "the data of Gamma differ" in capsys.readouterr().err


def test_9_a_study_remembers_its_scope_and_a_dry_run_prices_it(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "study"
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--epochs", "1"]) == 2
    assert "--all" in capsys.readouterr().err
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha",
                 "Beta", "--epochs", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 runs" in out and "FLOP" in out and not (study / "pretrained").exists()
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha",
                 "Beta", "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    # later commands default to the study's archive and datasets (Gamma, also in the archive, is not added)
    assert main(["grid", "--study", str(study), "--epochs", "1", "--quiet"]) == 0
    assert "0 runs done, 0 failed, 4 already finished" in capsys.readouterr().out
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    import pandas as pd

    assert list(pd.read_csv(study / "similarity" / "distances.csv", index_col=0).index) == ["Alpha", "Beta"]
    printed = capsys.readouterr().out
    assert "K_1..K_1: Beta" in printed and "K_1..K_3" not in printed  # as many neighbours as there are


def test_10_a_finished_run_whose_model_was_deleted_runs_again(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "study"
    args = ["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha", "Gamma",
            "--epochs", "1", "--quiet"]
    assert main(args) == 0
    (study / "pretrained" / "Alpha.safetensors").unlink()
    capsys.readouterr()
    assert main(args) == 0
    assert "1 runs done, 0 failed, 3 already finished" in capsys.readouterr().out
    assert (study / "pretrained" / "Alpha.safetensors").is_file()


def test_11_a_grid_with_failed_runs_exits_non_zero(tmp_path, toy_grid_archive, capsys):
    (toy_grid_archive / "Broken").mkdir()
    (toy_grid_archive / "Broken" / "Broken_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\n")
    assert main(["pretrain", "--archive", str(toy_grid_archive), "--study", str(tmp_path / "s"), "--datasets",
                 "Alpha", "Broken", "--epochs", "1", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 runs done, 1 failed" in captured.out and "--retry-failed" in captured.err


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.add(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_12_workers_die_with_a_killed_driver(tmp_path, toy_grid_archive):
    command = [sys.executable, "-m", "tstransfer.cli", "grid", "--archive", str(toy_grid_archive), "--study",
               str(tmp_path / "s"), "--datasets", "Alpha", "Beta", "Gamma", "--epochs", "100000", "--workers", "2",
               "--threads", "1", "--quiet"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(_children(driver.pid)) < 2:
            time.sleep(0.5)
        time.sleep(3)  # the workers have imported torch and started training
        workers = _children(driver.pid)
        assert len(workers) >= 2
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.5)
    assert not [p for p in workers if _alive(p)]


def test_13_recommend_ranks_usable_sources_and_validates_top(tmp_path, zoo_dir, capsys):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(zoo_dir, study)
    # a prototype left in the cache by another run, with no model in this study
    shutil.copy(study / "similarity" / "prototypes" / "GunPoint.npz",
                study / "similarity" / "prototypes" / "Orphan.npz")
    mine = tmp_path / "ECG200.tsv"  # the user's file is named like a dataset of the study: still a source
    mine.write_text((MINI_ARCHIVE / "ItalyPowerDemand" / "ItalyPowerDemand_TRAIN.tsv").read_text())
    assert main(["recommend", str(mine), "--study", str(study)]) == 0
    out = capsys.readouterr().out
    assert "Orphan" not in out and all(n in out for n in ("ECG200", "GunPoint", "SonyAIBORobotSurface1"))
    assert main(["recommend", "GunPoint", "--study", str(study)]) == 0
    out = capsys.readouterr().out
    assert "ECG200" in out and "   GunPoint" not in out.split("\n", 1)[1]
    assert main(["recommend", str(mine), "--study", str(study), "--top", "-1"]) == 2
    assert "--top -1" in capsys.readouterr().err


# ----------------------------------------------------------------------------- files


def test_14_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        torch.manual_seed(0)
        from tstransfer.data import PREPROCESSING

        model = TrainedModel(create_model("fcn", 1, 2), [1, 2], dict(PREPROCESSING), {})
        path = model.save(tmp_path / "m.safetensors")
        from tstransfer.files import atomic_write_text

        text = atomic_write_text(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(text.stat().st_mode) == 0o644


def test_15_a_transfer_never_overwrites_a_model_without_force(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "ECG200", "--epochs", "1", "--out", str(runs), "--quiet"]) == 0
    assert main(["train", "GunPoint", "--epochs", "1", "--out", str(runs), "--quiet"]) == 0
    scratch = (runs / "GunPoint.safetensors").read_bytes()
    args = ["transfer", str(runs / "ECG200.safetensors"), "GunPoint", "--epochs", "1", "--out", str(runs),
            "--quiet"]
    assert main(args) == 0
    assert (runs / "ECG200-to-GunPoint.safetensors").is_file()
    assert (runs / "GunPoint.safetensors").read_bytes() == scratch
    capsys.readouterr()
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0


def test_16_outputs_are_checked_before_training(tmp_path, monkeypatch, capsys):
    import tstransfer.training as training

    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("trained before checking --out"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "GunPoint", "--epochs", "1", "--out", str(blocker), "--quiet"]) == 2
    assert "--out" in capsys.readouterr().err
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "GunPoint.safetensors").mkdir()  # a folder where the model file is meant
    assert main(["train", "GunPoint", "--epochs", "1", "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert "GunPoint.safetensors" in capsys.readouterr().err


def test_17_model_and_history_are_written_as_one(tmp_path, monkeypatch):
    import errno

    from tstransfer.training import train_to_files

    ds = load_files(MINI_ARCHIVE / "GunPoint" / "GunPoint_TRAIN.tsv", name="GunPoint")
    model_path, history_path, _ = train_to_files(ds, tmp_path, TrainConfig(epochs=1, threads=1), progress=False)
    before = model_path.read_bytes(), history_path.read_text()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(TSTransferError, match="disk is full"):
        train_to_files(ds, tmp_path, TrainConfig(epochs=2, threads=1), progress=False, force=True)
    assert (model_path.read_bytes(), history_path.read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["GunPoint.history.csv", "GunPoint.safetensors"]


def test_18_two_models_of_one_dataset_in_a_zoo_are_refused(tmp_path, zoo_dir):
    import shutil

    from tstransfer.zoo import Zoo

    flat = tmp_path / "flat"
    shutil.copytree(zoo_dir / "pretrained", flat)
    shutil.copy(flat / "GunPoint.safetensors", flat / "GunPoint-old.safetensors")
    with pytest.raises(TSTransferError, match="two models of GunPoint"):
        Zoo(flat)
