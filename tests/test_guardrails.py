"""Guardrails: a collapsed model, a lagging BatchNorm, a misplaced label column, a length mismatch, each said in
one line where the user looks (fit, train, evaluate, predict, results, the report)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import toy_rows, write_ucr2018
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE
from tstransfer.guardrails import (
    accuracy_note,
    at_or_below_majority,
    label_column_note,
    length_note,
    majority_rate,
    training_gap_note,
)


def test_majority_rate_and_the_collapse_flag():
    assert majority_rate([1, 1, 1, 2]) == 0.75 and np.isnan(majority_rate([]))
    assert at_or_below_majority(0.75, 0.75) and at_or_below_majority(0.36, 0.64)
    assert not at_or_below_majority(0.76, 0.75) and not at_or_below_majority(None, 0.5)
    assert "WARNING" in accuracy_note(0.36, 0.64) and "WARNING" not in accuracy_note(0.9, 0.64)
    assert accuracy_note(0.9, 0.64) == "test accuracy: 0.9000 (majority class 0.6400)"


def test_the_one_line_warnings():
    assert training_gap_note(0.31, 0.97) and training_gap_note(0.9, 0.97) is None
    assert "label in the first column" in label_column_note(30, 30, "Mine_TRAIN.tsv")
    assert label_column_note(30, 3, "x") is None and label_column_note(4, 4, "x") is None  # too few to tell
    assert "length 128" in length_note(301, 128, "f.tsv") and length_note(128, 128, "f.tsv") is None


def test_train_flags_a_collapsed_model_and_a_lagging_batchnorm(tmp_path, capsys):
    """ECG200 after 3 epochs of the paper's recipe: below its majority class (0.64), its BatchNorm running
    statistics far behind its weights; the practical recipe recomputes them and the flags go."""
    args = ["train", "ECG200", "--epochs", "3", "--out", str(tmp_path), "--threads", "2", "--quiet", "--force"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "(majority class 0.6400) -- WARNING: not above always answering the majority class" in printed
    assert "WARNING: the saved model scores" in printed and "BatchNorm statistics lag" in printed
    assert main([*args, "--recipe", "practical"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING" not in printed and "(majority class 0.6400)" in printed


def test_fit_refuses_labels_that_look_like_values_and_names_the_option(tmp_path, capsys):
    rows = toy_rows(15, 30, labels=(1, 2))
    shifted = [[*row[1:], row[0]] for row in rows]  # the label last: read as first, the labels are values
    folder = write_ucr2018(tmp_path, "Shifted", shifted)
    args = ["fit", "--train", str(folder / "Shifted_TRAIN.tsv"), "--out", str(tmp_path / "m.safetensors"), "--dry-run",
            "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "30 classes for 30 series" in err and "Try --label-column last" in err
    assert main([*args, "--label-column", "last"]) == 0  # and nothing expensive ran before the refusal
    assert "chosen source" in capsys.readouterr().out


def test_predict_warns_about_another_length(tmp_path, capsys, toy_archive):
    assert main(["train", "Toy", "--archive", str(toy_archive), "--epochs", "1", "--out", str(tmp_path),
                 "--quiet"]) == 0
    folder = write_ucr2018(tmp_path, "Longer", toy_rows(3, 90, labels=(1, 2)))
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "Toy.safetensors"), str(folder / "Longer_TRAIN.tsv"), "--labels",
                 "first"]) == 0
    assert "series of length 90, the model was trained on length 32" in capsys.readouterr().err


@pytest.fixture(scope="module")
def short_study(tmp_path_factory):
    """A demo-like study cut short: 3 datasets, 2 epochs of the paper's recipe; some baselines collapse."""
    study = tmp_path_factory.mktemp("short") / "study"
    assert main(["grid", "--study", str(study), "--archive", str(MINI_ARCHIVE), "--datasets", "ECG200", "GunPoint",
                 "SonyAIBORobotSurface1", "--epochs", "2", "--threads", "2", "--quiet"]) == 0
    return study


def test_results_and_the_report_flag_sub_majority_baselines(short_study, tmp_path, capsys):
    import json

    capsys.readouterr()
    assert main(["results", "--study", str(short_study)]) == 0
    printed = capsys.readouterr().out
    settings = json.loads((short_study / "results" / "settings.json").read_text())
    flagged = settings["summary"]["baselines_at_or_below_majority"]
    majority = (short_study / "results" / "majority.csv").read_text().splitlines()
    assert majority[0] == "dataset,majority,no_transfer" and len(majority) == 4
    rates = {line.split(",")[0]: (float(line.split(",")[1]), float(line.split(",")[2])) for line in majority[1:]}
    assert rates["ECG200"][0] == pytest.approx(0.64)  # 64 of 100 test series are one class
    assert flagged == [name for name, (m, acc) in sorted(rates.items()) if acc <= m + 1e-9]
    assert flagged  # 2 epochs of the paper's recipe leave a baseline collapsed (ECG200: 0.36, below 0.64)
    assert "WARNING: no-transfer baselines at or below the majority class" in printed
    assert "accuracy after transfer (rows: source, columns: target):" in printed  # the matrix itself
    assert main(["report", "--study", str(short_study), "--out", str(tmp_path / "report"), "--quiet"]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert ("id='collapsed'" in page) == bool(flagged) and "majority class" in page
    for name in flagged:
        assert name in page.split("id='collapsed'")[1].split("</p>")[0]
