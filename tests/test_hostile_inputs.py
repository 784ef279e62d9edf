"""A corpus of hostile and malformed inputs (issue 12). Each case runs the command line on what an attacker or
an unlucky user could hand it and asserts: one message naming the file or argument and what is wrong, the exit
code (2 bad input, 1 failure while working), no traceback, and nothing written outside the place the command
may write. The allocation cases run in a child process whose peak memory is measured."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import toy_rows, write_ucr2018
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE, PREPROCESSING
from tstransfer.models import FORMAT, TrainedModel, create_model

GUNPOINT = str(MINI_ARCHIVE / "GunPoint")


# ----------------------------------------------------------------------------- builders


def _model(path: Path, classes=(1, 2)) -> Path:
    torch.manual_seed(0)
    return TrainedModel(create_model("fcn", 1, len(classes)), list(classes), dict(PREPROCESSING),
                        {"dataset": "GunPoint", "length": 150}).save(path)


def _rewrite(path: Path, out: Path, header=None, tensors=None) -> Path:
    """A copy of a model file with its header and/or tensors edited."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        head = json.loads(f.metadata()[FORMAT])
        weights = {k: f.get_tensor(k) for k in f.keys()}
    if header:
        header(head)
    if tensors:
        tensors(weights)
    save_file(weights, str(out), metadata={FORMAT: json.dumps(head)})
    return out


def _tiny_model_claiming(path: Path, **architecture) -> Path:
    """A ~1 KB safetensors file whose header asks for a huge network."""
    from safetensors.torch import save_file

    head = {"format": FORMAT, "format_version": 1, "classes": [1, 2], "preprocessing": dict(PREPROCESSING),
            "metadata": {}, "architecture": {"name": "fcn", "in_channels": 1, "num_classes": 2,
                                             "filters": [128, 256, 128], "kernels": [8, 5, 3], **architecture}}
    save_file({"classifier.bias": torch.zeros(2)}, str(path), metadata={FORMAT: json.dumps(head)})
    return path


def _keras_json(path: Path, units=2, filters=8, bias_shape=None) -> Path:
    """The authors' layout: architecture.txt (JSON) + best_model_weights.hdf5 of a 1-block FCN."""
    import h5py

    folder = path
    folder.mkdir(parents=True, exist_ok=True)
    layers = [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 16, 1]}},
        {"class_name": "Conv1D", "config": {"name": "c", "filters": filters, "kernel_size": [3], "padding": "same",
                                            "strides": [1], "dilation_rate": [1], "activation": "linear",
                                            "use_bias": True}},
        {"class_name": "BatchNormalization", "config": {"name": "b", "axis": -1, "epsilon": 0.001}},
        {"class_name": "Activation", "config": {"name": "r", "activation": "relu"}},
        {"class_name": "GlobalAveragePooling1D", "config": {"name": "g"}},
        {"class_name": "Dense", "config": {"name": "d", "units": units, "activation": "softmax"}},
    ]
    (folder / "architecture.txt").write_text(json.dumps({"class_name": "Sequential", "config": {"layers": layers}}))
    n = filters if isinstance(filters, int) and filters < 100 else 8
    with h5py.File(folder / "best_model_weights.hdf5", "w") as f:
        f.attrs["layer_names"] = [b"c", b"b", b"d"]
        for name, weights in (("c", {"kernel": np.zeros((3, 1, n)), "bias": np.zeros(bias_shape or n)}),
                              ("b", {k: np.ones(n) for k in ("gamma", "beta", "moving_mean", "moving_variance")}),
                              ("d", {"kernel": np.zeros((n, 2)), "bias": np.zeros(2)})):
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/{k}:0".encode() for k in weights]
            for k, v in weights.items():
                g.create_dataset(f"{name}/{k}:0", data=v)
    return folder


