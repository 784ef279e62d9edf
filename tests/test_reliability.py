"""Reliability, round 3 (issue 31): each finding of the hostile user's third walk, by its number. The one-line
refusals are cases of the shared corpus (tests/test_hostile_inputs.py, ids `r3-N-...`); what needs a server, a
race, a study or a measurement is here."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import toy_rows, write_ucr2018
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE, load_files, read_split
from tstransfer.files import sha256_file
from tstransfer.zoo import shipped_zoo

GUNPOINT = MINI_ARCHIVE / "GunPoint"


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("tstransfer: error:")]


def _zoo_subset(to: Path, names: list[str], edit=None) -> Path:
    """A published zoo of some of the shipped FCN zoo's real models (no training), its manifest edited by `edit`."""
    source = shipped_zoo("fcn")
    manifest = json.loads((source / "zoo.json").read_text())
    manifest["models"] = {n: manifest["models"][n] for n in names}
    for entry in manifest["models"].values():
        for key in ("file", "prototypes"):
            (to / entry[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / entry[key], to / entry[key])
    if edit:
        edit(manifest, to)
    (to / "zoo.json").write_text(json.dumps(manifest))
    return to


# ----------------------------------------------------------------------------- 1: every download phase bounded


class _DrippingServer:
    """Sends a status line, then one header byte every 0.3 s, for as long as the client listens; counts requests."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.stop.is_set():
                conn.sendall(b"X")
                time.sleep(0.3)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.listener.close()


def test_1_a_server_dripping_its_headers_is_cut_at_the_deadline(tmp_path, capsys):
    server = _DrippingServer()
    try:
        started = time.monotonic()
        assert main(["zoo", "pull", server.url, "--to", str(tmp_path / "z"), "--quiet", "--timeout", "1"]) == 1
        took = time.monotonic() - started
    finally:
        server.close()
    err = capsys.readouterr().err
    assert took < 10, took  # it ran past 100 s before
    assert len(_error_lines(err)) == 1 and "no status line and headers within 1s" in err
    assert not (tmp_path / "z").exists() and not (tmp_path / "z.partial").exists()


def test_1_a_dataset_download_is_bounded_the_same_way(tmp_path, monkeypatch, capsys):
    """`datasets --download` goes through aeon's urllib calls: the same header deadline holds there."""
    import aeon.datasets._data_loaders as loaders

    server = _DrippingServer()

    def fetch_from_dripping_server(name, extract_path=None, **kwargs):
        from urllib.request import urlopen

        urlopen(server.url + f"/{name}.zip", timeout=60)  # aeon's own call: 60 s a read

    monkeypatch.setattr(loaders, "load_classification", fetch_from_dripping_server)
    monkeypatch.setattr("aeon.datasets.load_classification", fetch_from_dripping_server)
    try:
        started = time.monotonic()
        code = main(["datasets", "--download", "Drip", "--archive", str(tmp_path / "arch"), "--timeout", "1"])
        took = time.monotonic() - started
    finally:
        server.close()
    assert code == 2 and took < 10
    assert "no status line and headers within 1s" in capsys.readouterr().err
    assert not (tmp_path / "arch" / "Drip").exists()


# ----------------------------------------------------------------------------- 2: a stale similarity never served


def test_2_similarity_of_older_data_is_refused_after_the_data_changed(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "study"
    assert main(["similarity", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha",
                 "Gamma", "--jobs", "1", "--quiet"]) == 0
    recorded = json.loads((study / "similarity" / "fingerprints.json").read_text())
    assert set(recorded["datasets"]) == {"Alpha", "Gamma"}
    write_ucr2018(toy_grid_archive, "Alpha", toy_rows(5, 24, seed=21), toy_rows(3, 24, seed=22))  # changed
    assert main(["grid", "--study", str(study), "--epochs", "1", "--quiet"]) == 0  # runs on the new data
    capsys.readouterr()
    for command in (["report", "--study", str(study), "--out", str(tmp_path / "report"), "--quiet"],
                    ["recommend", "Alpha", "--study", str(study)],
                    ["evaluate-selection", "--study", str(study), "--quiet"]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert len(_error_lines(err)) == 1 and "read other data of Alpha" in err, err
        assert "run `tstransfer similarity --study" in err
    assert not (tmp_path / "report").exists()
    # recomputed on the data the runs used, the report is served again
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    assert main(["report", "--study", str(study), "--out", str(tmp_path / "report"), "--quiet"]) == 0


# ----------------------------------------------------------------------------- 3 and 17: the one writer


def test_3_special_files_are_never_replaced_or_written_into(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert main(["train", str(GUNPOINT), "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    shutil.move(tmp_path / "GunPoint.safetensors", model)
    fifo = tmp_path / "decoy-device"
    os.mkfifo(fifo)  # a special file any user can make (a device twin needs root)
    link = tmp_path / "stdout-link"
    link.symlink_to(fifo)
    capsys.readouterr()
    for out in (fifo, link):
        assert main(["predict", str(model), str(GUNPOINT / "GunPoint_TEST.tsv"), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "not a regular file" in err and len(_error_lines(err)) == 1
        assert main(["fit", "--train", str(GUNPOINT / "GunPoint_TRAIN.tsv"), "--out", str(out), "--force",
                     "--epochs", "1", "--quiet"]) == 2
        assert "not a regular file" in capsys.readouterr().err
    assert fifo.exists() and not fifo.is_file() and link.is_symlink()  # untouched


def test_3_the_atomic_writer_refuses_a_special_file_that_appears_meanwhile(tmp_path):
    from tstransfer.errors import TSTransferError
    from tstransfer.files import atomic_write_text

    target = tmp_path / "out.csv"
    os.mkfifo(target)
    with pytest.raises(TSTransferError, match="not a regular file"):
        atomic_write_text(target, "x")
    assert not target.is_file() and not list(tmp_path.glob(".out.csv.*"))


def test_17_two_writers_of_one_new_name_never_silently_replace_each_other(tmp_path, monkeypatch, capsys):
    """The second `train --out` without --force loses: its file appeared meanwhile (written here by the race's
    other side just before the rename)."""
    import tstransfer.training as training

    real_train = training.train

    def train_while_another_process_writes(dataset, config=None, progress=True):
        result = real_train(dataset, config, progress)
        (tmp_path / "GunPoint.safetensors").write_text("the other process's model")
        return result

    monkeypatch.setattr(training, "train", train_while_another_process_writes)
    assert main(["train", str(GUNPOINT), "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already exists (written meanwhile by another process); give --force" in err
    assert (tmp_path / "GunPoint.safetensors").read_text() == "the other process's model"
    assert not (tmp_path / "GunPoint.history.csv").exists()  # nothing of the refused run lands
    assert not list(tmp_path.glob(".*.tmp"))


# ----------------------------------------------------------------------------- 4: a byte-order mark is not a label


@pytest.mark.parametrize("sep", ["\t", ","])
def test_4_a_byte_order_mark_is_dropped(tmp_path, sep):
    rows = toy_rows(4, 20, seed=3)
    text = "\n".join(sep.join(str(v) for v in row) for row in rows) + "\n"
    (tmp_path / "Bom_TRAIN.tsv").write_bytes("\ufeff".encode() + text.encode())
    (tmp_path / "Bom_TEST.tsv").write_bytes("\ufeff".encode() + text.encode())
    dataset = load_files(tmp_path / "Bom_TRAIN.tsv", tmp_path / "Bom_TEST.tsv")
    assert dataset.classes == [1, 2]  # numbers, not ['1', '2', '\ufeff1']
    plain = load_files(_plain_copy(tmp_path, text, sep))
    np.testing.assert_array_equal(dataset.X_train, plain.X_train)


def _plain_copy(tmp_path: Path, text: str, sep: str) -> Path:
    path = tmp_path / f"Plain{'Tab' if sep == chr(9) else 'Comma'}_TRAIN.tsv"
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- 5, 10, 11: CPUs -> threads and jobs

_ONE_CPU = """
import os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # as `taskset -c 0`, SLURM and Docker cpusets do
from tstransfer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_5_similarity_on_a_process_limited_to_one_cpu(tmp_path, toy_grid_archive):
    result = subprocess.run([sys.executable, "-c", _ONE_CPU, "similarity", "--archive", str(toy_grid_archive),
                             "--study", str(tmp_path / "s"), "--datasets", "Alpha", "Gamma", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-c", _ONE_CPU, "similarity", "--archive", str(toy_grid_archive),
                             "--study", str(tmp_path / "s"), "--datasets", "Alpha", "Gamma", "--jobs", "4"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--jobs 4: this process may run on 1 CPU(s)" in result.stderr


def test_10_grid_runs_without_threads_are_governed_within_their_share(tmp_path, toy_grid_archive, monkeypatch):
    """No fixed os.cpu_count() // workers: each run gets None (the governor decides, within the worker's share of
    the CPUs the process may use)."""
    import tstransfer.grid as grid
    from tstransfer import cpus

    seen = []

    def record(jobs, archive, study, config):
        seen.append(config["threads"])
        return [{"status": "failed", "error": "not run in this test"} for _ in jobs]

    monkeypatch.setattr(grid, "execute_job", record)
    main(["pretrain", "--archive", str(toy_grid_archive), "--study", str(tmp_path / "s"), "--datasets", "Alpha",
          "--epochs", "1", "--quiet"])
    assert seen == [None]
    monkeypatch.setattr(cpus, "allowed_cpus", lambda: [0, 1, 2, 3])
    assert cpus.threads_per_worker(2) == 2 and cpus.threads_per_worker(8) == 1
    monkeypatch.setattr(cpus, "allowed_cpus", lambda: [3])
    assert cpus.usable_cpus() == 1 and cpus.threads_per_worker(2) == 1


def test_11_and_18_thread_counts_are_capped_and_proc_stat_may_be_malformed(tmp_path, monkeypatch):
    from tstransfer import cpus
    from tstransfer.errors import TSTransferError

    monkeypatch.setattr(cpus, "allowed_cpus", lambda: [0])
    with pytest.raises(TSTransferError, match="--threads 64: this process may run on 1 CPU"):
        cpus.check_threads(64)
    with pytest.raises(TSTransferError, match="--jobs 0: must be an integer of at least 1"):
        cpus.check_jobs(0)
    assert cpus.check_threads(None) is None and cpus.check_jobs(None) == 1
    fake = tmp_path / "stat"
    fake.write_text("cpu0 12 x 7 7 7 7 7 7 7\ncpu1 garbage\n")
    monkeypatch.setattr(cpus, "PROC_STAT", str(fake))
    assert cpus.cpu_ticks([0, 1]) is None  # no measurement: torch's own count, no crash
    governor = cpus.ThreadGovernor(first_look=0.01)
    assert governor.update(force=True) >= 1


# ----------------------------------------------------------------------------- 6 (and issue 30): --compare robust


def _unequal_files(tmp_path: Path, train_length: int, test_length: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)

    def rows(n, longest, seed):
        out = []
        for i, row in enumerate(toy_rows(n, longest, seed=seed)):
            cut = longest - (rng.integers(0, longest // 3) if i else 0)  # NaN-padded: unequal lengths, one full
            out.append(row[: 1 + cut] + [float("nan")] * (longest - cut))
            out[-1][0] = row[0]
        return out

    paths = []
    for name, n, length, seed in (("U_TRAIN.tsv", 6, train_length, 1), ("U_TEST.tsv", 4, test_length, 2)):
        path = tmp_path / name
        path.write_text("\n".join("\t".join(str(v) for v in r) for r in rows(n, length, seed)) + "\n")
        paths.append(path)
    return paths[0], paths[1]


@pytest.mark.parametrize("train_length,test_length", [(40, 30), (30, 40)])
def test_6_compare_takes_unequal_lengths_and_a_test_file_of_another_length(tmp_path, train_length, test_length):
    from tstransfer.baselines import common_length
    from tstransfer.recipe import TrainConfig
    from tstransfer.selection import compare_baselines

    train, test = _unequal_files(tmp_path, train_length, test_length)
    dataset = load_files(train, test)
    assert not dataset.equal_length and common_length(dataset) == max(train_length, test_length)
    rows = compare_baselines(dataset, TrainConfig.named("practical", epochs=2, threads=1), progress=False)
    assert [r["method"].split()[0] for r in rows] == ["FCN", "MiniRocket"]
    assert all("error" not in r and 0 <= r["accuracy"] <= 1 for r in rows), rows
    assert rows[1]["seconds"] >= 0 and "numba compilation" in rows[1]["note"]


def test_6_an_arm_that_fails_is_its_row_alone(tmp_path, monkeypatch):
    import tstransfer.selection as selection
    from tstransfer.recipe import TrainConfig

    def broken(dataset, seed=0):
        raise ValueError("length of train set was 361, length in predict is 324\nmore lines of a traceback")

    monkeypatch.setattr(selection, "minirocket", broken)
    train, test = _unequal_files(tmp_path, 30, 30)
    rows = selection.compare_baselines(load_files(train, test), TrainConfig.named("practical", epochs=1, threads=1),
                                       progress=False)
    assert rows[0]["accuracy"] is not None and "error" not in rows[0]
    assert rows[1]["accuracy"] is None and rows[1]["error"] == "ValueError: length of train set was 361, length in " \
        "predict is 324"


# ----------------------------------------------------------------------------- 7: evaluate-selection too early


def test_7_evaluate_selection_before_any_transfer_is_one_line(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "s"
    assert main(["pretrain", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha",
                 "Gamma", "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate-selection", "--study", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(_error_lines(err)) == 1 and "no target has a finished transfer yet" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- 8 and 15: zoo files checked by content


def test_8_a_swapped_prototypes_file_fails_verify_and_pull(tmp_path, capsys):
    def swap(manifest, root):  # GunPoint (2 classes) gets ArrowHead's prototypes (3), the sha256 updated to match
        shutil.copyfile(root / "prototypes" / "ArrowHead.npz", root / "prototypes" / "GunPoint.npz")
        manifest["models"]["GunPoint"]["prototypes_sha256"] = sha256_file(root / "prototypes" / "GunPoint.npz")
        manifest["models"]["GunPoint"]["prototypes_bytes"] = (root / "prototypes" / "GunPoint.npz").stat().st_size

    zoo = _zoo_subset(tmp_path / "zoo", ["GunPoint", "ArrowHead"], swap)
    assert main(["zoo", "verify", str(zoo)]) == 1
    out = capsys.readouterr().out
    assert "GunPoint.npz: prototypes of 3 classes" in out and "where the manifest has 2" in out
    assert main(["zoo", "pull", str(zoo), "--to", str(tmp_path / "pulled"), "--quiet"]) == 1
    assert "prototypes of 3 classes" in capsys.readouterr().err
    assert not (tmp_path / "pulled").exists() and not (tmp_path / "pulled.partial").exists()
    intact = _zoo_subset(tmp_path / "intact", ["GunPoint", "ArrowHead"])
    assert main(["zoo", "verify", str(intact)]) == 0


def test_15_a_junk_model_stops_the_pull_before_the_next_file(tmp_path, capsys):
    def junk(manifest, root):
        path = root / "models" / "GunPoint.safetensors"
        path.write_bytes(b"\x00" * 4096)
        manifest["models"]["GunPoint"].update(sha256=sha256_file(path), bytes=4096)

    zoo = _zoo_subset(tmp_path / "zoo", ["GunPoint", "ArrowHead", "Coffee"], junk)
    assert main(["zoo", "pull", str(zoo), "--to", str(tmp_path / "pulled"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "models/GunPoint.safetensors" in err and "nothing installed" in err
    assert not (tmp_path / "pulled.partial").exists()  # stopped there: nothing of ArrowHead or Coffee fetched


# ----------------------------------------------------------------------------- 9 and 12: records validated on read


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.update(recipe="paper"), "a recipe record must be an object"),
    (lambda m: m.update(recipe=["paper"]), "a recipe record must be an object"),
    (lambda m: m["models"]["GunPoint"].update(classes=5), "classes 5 must be a list"),
    (lambda m: m["models"]["GunPoint"].update(channels="abc"), "channels 'abc' must be an integer"),
    (lambda m: m["models"]["GunPoint"].update(test_acc="high"), "test_acc 'high' must be a number from 0 to 1"),
    (lambda m: m["recipe"].update(fields="xy"), "the recipe's fields must be an object"),
    (lambda m: m["recipe"].update(fields=7), "the recipe's fields must be an object"),
    (lambda m: m["recipe"]["fields"].update(epochs=-5), "the recorded recipe's epochs -5"),
])
def test_9_and_12_hostile_manifests_are_one_line(tmp_path, capsys, edit, message):
    zoo = _zoo_subset(tmp_path / "zoo", ["GunPoint"], lambda m, root: edit(m))
    for command in (["zoo", "list", "--zoo", str(zoo)], ["zoo", "verify", str(zoo)],
                    ["zoo", "pull", str(zoo), "--to", str(tmp_path / "pulled"), "--quiet"],
                    ["fit", "--train", str(GUNPOINT / "GunPoint_TRAIN.tsv"), "--zoo", str(zoo), "--out",
                     str(tmp_path / "m.safetensors"), "--dry-run"]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert len(_error_lines(err)) == 1 and message in err, (command, err)
        assert "--epochs" not in err  # the manifest's value, not the user's flag
    assert not (tmp_path / "pulled").exists() and not (tmp_path / "m.safetensors").exists()


def test_9_a_manifest_without_a_recipe_is_listed(tmp_path, capsys):
    zoo = _zoo_subset(tmp_path / "zoo", ["GunPoint"], lambda m, root: m.pop("recipe"))
    assert main(["zoo", "list", "--zoo", str(zoo)]) == 0
    assert "unknown" in capsys.readouterr().out


def test_12_tampered_study_settings_are_one_line(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "s"
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha", "Gamma",
                 "--epochs", "1", "--quiet"]) == 0
    with sqlite3.connect(study / "study.sqlite") as db:
        recipe = json.loads(db.execute("SELECT value FROM settings WHERE key='recipe'").fetchone()[0])
    for tamper, message in (({**recipe, "fields": "xy"}, "the recipe's fields must be an object"),
                            ({**recipe, "fields": {**recipe["fields"], "lr": float("nan")}},
                             "the recorded recipe's lr nan: must be a finite number above 0")):
        with sqlite3.connect(study / "study.sqlite") as db:
            db.execute("UPDATE settings SET value=? WHERE key='recipe'", (json.dumps(tamper),))
        capsys.readouterr()
        for command in (["results", "--study", str(study), "--out", str(tmp_path / "r")],
                        ["report", "--study", str(study), "--out", str(tmp_path / "report"), "--quiet"],
                        ["evaluate-selection", "--study", str(study), "--quiet"],
                        ["grid", "--study", str(study), "--epochs", "1", "--quiet"]):
            assert main(command) == 2, command
            err = capsys.readouterr().err
            assert len(_error_lines(err)) == 1 and message in err, (command, err)
    assert not (tmp_path / "report").exists()


def test_12_a_plain_folder_of_models_with_tampered_records(tmp_path, capsys):
    from tstransfer.models import FORMAT

    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copyfile(shipped_zoo("fcn") / "models" / "GunPoint.safetensors", folder / "GunPoint.safetensors")
    _edit_header(folder / "GunPoint.safetensors", lambda h: h["metadata"].update(test_acc="high", length="150"),
                 FORMAT)
    assert main(["zoo", "list", "--zoo", str(folder)]) == 0  # a plain folder: the bad values are left out
    assert "GunPoint" in capsys.readouterr().out
    assert main(["predict", str(folder / "GunPoint.safetensors"), str(GUNPOINT / "GunPoint_TEST.tsv")]) == 2
    err = capsys.readouterr().err
    assert len(_error_lines(err)) == 1 and "length '150' must be an integer" in err


def _edit_header(path: Path, edit, fmt: str) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        head = json.loads(f.metadata()[fmt])
        weights = {k: f.get_tensor(k) for k in f.keys()}
    edit(head)
    save_file(weights, str(path), metadata={fmt: json.dumps(head)})


# ----------------------------------------------------------------------------- 13, 14: sizes and scales


_MEASURE_READ = """
import sys, tracemalloc
from tstransfer.data import read_split
tracemalloc.start()  # Python objects and numpy's buffers: the parse's own peak, whatever the imports left
split = read_split(sys.argv[1])
print(len(split.series), tracemalloc.get_traced_memory()[1])
"""


def test_13_two_very_wide_rows_cost_a_few_times_their_file(tmp_path):
    path = tmp_path / "Wide_TRAIN.tsv"
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        for label in (1, 2):
            f.write(f"{label}\t" + "\t".join(f"{v:.6f}" for v in rng.standard_normal(2_500_000)) + "\n")
    size = path.stat().st_size
    result = subprocess.run([sys.executable, "-c", _MEASURE_READ, str(path)], capture_output=True, text=True,
                            timeout=300)
    rows, grew = map(int, result.stdout.split())
    assert rows == 2
    assert grew < 4 * size, f"{grew / size:.1f}x the file"  # was 9x: every value a Python string


def test_14_values_near_the_smallest_float_are_normalised_not_zeroed():
    from tstransfer.data import Split, preprocess

    x = np.array([[1e-200, 3e-200, 2e-200, 5e-200, 4e-200]])
    X, _ = preprocess(Split([x], np.array([1]), Path("tiny.tsv")))
    y = x * 1e200  # the same series at an ordinary scale (z-normalisation does not depend on it)
    np.testing.assert_allclose(X[0], (y - y.mean()) / y.std(), rtol=1e-5)
    assert np.abs(X).max() > 1  # it was all zeros: the variance underflowed


# ----------------------------------------------------------------------------- 16: plain folders of models


def test_16_a_plain_folder_says_each_models_own_recipe_and_offers_no_ensemble(tmp_path, capsys):
    from tstransfer.models import FORMAT, load_model
    from tstransfer.zoo import Zoo

    folder = tmp_path / "models"
    assert main(["train", str(GUNPOINT), "--epochs", "2", "--recipe", "practical", "--out", str(folder),
                 "--quiet"]) == 0
    first, second = load_model(folder / "GunPoint.safetensors"), load_model(folder / "GunPoint.safetensors")
    from tstransfer.models import Ensemble, TrainedModel

    ensemble = TrainedModel(Ensemble.of([first.network, second.network]), first.classes, first.preprocessing,
                            {"dataset": "Both", "kind": "ensemble"})
    ensemble.save(folder / "Both.safetensors")
    zoo = Zoo(folder)
    table = zoo.table().set_index("dataset")
    assert table.loc["GunPoint", "recipe"] == "practical"  # it said "paper"
    assert zoo.candidates() == ["GunPoint"]  # the ensemble file is listed, never offered as a source
    assert FORMAT


# ----------------------------------------------------------------------------- 18: messages and ranges


def test_18_names_that_would_print_deceptively_are_refused():
    from tstransfer.errors import TSTransferError
    from tstransfer.files import safe_name

    for name in ("evil\u202eexe.tsv", "a\x85b", "tab\u200bless"):
        with pytest.raises(TSTransferError, match="not usable as a file name"):
            safe_name(name, "dataset")
    assert safe_name("Données", "dataset") == "Données"


def test_18_evaluate_warns_about_another_length_like_predict(tmp_path, capsys):
    path = tmp_path / "Short_TEST.tsv"
    rows = read_split(GUNPOINT / "GunPoint_TEST.tsv")
    path.write_text("\n".join("\t".join([str(int(label))] + [f"{v:.4f}" for v in s[0, :100]])
                              for label, s in zip(rows.labels, rows.series)) + "\n")
    model = shipped_zoo("fcn") / "models" / "GunPoint.safetensors"
    assert main(["evaluate", str(model), str(path)]) == 0
    captured = capsys.readouterr()
    assert "series of length 100, the model was trained on length 150" in captured.err
