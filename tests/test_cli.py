"""The command line: the happy path end to end, and one clear error per bad input (exit 2, no traceback,
nothing written)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import toy_rows, write_ucr2018
from tstransfer.cli import main
from tstransfer.data import PREPROCESSING, read_split
from tstransfer.models import TrainedModel, create_model


def run_cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tstransfer.cli", *map(str, argv)], capture_output=True, text=True,
                          timeout=300)


def test_train_evaluate_predict_end_to_end(tmp_path, toy_archive):
    out = tmp_path / "runs"
    proc = run_cli("train", "Toy", "--archive", toy_archive, "--epochs", "3", "--seed", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "deviates from the paper's recipe: epochs=3 (paper: 2000)" in proc.stdout
    assert "Toy: best epoch" in proc.stdout
    model = out / "Toy.safetensors"
    assert model.is_file() and (out / "Toy.history.csv").is_file()
    assert "Toy" in proc.stderr  # the progress bar (tqdm writes to stderr)

    proc = run_cli("evaluate", model, "Toy", "--archive", toy_archive)
    assert proc.returncode == 0 and "Toy (test, n=8): accuracy" in proc.stdout

    preds = tmp_path / "preds.csv"
    proc = run_cli("predict", model, toy_archive / "Toy" / "Toy_TEST.tsv", "--out", preds)
    assert proc.returncode == 0, proc.stderr
    lines = preds.read_text().splitlines()
    assert lines[0] == "index,predicted,label,p_1,p_2" and len(lines) == 9  # a labelled file: its label beside
    assert {line.split(",")[1] for line in lines[1:]} <= {"1", "2"}
    truth = read_split(toy_archive / "Toy" / "Toy_TEST.tsv").labels.tolist()
    assert [int(line.split(",")[2]) for line in lines[1:]] == truth


def test_datasets_listing(capsys, mini_archive):
    assert main(["datasets", "--archive", str(mini_archive)]) == 0
    out = capsys.readouterr().out
    assert "GunPoint" in out and "6 datasets" in out


@pytest.fixture
def saved_model(tmp_path):
    torch.manual_seed(0)
    model = TrainedModel(create_model("fcn", 1, 2), [1, 2], dict(PREPROCESSING), {"length": 10})
    return model.save(tmp_path / "model.safetensors")


def _expect_error(capsys, argv, message, out_dir=None):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tstransfer: error: ") and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    if out_dir is not None:
        assert not out_dir.exists() or not any(out_dir.iterdir())


def _bad_archive(tmp_path, name, train_text, test_text=None):
    folder = tmp_path / "bad" / name
    folder.mkdir(parents=True)
    (folder / f"{name}_TRAIN.tsv").write_text(train_text)
    if test_text is not None:
        (folder / f"{name}_TEST.tsv").write_text(test_text)
    return tmp_path / "bad"


@pytest.mark.parametrize(
    "name, train, test, message",
    [
        ("Ragged", "1\t0.1\t0.2\t0.3\n2\t0.3\t0.4\n", None, "Ragged_TRAIN.tsv: ragged rows: line 2"),
        ("Words", "1\t0.1\t0.2\n2\tx\t0.4\n", None, "Words_TRAIN.tsv: line 2, column 2: 'x' is not a number"),
        ("OneClass", "1\t0.1\t0.2\n1\t0.3\t0.4\n", None, "OneClass_TRAIN.tsv: a classification split needs"),
        ("Empty", "", None, "Empty_TRAIN.tsv: the file has no rows"),
        ("EmptyTest", "1\t0.1\t0.2\n2\t0.3\t0.4\n", "\n", "EmptyTest_TEST.tsv: the file has no rows"),
        ("AllNan", "1\tNaN\tNaN\n2\t0.3\t0.4\n", None, "AllNan_TRAIN.tsv, series 1: the series is all missing"),
        ("Unseen", "1\t0.1\t0.2\n2\t0.3\t0.4\n", "3\t0.1\t0.2\n", "test labels [3] do not occur"),
    ],
)
def test_bad_datasets(tmp_path, capsys, name, train, test, message):
    archive = _bad_archive(tmp_path, name, train, test)
    out = tmp_path / "out"
    _expect_error(capsys, ["train", name, "--archive", archive, "--epochs", 1, "--out", out], message, out)


def test_missing_archive_dataset_and_files(tmp_path, capsys, mini_archive, saved_model):
    out = tmp_path / "out"
    _expect_error(capsys, ["train", "GunPoint", "--archive", tmp_path / "nope", "--out", out],
                  "--archive " + str(tmp_path / "nope") + ": no such folder", out)
    _expect_error(capsys, ["train", "NoSuchSet", "--archive", mini_archive, "--out", out],
                  "dataset 'NoSuchSet' not found in archive", out)
    _expect_error(capsys, ["evaluate", tmp_path / "absent.safetensors", "GunPoint"], "no such model file")
    _expect_error(capsys, ["predict", saved_model, tmp_path / "absent.tsv"], "absent.tsv: no such file")
    _expect_error(capsys, ["train", "GunPoint", "--epochs", 0, "--out", out], "--epochs 0: must be at least 1", out)


def test_corrupt_and_foreign_model_files(tmp_path, capsys, saved_model):
    torn = tmp_path / "torn.safetensors"
    torn.write_bytes(saved_model.read_bytes()[:500])
    _expect_error(capsys, ["evaluate", torn, "GunPoint"], "torn.safetensors: not a tstransfer model file")
    foreign = tmp_path / "weights.h5"
    foreign.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    _expect_error(capsys, ["predict", foreign, tmp_path / "x.tsv"], "weights.h5: not a tstransfer model file")


def test_channel_mismatch(tmp_path, capsys, saved_model):
    rng = np.random.default_rng(0)
    lines = ["@problemName two", "@timeStamps false", "@missing false", "@univariate false", "@dimensions 2",
             "@equalLength true", "@classLabel true 1 2", "@data"]
    for label in (1, 2, 1):
        a, b = rng.standard_normal((2, 10))
        lines.append(",".join(f"{v:.4f}" for v in a) + ":" + ",".join(f"{v:.4f}" for v in b) + f":{label}")
    path = tmp_path / "two_TEST.ts"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "preds.csv"
    _expect_error(capsys, ["predict", saved_model, path, "--out", out],
                  "the model expects 1 input channel(s), the data has 2")
    assert not out.exists()


def test_evaluate_on_labels_the_model_does_not_know(tmp_path, capsys, saved_model):
    write_ucr2018(tmp_path / "a", "Other", toy_rows(3, 12, labels=(5, 6)), toy_rows(2, 12, labels=(5, 6)))
    _expect_error(capsys, ["evaluate", saved_model, "Other", "--archive", tmp_path / "a"],
                  "labels ['5', '6'] are not classes of the model [1, 2]")


def test_cli_error_in_a_real_process_has_no_traceback(tmp_path):
    proc = run_cli("evaluate", tmp_path / "absent.safetensors", "GunPoint")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "no such model file" in proc.stderr


def test_evaluate_and_predict_on_any_labelled_file(tmp_path, toy_archive, capsys):
    out = tmp_path / "runs"
    assert main(["train", "Toy", "--archive", str(toy_archive), "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    model, test = out / "Toy.safetensors", toy_archive / "Toy" / "Toy_TEST.tsv"
    mine = tmp_path / "renamed.tsv"  # a labelled file under a name of its own, not _TEST
    mine.write_text(test.read_text())
    capsys.readouterr()
    assert main(["evaluate", str(model), str(mine)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("renamed.tsv (file, n=8): accuracy ") and "majority class 0.5000" in printed
    assert main(["evaluate", str(model), str(mine), "--format", "json"]) == 0
    import json

    record = json.loads(capsys.readouterr().out)[0]
    assert record["n"] == 8 and record["split"] == "file"
    assert main(["predict", str(model), str(mine), "--out", str(tmp_path / "p.csv")]) == 0
    captured = capsys.readouterr()
    accuracy = float(captured.err.split("accuracy ", 1)[1].split()[0])
    assert accuracy == pytest.approx(record["accuracy"])
    confusion = (tmp_path / "p.confusion.csv").read_text().splitlines()
    assert confusion[0] == "true \\ predicted,1,2"
    counts = np.array([[int(v) for v in line.split(",")[1:]] for line in confusion[1:]])
    assert counts.sum() == 8 and np.trace(counts) / 8 == pytest.approx(accuracy)


def test_errors_that_guide(tmp_path, capsys, mini_archive):
    assert main(["train", "GunPiont", "--archive", str(mini_archive), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'GunPoint'?" in err and "tstransfer datasets" in err
    assert main(["zoo", "show", "gunpoint"]) == 0  # any case
    assert '"dataset": "GunPoint"' in capsys.readouterr().out
    assert main(["zoo", "show", "GunPint"]) == 2 and "did you mean 'GunPoint'?" in capsys.readouterr().err
    semi = tmp_path / "semi.csv"
    semi.write_text("1;2;3;4\n2;3;4;5\n")
    assert main(["train", str(semi), "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "separated by whitespace (tabs: UCR 2018, commas: UCR 2015/.csv)" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the practitioner's path (issue 30)


def _unequal_csv(path, n, longest, seed, header=True):
    """A CSV as people have it: a header row of names, the label last, series of unequal lengths NaN-padded."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, row in enumerate(toy_rows(n, longest, labels=("walk", "run"), seed=seed)):
        cut = longest - (rng.integers(0, longest // 3) if i else 0)
        values = [f"{v:.5f}" for v in row[1:cut + 1]] + ["NaN"] * (longest - cut)
        rows.append(",".join(values + [str(row[0])]))
    head = [",".join([f"t{i + 1}" for i in range(longest)] + ["activity"])] if header else []
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_fit_compare_on_unequal_lengths_a_header_and_the_label_last(tmp_path, capsys):
    """The walk of issue 30: a test file whose longest series is shorter than the training file's; the table
    prints every arm, the selection apart; the test file is scored once, on the saved model."""
    import tstransfer.commands as commands

    train = _unequal_csv(tmp_path / "mine_train.csv", 8, 48, seed=1)
    test = _unequal_csv(tmp_path / "mine_test.csv", 5, 40, seed=2)
    scored = []
    real_evaluate = commands.evaluate

    def counting(model, dataset, split="test"):
        scored.append(split)
        return real_evaluate(model, dataset, split)

    commands.evaluate = counting
    try:
        code = main(["fit", "--train", str(train), "--test", str(test), "--label-column", "last", "--epochs", "2",
                     "--compare", "--out", str(tmp_path / "m.safetensors"), "--quiet", "--threads", "1"])
    finally:
        commands.evaluate = real_evaluate
    out = capsys.readouterr().out
    assert code == 0, out
    assert scored.count("test") == 1  # scored once (the fine-tuning never saw the test file)
    table = out.split("method", 1)[1].splitlines()[1:6]
    # fit's default: LITE from the nearest single source; the backbone, ranked next on a tie, is an arm apart
    assert [row.split()[0] for row in table] == ["fit:", "source", "transfer", "LITE", "MiniRocket"]
    assert table[2].startswith("transfer from backbone-lite")
    assert "FAILED" not in out
    from tstransfer.models import load_model

    model = load_model(tmp_path / "m.safetensors")
    assert model.classes == ["run", "walk"]
    assert f"test accuracy: {model.metadata['test_acc']:.4f}" in out


def test_max_time_stops_training_with_the_best_weights_and_says_so(tmp_path, capsys):
    from tstransfer.models import load_model

    assert main(["train", "GunPoint", "--max-time", "2s", "--epochs", "2000", "--out", str(tmp_path), "--quiet",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "a time budget of 2s per training" in out  # a deviation, printed
    assert "NOTE: stopped by --max-time after" in out
    model = load_model(tmp_path / "GunPoint.safetensors")
    assert model.metadata["epochs"] < 2000 and model.metadata["seconds"] < 30
    assert model.metadata["recipe"]["fields"]["max_time"] == 2.0
    assert any("time budget" in d for d in model.metadata["recipe"]["deviations"])
    for bad in ("0s", "-5m", "soon", "nanh"):
        assert main(["train", "GunPoint", f"--max-time={bad}", "--out", str(tmp_path / "x")]) == 2
        assert f"--max-time {bad}" in capsys.readouterr().err


def test_the_command_line_takes_no_abbreviations_and_explains_itself(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "GunPoint", "--test", "x.tsv"])  # was read as --test-every
    assert exit_.value.code == 2
    assert "unrecognized arguments: --test x.tsv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    top = " ".join(capsys.readouterr().out.split())
    assert "parsing only" not in top and "Start with `tstransfer fit --train" in top
    from tstransfer.cli import build_parser

    parser = build_parser()
    commands_ = [a for a in parser._actions if a.dest == "command"][0].choices
    for name, sub in commands_.items():
        assert sub.description, name  # every command says what it does at the top of its --help
        assert sub.allow_abbrev is False, name


def test_train_an_ensemble_from_scratch_litetime(tmp_path, capsys):
    """`train --arch lite --ensemble K`: K LITEs with the seeds seed..seed+K-1, one model file averaging their
    probabilities, one history with a member column; a wrong K is one line."""
    import csv

    import numpy as np

    from tstransfer.data import load_dataset
    from tstransfer.models import load_model

    assert main(["train", "SonyAIBORobotSurface1", "--arch", "lite", "--ensemble", "2", "--epochs", "3", "--seed",
                 "4", "--out", str(tmp_path), "--quiet", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "member 1 (seed 4)" in out and "member 2 (seed 5)" in out and "ensemble of 2: test accuracy" in out
    model = load_model(tmp_path / "SonyAIBORobotSurface1.safetensors")
    assert model.metadata["kind"] == "pretrain-ensemble"
    assert [m["seed"] for m in model.metadata["members"]] == [4, 5]
    members = model.network.members
    assert len(members) == 2 and all(m.config["name"] == "lite" for m in members)
    assert not torch.equal(members[0].multiplex[0].weight, members[1].multiplex[0].weight)  # other seeds
    ds = load_dataset("SonyAIBORobotSurface1")
    x = torch.as_tensor(ds.X_test[:5])
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m.eval()(x), 1) for m in members]).mean(0)
    np.testing.assert_allclose(model.proba(ds.X_test[:5]), mean.numpy(), rtol=1e-5, atol=1e-6)
    rows = list(csv.DictReader(open(tmp_path / "SonyAIBORobotSurface1.history.csv")))
    assert [(r["member"], r["epoch"]) for r in rows] == [("1", "1"), ("1", "2"), ("1", "3"), ("2", "1"),
                                                         ("2", "2"), ("2", "3")]
    for bad in ("0", "-2"):
        assert main(["train", "SonyAIBORobotSurface1", "--ensemble", bad, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert f"--ensemble {bad}: must be" in err and "at least 1" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