def _keras_zip_bomb(path: Path) -> Path:
    """A .keras archive of a few hundred KB whose config.json inflates to 300 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, z.open("config.json", "w") as member:
        block = b" " * (1 << 20)
        for _ in range(300):
            member.write(block)
    return path


def _tsv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _study(tmp: Path) -> Path:
    archive = tmp / "arch"
    write_ucr2018(archive, "Alpha", toy_rows(3, 12, seed=1), toy_rows(2, 12, seed=2))
    write_ucr2018(archive, "Beta", toy_rows(3, 14, seed=3), toy_rows(2, 14, seed=4))
    study = tmp / "study"
    assert main(["pretrain", "--archive", str(archive), "--study", str(study), "--all", "--epochs", "1",
                 "--quiet"]) == 0
    return study


def _zoo(tmp: Path, edit) -> Path:
    zoo = tmp / "zoo"
    (zoo / "models").mkdir(parents=True)
    manifest = {"format": "tstransfer-zoo", "format_version": 1, "name": "z", "version": "1", "models": {
        "GunPoint": {"file": "models/GunPoint.safetensors", "sha256": "0" * 64,
                     "prototypes": "prototypes/GunPoint.npz", "prototypes_sha256": "0" * 64}}}
    edit(manifest)
    (zoo / "zoo.json").write_text(json.dumps(manifest))
    return zoo


def _pwned_matrix(tmp: Path, duplicate=False, text=False) -> list[str]:
    names = ["A", " A" if duplicate else "B", "C"]
    rows = [",".join([""] + names)] + [",".join([n] + (["x", "0.5", "0.5"] if text else ["0.5"] * 3)) for n in names]
    _tsv(tmp / "acc.csv", "\n".join(rows) + "\n")
    _tsv(tmp / "base.csv", "dataset,accuracy\nA,0.5\nB,0.5\nC,0.5\n")
    return ["report", "--matrix", str(tmp / "acc.csv"), "--baseline", str(tmp / "base.csv"), "--out",
            str(tmp / "out" / "report"), "--quiet"]


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _settings_not_json(tmp: Path) -> Path:
    study = _study(tmp)
    with sqlite3.connect(study / "study.sqlite") as db:
        db.execute("UPDATE settings SET value='{not json' WHERE key=(SELECT key FROM settings LIMIT 1)")
    return study


# ----------------------------------------------------------------------------- the corpus
# (id, build(tmp) -> argv, exit code, regex the one-line message must match, folder the command may write to)


def _train_file(text: str, name: str = "Bad_TRAIN.tsv"):
    return lambda t: ["train", str(_tsv(t / "in" / name, text)), "--epochs", "1", "--out", str(t / "out")]


def _evaluate(build):
    return lambda t: ["evaluate", str(build(t)), GUNPOINT]


CASES = [
    # model files
    ("model-header-filters-8000",
     _evaluate(lambda t: _tiny_model_claiming(t / "m.safetensors", filters=[8000, 256, 128])), 2, r"m\.safetensors",
     None),
    ("model-header-missing-classes", _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                                                  header=lambda h: h.pop("classes"))),
     2, r"m\.safetensors.*classes", None),
    ("model-header-missing-preprocessing",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  header=lambda h: h.pop("preprocessing"))), 2, r"m\.safetensors.*preprocessing", None),
    ("model-format-version-string",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  header=lambda h: h.update(format_version="1"))), 2, r"format_version", None),
    ("model-format-version-newer",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  header=lambda h: h.update(format_version=99))), 2, r"m\.safetensors.*newer", None),
    ("model-classes-disagree-with-outputs",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  header=lambda h: h.update(classes=[1, 2, 3]))), 2, r"m\.safetensors.*class", None),
    ("model-int-weights",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  tensors=lambda w: w.update({"classifier.weight": w["classifier.weight"].int()}))),
     2, r"m\.safetensors.*float", None),
    ("model-nan-weights",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  tensors=lambda w: w["classifier.weight"].fill_(float("nan")))),
     2, r"m\.safetensors.*finite", None),
    ("model-tensor-shape-disagrees",
     _evaluate(lambda t: _rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                  tensors=lambda w: w.update({"blocks.0.conv.weight": torch.zeros(128, 1, 7)}))),
     2, r"m\.safetensors.*shape", None),
    ("model-not-safetensors", _evaluate(lambda t: _tsv(t / "m.safetensors", "hello, I am text\n")),
     2, r"m\.safetensors.*not a tstransfer model", None),
    ("model-empty-file", _evaluate(lambda t: _tsv(t / "m.safetensors", "")), 2, r"m\.safetensors", None),
    ("model-truncated", _evaluate(lambda t: _truncate(_model(t / "m.safetensors"))), 2, r"m\.safetensors", None),
    ("model-without-tstransfer-header",
     _evaluate(lambda t: (__import__("safetensors.torch").torch.save_file({"x": torch.zeros(2)},
                                                                          str(t / "m.safetensors")),
                          t / "m.safetensors")[1]), 2, r"not a tstransfer model", None),
    ("model-header-not-json",
     _evaluate(lambda t: (__import__("safetensors.torch").torch.save_file({"x": torch.zeros(2)},
                                                                          str(t / "m.safetensors"),
                                                                          metadata={FORMAT: "{oops"}),
                          t / "m.safetensors")[1]), 2, r"m\.safetensors", None),
    ("model-missing", lambda t: ["evaluate", str(t / "nope.safetensors"), GUNPOINT], 2, r"nope\.safetensors", None),
    # Keras files
    ("keras-dense-units-50M", lambda t: ["import-keras", str(_keras_json(t / "k", units=50_000_000)), "--out",
                                         str(t / "out" / "m.safetensors")], 2, r"units is 50000000", "out"),
    ("keras-filters-not-integer", lambda t: ["import-keras", str(_keras_json(t / "k", filters="8")), "--out",
                                             str(t / "out" / "m.safetensors")], 2, r"filters is '8'", "out"),
    ("keras-bias-shape-disagrees", lambda t: ["import-keras", str(_keras_json(t / "k", bias_shape=5)), "--out",
                                              str(t / "out" / "m.safetensors")], 2, r"bias has shape \(5,\)", "out"),
    ("keras-zip-bomb", lambda t: ["import-keras", str(_keras_zip_bomb(t / "m.keras")), "--out",
                                  str(t / "out" / "m.safetensors")], 2, r"m\.keras.*config\.json.*refused", "out"),
    ("keras-not-a-zip", lambda t: ["import-keras", str(_tsv(t / "m.keras", "not a zip")), "--out",
                                   str(t / "out" / "m.safetensors")], 2, r"m\.keras", "out"),
    # data files
    ("data-inf", _train_file("1\t0.1\tinf\t0.3\n2\t0.2\t0.1\t0.0\n"), 2, r"Bad_TRAIN\.tsv.*line 1.*column 3", "out"),
    ("data-nan-label", _train_file("NaN\t0.1\t0.2\n2\t0.2\t0.1\n"), 2, r"Bad_TRAIN\.tsv.*line 1.*label", "out"),
    ("data-empty-label", _train_file("\t0.1\t0.2\n2\t0.2\t0.1\n"), 2, r"Bad_TRAIN\.tsv.*line 1", "out"),
    ("data-ragged", _train_file("1\t0.1\t0.2\n2\t0.2\n"), 2, r"Bad_TRAIN\.tsv.*ragged", "out"),
    ("data-text-value", _train_file("1\t0.1\tabc\n2\t0.2\t0.1\n"), 2, r"Bad_TRAIN\.tsv.*line 1", "out"),
    ("data-empty-file", _train_file(""), 2, r"Bad_TRAIN\.tsv", "out"),
    ("data-binary", lambda t: ["train", str(_tsv(t / "in" / "Bad_TRAIN.tsv", "x") and
                                        (t / "in" / "Bad_TRAIN.tsv").write_bytes(b"\x00\xff\xfe\x01" * 64) and
                                        t / "in" / "Bad_TRAIN.tsv"), "--epochs", "1", "--out", str(t / "out")],
     2, r"Bad_TRAIN\.tsv", "out"),
    ("data-one-class", _train_file("1\t0.1\t0.2\n1\t0.2\t0.1\n"), 2, r"class", "out"),
    ("data-ts-garbage", _train_file("@problemName x\n@data\n1,2,3:zz\n", "Bad_TRAIN.ts"), 2, r"Bad_TRAIN\.ts", "out"),
    # arguments
    ("arg-device-tpu9", lambda t: ["train", "GunPoint", "--device", "tpu9", "--out", str(t / "out")], 2,
     r"--device 'tpu9'", None),
    ("arg-device-mps", lambda t: ["train", "GunPoint", "--device", "mps", "--out", str(t / "out")], 2,
     r"--device mps", None),
    ("arg-threads-negative", lambda t: ["train", "GunPoint", "--threads", "-1", "--out", str(t / "out")], 2,
     r"--threads -1", None),
    ("arg-epochs-zero", lambda t: ["train", "GunPoint", "--epochs", "0", "--out", str(t / "out")], 2,
     r"--epochs 0", None),
    ("arg-workers-zero", lambda t: ["grid", "--study", str(t / "s"), "--datasets", "GunPoint", "--workers", "0"], 2,
     r"--workers 0", None),
    ("arg-study-is-a-file", lambda t: ["grid", "--study", str(_tsv(t / "s", "x")), "--datasets", "GunPoint"], 2,
     r"--study .*is a file", None),
    ("arg-out-is-a-file", lambda t: ["train", "GunPoint", "--epochs", "1", "--out", str(_tsv(t / "o", "x"))], 2,
     r"--out .*is a file", None),
    ("arg-download-traversal", lambda t: ["datasets", "--download", "../x", "--archive", str(t / "arch")], 2,
     r"--download '\.\./x'", None),
    ("arg-download-absolute", lambda t: ["datasets", "--download", "/tmp/x", "--archive", str(t / "arch")], 2,
     r"--download '/tmp/x'", None),
    ("arg-top-negative", lambda t: ["recommend", "GunPoint", "--study", str(_study(t)), "--top", "-1"], 2,
     r"--top -1", "study"),
    ("arg-dataset-traversal", lambda t: ["train", "../../etc", "--out", str(t / "out")], 2, r"\.\./\.\./etc", None),
    # studies
    ("study-settings-not-json", lambda t: ["grid", "--study", str(_settings_not_json(t))], 2, r"not JSON", "study"),
    ("study-database-garbage",
     lambda t: ["grid", "--study", str(_tsv(t / "s" / "study.sqlite", "garbage" * 100).parent), "--datasets",
                "GunPoint"], 2, r"study\.sqlite.*not a usable", "s"),
    ("study-unknown-dataset", lambda t: ["grid", "--study", str(t / "s"), "--datasets", "NoSuchSet"], 2,
     r"NoSuchSet.*not found", "s"),
    # reports
    ("report-duplicate-names", lambda t: _pwned_matrix(t, duplicate=True), 2, r"--matrix .*appear twice", "out"),
    ("report-text-accuracy", lambda t: _pwned_matrix(t, text=True), 2, r"--matrix .*non-numeric", "out"),
    ("report-missing-matrix", lambda t: ["report", "--matrix", str(t / "no.csv"), "--baseline", str(t / "no.csv"),
                                         "--out", str(t / "out")], 2, r"--matrix .*no such file", None),
    # zoos
    ("zoo-manifest-name-traversal", lambda t: ["zoo", "list", "--zoo", str(_zoo(t, lambda m: m["models"].update(
        {"../../x": m["models"].pop("GunPoint")})))], 2, r"not usable as a file name", "zoo"),
    ("zoo-manifest-file-outside", lambda t: ["zoo", "verify", str(_zoo(t, lambda m: m["models"]["GunPoint"].update(
        file="../../../etc/passwd")))], 2, r"file must be models/GunPoint\.safetensors", "zoo"),
    ("zoo-manifest-bad-sha", lambda t: ["zoo", "list", "--zoo", str(_zoo(t, lambda m: m["models"]["GunPoint"].update(
        sha256="abc")))], 2, r"not a sha256", "zoo"),
    ("zoo-manifest-not-json", lambda t: ["zoo", "list", "--zoo", str(_tsv(t / "zoo" / "zoo.json", "{").parent)], 2,
     r"zoo\.json", "zoo"),
    # round 3 (issue 31; the other findings: tests/test_reliability.py)
    ("r3-11-threads-10000", lambda t: ["train", "GunPoint", "--threads", "10000", "--out", str(t / "out")], 2,
     r"--threads 10000: this process may run on \d+ CPU", None),
    ("r3-18-top-k-zero", lambda t: ["fit", "--train", GUNPOINT, "--out", str(t / "m.safetensors"), "--top-k", "0"],
     2, r"--top-k 0: must be at least 1", None),
    ("r3-18-validate-epochs-negative", lambda t: ["fit", "--train", GUNPOINT, "--out", str(t / "m.safetensors"),
                                                  "--validate-epochs", "-2"], 2, r"--validate-epochs -2", None),
    ("r3-18-fuse-zero", lambda t: ["grid", "--study", str(t / "s"), "--datasets", "GunPoint", "--fuse", "0"], 2,
     r"--fuse 0: must be at least 1", None),
    ("r3-18-gpus-per-run-negative", lambda t: ["grid", "--study", str(t / "s"), "--datasets", "GunPoint",
                                               "--gpus-per-run", "-1"], 2, r"--gpus-per-run -1", None),
    ("r3-18-out-trailing-slash", lambda t: ["predict", str(_model(t / "m.safetensors")),
                                            str(Path(GUNPOINT) / "GunPoint_TEST.tsv"), "--out",
                                            str(t / "newdir") + "/"], 2, r"--out .*newdir/: is a folder", None),
    ("r3-5-jobs-zero", lambda t: ["similarity", "--study", str(t / "s"), "--datasets", "GunPoint", "ECG200",
                                  "--jobs", "0"], 2, r"--jobs 0: must be at least 1", None),
    ("r3-19-pull-bad-ipv6", lambda t: ["zoo", "pull", "http://[::1:99999/x", "--to", str(t / "z"), "--quiet"], 2,
     r"not a usable URL", None),
    ("r3-19-timeout-negative", lambda t: ["zoo", "pull", str(t), "--to", str(t / "z"), "--timeout", "-1"], 2,
     r"--timeout -1: must be a finite number", None),
    ("r3-19-timeout-nan", lambda t: ["zoo", "pull", str(t), "--to", str(t / "z"), "--timeout", "nan"], 2,
     r"--timeout nan: must be a finite number", None),
    ("r3-12-header-length-string",
     lambda t: ["predict", str(_rewrite(_model(t / "a.safetensors"), t / "m.safetensors",
                                        header=lambda h: h["metadata"].update(length="150"))),
                str(Path(GUNPOINT) / "GunPoint_TEST.tsv")], 2, r"m\.safetensors: metadata: length '150'", None),
    ("zoo-pull-into-nonempty",
     lambda t: ["zoo", "pull", str(t / "src"), "--to", str(_tsv(t / "dst" / "f", "x").parent)], 2,
     r"--to .*not empty", "dst"),
]


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_clean_line(case, tmp_path, capsys, monkeypatch):
    name, build, code, message, writable = case
    monkeypatch.chdir(tmp_path)
    argv = build(tmp_path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(argv) == code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("tstransfer: error:")]
    assert len(lines) == 1, captured.err
    assert __import__("re").search(message, lines[0]), lines[0]
    assert "Traceback" not in captured.err + captured.out
    created = {p for p in _snapshot(tmp_path) - before
               if not (writable and (tmp_path / writable) in p.parents)}
    assert not created, f"{name} wrote {sorted(created)}"
    if writable:  # nothing half-written where it may write: no model, no temporary file
        assert not [p for p in (tmp_path / writable).rglob("*") if p.suffix in (".safetensors", ".tmp", ".html")
                    and p not in before]


def test_corpus_size():
    assert len(CASES) >= 40


# ----------------------------------------------------------------------------- memory of the allocation cases

_MEASURE = """
import resource, sys
from tstransfer.cli import main
import tstransfer.models, tstransfer.keras_import, h5py  # imports are not the case's allocation
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = main(sys.argv[1:])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(code, (after - before) // 1024)
"""


@pytest.mark.parametrize("case", ["model-header-filters-8000", "keras-dense-units-50M", "keras-zip-bomb"])
def test_hostile_files_fail_within_a_memory_bound(case, tmp_path):
    build, code = {c[0]: (c[1], c[2]) for c in CASES}[case]
    argv = build(tmp_path)
    result = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    exit_code, extra_mb = map(int, result.stdout.split()[-2:])
    assert exit_code == code and "Traceback" not in result.stderr
    assert extra_mb < 200, f"{case}: {extra_mb} MB"


def test_one_unreadable_dataset_does_not_hide_the_others(tmp_path, capsys):
    write_ucr2018(tmp_path, "Good", toy_rows(3, 10), toy_rows(2, 10))
    _tsv(tmp_path / "Bad" / "Bad_TRAIN.tsv", "1\t0.1\t0.2\n2\t0.3\n")  # ragged
    assert main(["datasets", "--archive", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "Good" in captured.out and "1 datasets" in captured.out
    assert "UNREADABLE Bad:" in captured.err and "Bad_TRAIN.tsv: ragged rows: line 2" in captured.err
    assert "Traceback" not in captured.err


def test_a_truncated_prototype_cache_is_recomputed(tmp_path, capsys):
    study = _study(tmp_path)
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    cached = study / "similarity" / "prototypes" / "Alpha.npz"
    good = cached.read_bytes()
    _truncate(cached)
    capsys.readouterr()
    mine = str(study.parent / "arch" / "Beta")
    assert main(["recommend", mine, "--study", str(study)]) == 2
    assert "Alpha.npz: not a readable prototypes file" in capsys.readouterr().err
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    assert cached.read_bytes() == good
    assert main(["recommend", mine, "--study", str(study)]) == 0


def test_a_full_disk_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    import errno

    import safetensors.torch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    assert main(["train", "GunPoint", "--epochs", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "GunPoint.safetensors" in err and "the disk is full" in err and "Traceback" not in err
    assert not list((tmp_path / "out").glob("*"))


# ----------------------------------------------------------------------------- bounded by construction (issue 21)


def test_every_command_that_reads_a_studys_data_refuses_changed_data(tmp_path, toy_grid_archive, capsys):
    study = tmp_path / "study"
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha", "Gamma",
                 "--epochs", "1", "--quiet"]) == 0
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    write_ucr2018(toy_grid_archive, "Alpha", toy_rows(5, 24, seed=11), toy_rows(3, 24, seed=12))
    capsys.readouterr()
    for command in (["similarity", "--study", str(study), "--jobs", "1", "--quiet"],
                    ["recommend", "Alpha", "--study", str(study)],
                    ["evaluate-selection", "--study", str(study), "--archive", str(toy_grid_archive), "--quiet"],
                    ["report", "--study", str(study), "--out", str(tmp_path / "report"), "--quiet"]):
        assert main(command) == 2, command
        assert "the data of Alpha differ from those this study was run on" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_results_and_report_only_read_a_study(tmp_path, toy_grid_archive, capsys, monkeypatch):
    """A shared study is opened read-only: no byte of it changes. In a read-only folder SQLite cannot create its
    WAL index (-shm), mode=ro then fails and the store is read as immutable: simulated here (the tests run as
    root, whom file permissions do not stop)."""
    import shutil
    import sqlite3

    study = tmp_path / "study"
    assert main(["grid", "--archive", str(toy_grid_archive), "--study", str(study), "--datasets", "Alpha", "Gamma",
                 "--epochs", "1", "--quiet"]) == 0
    for leftover in study.glob("study.sqlite-*"):  # as a checkpointed, shared copy would be
        leftover.unlink()
    frozen = tmp_path / "frozen"
    shutil.copytree(study, frozen)

    def files():
        return {p.relative_to(frozen): p.read_bytes() for p in frozen.rglob("*") if p.is_file()
                and not p.name.endswith(("-shm", "-wal"))}  # SQLite's own read-side index, where it may write one

    before = files()
    real_connect, opened = sqlite3.connect, []

    def connect(target, *args, **kwargs):
        opened.append(str(target))
        if "mode=ro" in str(target):
            raise sqlite3.OperationalError("unable to open database file")  # what a read-only folder gives
        return real_connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    assert main(["results", "--study", str(frozen), "--out", str(tmp_path / "results")]) == 0
    assert main(["report", "--study", str(frozen), "--out", str(tmp_path / "report"), "--quiet"]) == 0
    assert files() == before and (tmp_path / "report" / "index.html").is_file()
    assert opened and all("mode=ro" in t or "immutable=1" in t for t in opened)  # never opened for writing
    assert not list(frozen.glob("study.sqlite-*"))


def test_a_huge_finite_value_is_normalised_not_zeroed(tmp_path):
    from tstransfer.data import load_files

    path = tmp_path / "Huge_TRAIN.tsv"
    path.write_text("1\t1e200\t2\t3\t4\n2\t1\t2\t3\t5\n1\t1e308\t-1e308\t0\t1\n2\t1\t1\t2\t3\n")
    X = load_files(path).X_train
    np.testing.assert_allclose(X[0, 0], [1.7320508, -0.5773503, -0.5773503, -0.5773503], rtol=1e-6)
    assert np.isfinite(X).all() and (np.abs(X).max(axis=-1) > 0).all()  # no series became zeros


def test_parsers_say_nested_json_and_degenerate_series_in_one_line(tmp_path, capsys):
    from tstransfer.errors import TSTransferError
    from tstransfer.files import parse_json

    with pytest.raises(TSTransferError, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000, tmp_path / "m.json")
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "zoo.json").write_text('{"format": "tstransfer-zoo", "models": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["zoo", "list", "--zoo", str(zoo)]) == 2
    assert "nested too deeply" in capsys.readouterr().err
    # in a flat zoo folder, one model whose header is nested too deeply is skipped, not fatal to the others
    from safetensors.torch import save_file

    from tstransfer.zoo import SHIPPED_ZOO

    flat = tmp_path / "flat"
    flat.mkdir()
    __import__("shutil").copyfile(SHIPPED_ZOO / "models" / "GunPoint.safetensors", flat / "GunPoint.safetensors")
    save_file({"w": torch.zeros(2)}, str(flat / "deep.safetensors"), metadata={FORMAT: "[" * 50_000 + "]" * 50_000})
    assert main(["zoo", "list", "--zoo", str(flat)]) == 0
    listed = capsys.readouterr().out
    assert "GunPoint" in listed and "deep" not in listed
    assert main(["evaluate", str(flat / "deep.safetensors"), "GunPoint"]) == 2
    assert "nested too deeply" in capsys.readouterr().err
    one = tmp_path / "one.tsv"
    one.write_text("1\t5\n2\t6\n")
    assert main(["train", str(one), "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "every series has a single value" in capsys.readouterr().err
    empty_ts = tmp_path / "empty.ts"
    empty_ts.write_text("@problemName x\n@timeStamps false\n@univariate true\n@classLabel true 1 2\n@data\n")
    assert main(["train", str(empty_ts), "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_similarity_on_long_series_is_bounded(tmp_path):
    from tstransfer.data import load_files
    from tstransfer.similarity import MAX_SIMILARITY_LENGTH, _trimmed, class_prototypes

    rng = np.random.default_rng(0)
    rows = [[1 + i % 2, *np.round(np.cumsum(rng.standard_normal(12_000)), 3)] for i in range(4)]
    path = tmp_path / "Long_TRAIN.tsv"
    path.write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")
    ds = load_files(path)
    assert all(s.shape[-1] == MAX_SIMILARITY_LENGTH for s in _trimmed(ds, 0))
    from tstransfer.similarity import paa

    longest_ucr = rng.standard_normal((1, 2844))  # Rock, the longest series of the UCR 2018 archive
    assert paa(longest_ucr) is longest_ucr  # untouched: Algorithm 1 on the archive is exactly what it was
    code = ("import resource, sys; from tstransfer.data import load_files; from tstransfer.similarity import "
            f"class_prototypes; class_prototypes(load_files({str(path)!r})); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peak_kb = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 timeout=600).stdout.split()[-1])
    assert peak_kb < 2 << 20  # under 2 GB (unbounded, 12,000-point DTW matrices alone are 1.1 GB each)
    assert len(class_prototypes(ds)) == 2


def test_loading_a_large_file_costs_about_three_times_its_values_in_float32(tmp_path):
    """2,000 series x 1,000 values (a 19 MB file): the loader holds the values once in float64 and the prepared
    float32 array, 12 bytes a value (it held ~145 bytes a value as text and token objects before)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "Big_TRAIN.tsv"
    with path.open("w") as f:
        for i in range(2000):
            f.write(f"{1 + i % 3}\t" + "\t".join(f"{v:.6f}" for v in rng.standard_normal(1000)) + "\n")
    code = ("import resource; from tstransfer.data import load_files; "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            f"ds = load_files({str(path)!r}); "
            "print(ds.X_train.size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
    values, extra_kb = map(int, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                               timeout=300).stdout.split())
    assert values == 2_000_000
    assert extra_kb * 1024 < 3 * 4 * values + (10 << 20)  # 3x float32, plus 10 MB of slack


def test_the_lows_of_a_hostile_user(tmp_path, capsys, toy_grid_archive):
    import warnings

    from tstransfer import FCNClassifier, TransferClassifier
    from tstransfer.zoo import SHIPPED_ZOO

    # .ts labels outside the header's @classLabel
    ts = tmp_path / "Odd_TRAIN.ts"
    ts.write_text("@problemName odd\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n"
                  "1,2,3,4:a\n2,3,4,5:b\n3,4,5,6:zz\n")
    assert main(["train", str(ts), "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "labels ['zz'] are not declared in its @classLabel line" in capsys.readouterr().err
    # a label of hundreds of digits is shown cut, on one line
    long_label = "9" * 300  # a finite number: it becomes a 300-digit integer label
    write_ucr2018(tmp_path, "Long", toy_rows(3, 10, labels=(1, 2)), [[long_label, *range(10)]])
    assert main(["train", str(tmp_path / "Long"), "--epochs", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "do not occur in the training split" in err and len(err) < 400 and "..." in err
    # zoo verify names files the manifest does not list
    zoo = tmp_path / "zoo"
    __import__("shutil").copytree(SHIPPED_ZOO, zoo)
    (zoo / "models" / "Extra.safetensors").write_bytes((zoo / "models" / "GunPoint.safetensors").read_bytes())
    assert main(["zoo", "verify", str(zoo)]) == 1
    assert "Extra.safetensors: not in the manifest" in capsys.readouterr().out
    # zoo build --dry-run lists a dataset named twice (in two cases) once
    assert main(["zoo", "build", "--archive", str(toy_grid_archive), "--datasets", "alpha", "Alpha", "--out",
                 str(tmp_path / "z"), "--epochs", "1", "--dry-run"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert rows == ["Alpha"]
    # a refused concurrent grid leaves no file open behind its message
    from tstransfer.grid import _StudyLock
    from tstransfer.study import StudyPaths

    paths = StudyPaths(tmp_path / "s", primary_seed=0)
    paths.root.mkdir()
    held = _StudyLock(paths)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(Exception, match="another tstransfer process is running this study"):
            _StudyLock(paths)
        __import__("gc").collect()
    held.release()
    # estimator messages in their own words
    X, y = np.random.default_rng(0).standard_normal((12, 30)), np.arange(12) % 2
    with pytest.raises(ValueError, match="unequal lengths; pad the shorter ones with NaN"):
        FCNClassifier(epochs=1).fit([np.zeros(30), np.zeros(20)], [0, 1])
    clf = FCNClassifier(epochs=1, threads=1).fit(X, y)
    with pytest.raises(ValueError, match=r"X has 2 channel\(s\); the model was fitted on 1"):
        clf.predict(np.zeros((3, 2, 30)))
    with pytest.raises(ValueError, match="zoo=") as refused:
        TransferClassifier(zoo=str(tmp_path / "none"), epochs=1).fit(X, y)
    assert "--zoo" not in str(refused.value)


@pytest.mark.parametrize("version", [0, -3])
def test_format_versions_below_1_are_refused(tmp_path, version):
    import shutil

    from tstransfer.errors import TSTransferError
    from tstransfer.models import load_model
    from tstransfer.zoo import SHIPPED_ZOO, Zoo

    model = SHIPPED_ZOO / "models" / "GunPoint.safetensors"
    edited = _rewrite(model, tmp_path / "m.safetensors", header=lambda h: h.update(format_version=version))
    with pytest.raises(TSTransferError, match="format_version must be an integer of at least 1"):
        load_model(edited)
    zoo = tmp_path / "zoo"
    shutil.copytree(SHIPPED_ZOO, zoo)
    manifest = json.loads((zoo / "zoo.json").read_text())
    manifest["format_version"] = version
    (zoo / "zoo.json").write_text(json.dumps(manifest))
    with pytest.raises(TSTransferError, match="format_version must be an integer of at least 1"):
        Zoo(zoo)


def test_a_memory_error_in_dba_is_one_line(tmp_path, capsys, monkeypatch):
    import tstransfer.similarity as similarity

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(similarity, "dba", exhausted)
    monkeypatch.setenv("TSTRANSFER_CACHE", "off")  # GunPoint's prototypes may be cached by an earlier test
    out = tmp_path / "m.safetensors"
    assert main(["fit", "--train", str(MINI_ARCHIVE / "GunPoint" / "GunPoint_TRAIN.tsv"), "--out", str(out),
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "not enough memory for the DBA prototypes of 50 series of length 150" in err and "Traceback" not in err
    assert not out.exists()
