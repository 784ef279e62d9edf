"""The report: figures and the HTML in a real browser, from a real study and from files made elsewhere (the
selection study's arithmetic: test_selection_study.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tstransfer.grid import run_grid
from tstransfer.report import inputs_from_files, inputs_from_study, write_report
from tstransfer.selection_study import (
    K1,
    RANDOM,
)
from tstransfer.similarity import compute_similarity
from tstransfer.study import StudyPaths, plan_runs
from tstransfer.training import TrainConfig


def _browser(page, *extra):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is missing: `make test` installs the Debian packages chromium/chromium-driver"
    profile = page.parent / ".chromium-profile"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=10000", *extra, page.resolve().as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    return result


def _rows(dom, table_id):
    match = re.search(rf"<table[^>]*id=\"{table_id}\".*?<tbody>(.*?)</tbody>", dom, re.S)
    assert match, f"table {table_id} missing"
    return match.group(1).count("<tr>")


@pytest.fixture(scope="module")
def real_study(tmp_path_factory):
    """A small real study: 3 datasets of the mini archive, 3 epochs, with Algorithm 1."""
    from tstransfer.data import MINI_ARCHIVE

    study = tmp_path_factory.mktemp("real") / "study"
    names = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]
    run_grid(MINI_ARCHIVE, study, plan_runs(names), TrainConfig(epochs=3, seed=0, threads=2), progress=False)
    compute_similarity(MINI_ARCHIVE, StudyPaths(study).similarity, names, jobs=1, progress=False)
    return study


def test_report_of_a_real_study_renders_in_chromium(real_study, tmp_path):
    out = tmp_path / "report"
    index = write_report(inputs_from_study(real_study), out, progress=False)
    assert index == out / "index.html"
    selection = pd.read_csv(out / "selection.csv")
    assert list(selection.columns) == ["strategy", "mean_accuracy", "median_accuracy", "wins", "draws", "losses",
                                       "wilcoxon_p", "mean_rank", "targets"]
    assert len(selection) == 6 and selection.targets.eq(3).all()
    for name in ("variation_heatmap", "selection", "cd_diagram", "GunPoint_acc", "GunPoint_loss"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5000, name
    html_text = index.read_text()
    assert "Deviates from the paper's recipe" in html_text and "epochs=3 (paper: 2000)" in html_text

    result = _browser(index, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    images = int(re.search(r'data-images="(\d+)"', dom).group(1))
    assert images >= 3 and 'data-broken-images="0"' in dom
    assert _rows(dom, "selection") == 6 and _rows(dom, "targets") == 3
    page = out / "targets" / "GunPoint.html"
    dom = _browser(page, "--dump-dom").stdout
    assert 'data-images="3"' in dom and 'data-broken-images="0"' in dom  # accuracy, loss, prototypes
    assert _rows(dom, "sources") == 2


def test_two_seed_study_report_in_chromium(tmp_path, capsys):
    """The issue's check: a 3-dataset, 2-seed study through grid --seeds 0 1, results and report: every image
    loads, the accuracy matrix has N x N cells, mean ± std and the few-targets caveat appear, a target page
    names its best source and links its files."""
    from tstransfer.cli import main

    study, out = tmp_path / "study", tmp_path / "report"
    names = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]
    assert main(["grid", "--study", str(study), "--datasets", *names, "--seeds", "0", "1", "--epochs", "2",
                 "--threads", "2", "--quiet"]) == 0
    assert main(["results", "--study", str(study)]) == 0
    assert main(["similarity", "--study", str(study), "--jobs", "1", "--quiet"]) == 0
    assert main(["report", "--study", str(study), "--out", str(out), "--quiet", "--tie-band", "0.5"]) == 0
    capsys.readouterr()
    dom = _browser(out / "index.html", "--dump-dom").stdout
    images = int(re.search(r'data-images="(\d+)"', dom).group(1))
    assert images == 5 and 'data-broken-images="0"' in dom  # selection, 2 scatters, CD diagram, heatmap
    matrix = re.search(r"<table class=\"matrix\" id=\"accuracy-matrix\">(.*?)</table>", dom, re.S).group(1)
    assert matrix.count("<td") == 9 and len(re.findall(r"0\.\d{4} ± 0\.\d{4}", matrix)) == 6
    assert 'id="few-targets"' in dom and "Only 3 targets" in dom
    assert "2 seeds" in dom and "within 0.5 accuracy points" in dom
    assert "made by tstransfer" in dom and "--tie-band 0.5" in dom  # the footer names the command
    assert "<td>recipe: name</td><td>paper</td>" in dom and "<td>recipe: fields: lr</td>" in dom  # settings as rows
    assert "<td>seeds</td><td>0; 1</td>" in dom and "<td>seed</td>" not in dom  # a 2-seed study says both
    for name in ("accuracy_matrix.csv", "accuracy_std.csv", "no_transfer.csv", "no_transfer_per_seed.csv"):
        assert (out / name).is_file() and f'href="{name}"' in dom
    assert (out / "figures" / "variation_heatmap.svg").read_text().lstrip().startswith("<?xml")
    page = _browser(out / "targets" / "GunPoint.html", "--dump-dom").stdout
    assert 'data-images="3"' in page and 'data-broken-images="0"' in page
    per_target = pd.read_csv(out / "selection_per_target.csv", index_col=0)
    assert f"best source: <b>{per_target.loc['GunPoint', 'best_source']}</b>" in page
    assert "<td>type</td><td>Motion</td>" in page.replace("\n", "")
    for href in re.findall(r'href="([^"]+\.(?:safetensors|csv))"', page):  # model, history and CSV links
        assert (out / "targets" / href).resolve().is_file(), href


def test_broken_image_is_detected_by_the_browser_check(tmp_path):
    page = tmp_path / "page.html"
    from tstransfer.report import _render

    empty = {"id": "t", "columns": [], "rows": []}
    page.write_text(_render("target", title="t", target="T", facts=empty, no_transfer="", k1_source="", k1="",
                            best_source="", best="", seeds="", acc_png="missing.png", loss_png=None, proto_png=None,
                            sources=empty, files=[]))
    assert 'data-broken-images="1"' in _browser(page, "--dump-dom").stdout


def test_plot_loss_command(real_study, capsys):
    from tstransfer.cli import main

    assert main(["plot-loss", "--study", str(real_study), "--target", "GunPoint", "--source", "ECG200"]) == 0
    assert (real_study / "figures" / "GunPoint_loss.png").stat().st_size > 5000
    assert main(["plot-loss", "--study", str(real_study), "--target", "GunPoint", "--source", "Nope"]) == 2
    assert "no finished fine-tuning Nope->GunPoint" in capsys.readouterr().err


def test_report_from_published_style_files(tmp_path, capsys):
    """2015 names, accuracies in %, the diagonal filled in: everything else of the report still works."""
    from tstransfer.cli import main

    names15 = ["Gun_Point", "50words", "wafer"]
    acc = pd.DataFrame([[99.0, 60.0, 99.5], [90.0, 99.0, 99.6], [95.0, 65.0, 99.0]], index=names15, columns=names15)
    acc.to_csv(tmp_path / "acc.csv")
    pd.DataFrame({"dataset": names15, "accuracy": [92.0, 62.0, 99.6]}).to_csv(tmp_path / "base.csv", index=False)
    pd.DataFrame([["wafer", "50words"], ["Gun_Point", "wafer"], ["Gun_Point", "50words"]], index=names15,
                 columns=["K_1", "K_2"]).to_csv(tmp_path / "nn.csv")
    out = tmp_path / "rep"
    assert main(["report", "--matrix", str(tmp_path / "acc.csv"), "--baseline", str(tmp_path / "base.csv"),
                 "--similarity", str(tmp_path / "nn.csv"), "--out", str(out), "--quiet"]) == 0
    per_target = pd.read_csv(out / "selection_per_target.csv", index_col=0)
    assert set(per_target.index) == {"GunPoint", "FiftyWords", "Wafer"}
    assert per_target.loc["GunPoint", "k1_source"] == "Wafer"
    assert per_target.loc["GunPoint", K1] == pytest.approx(0.95)
    assert per_target.loc["Wafer", RANDOM] == pytest.approx((0.995 + 0.996) / 2)  # diagonal ignored
    assert (out / "targets" / "Wafer.html").is_file() and (out / "figures" / "Wafer_acc.png").is_file()
    inputs = inputs_from_files(tmp_path / "acc.csv", tmp_path / "base.csv", None)
    assert np.isnan(inputs.accuracy.loc["Wafer", "Wafer"])
    assert main(["report", "--matrix", str(tmp_path / "nope.csv"), "--baseline", str(tmp_path / "base.csv"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "--matrix" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_demo_layout_report_command_needs_inputs(capsys):
    from tstransfer.cli import main

    assert main(["report", "--out", os.devnull]) == 2
    assert "give --study STUDY_DIR, or --matrix" in capsys.readouterr().err


def test_evaluate_selection_leave_one_target_out(real_study, capsys):
    from tstransfer.cli import main
    from tstransfer.data import MINI_ARCHIVE
    from tstransfer.study import load_study

    write_report(inputs_from_study(real_study), real_study / "report", progress=False)
    assert main(["evaluate-selection", "--study", str(real_study), "--archive", str(MINI_ARCHIVE),
                 "--validate-epochs", "1", "--quiet"]) == 0
    assert "report updated" in capsys.readouterr().out
    summary = pd.read_csv(real_study / "selection_strategies.csv").set_index("strategy")
    reference = "MiniRocket (reference, no transfer)"
    assert list(summary.index) == ["no transfer", "similarity", "validate", "transferability", "oracle", reference]
    per_target = pd.read_csv(real_study / "selection_strategies_per_target.csv", index_col=0)
    tables = load_study(real_study)
    neighbours = pd.read_csv(real_study / "similarity" / "neighbours.csv", index_col=0)
    for target, row in per_target.iterrows():
        # similarity = K_1 among the other datasets; every choice's accuracy is the grid's cell
        assert row["similarity_source"] == neighbours.loc[target, "K_1"]
        for strategy in ("similarity", "validate", "transferability"):
            assert row[strategy] == pytest.approx(tables.accuracy.loc[row[f"{strategy}_source"], target], abs=1e-6)
            assert row[f"{strategy}_source"] != target
        assert row["oracle"] == pytest.approx(tables.accuracy[target].max(), abs=1e-6)
        assert all(row["oracle"] >= row[s] for s in ("similarity", "validate", "transferability"))
    assert summary.loc[["similarity", "oracle"], ["wins", "draws", "losses"]].sum(axis=1).tolist() == [3, 3]
    from tstransfer.baselines import minirocket
    from tstransfer.data import load_dataset

    for target, row in per_target.iterrows():  # the reference: MiniRocket on the target's own split
        assert row[reference] == pytest.approx(minirocket(load_dataset(target), 0).accuracy)
    page = (real_study / "report" / "index.html").read_text()
    assert "Selection strategies, leave-one-target-out" in page and reference in page


# Payloads that, if any reached the HTML unescaped, would run script: each marks the page when it runs.
MARK = "document.body.dataset.pwned=1"
HOSTILE = [
    f"x' onerror='{MARK}' y='",
    f'x" onerror="{MARK}" y="',
    f"<script>{MARK}</script>",
    f"<img src=x onerror={MARK}>",
    "../../../../escaped/x",
    "/tmp/absolute-escape/y",
    "..",
    "a$\\frac{b",
    "con\x07trol",
    "ünï cödé ✓",
]


def _files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not any(a in p.parents for a in allowed)]


def test_a_matrix_with_hostile_names_stays_inside_out_and_runs_no_script(tmp_path):
    from tstransfer.cli import main

    work = tmp_path / "deep" / "er" / "work"
    work.mkdir(parents=True)
    names = HOSTILE + ["Plain"]
    rng = np.random.default_rng(0)
    acc = pd.DataFrame(rng.uniform(0.5, 1, (len(names), len(names))), index=names, columns=names)
    acc.to_csv(work / "acc.csv")
    pd.DataFrame({"dataset": names, "accuracy": rng.uniform(0.5, 1, len(names))}).to_csv(work / "base.csv",
                                                                                          index=False)
    out = work / "report"
    assert main(["report", "--matrix", str(work / "acc.csv"), "--baseline", str(work / "base.csv"), "--out",
                 str(out), "--quiet"]) == 0
    assert sorted(_files_outside(tmp_path, [out])) == [work / "acc.csv", work / "base.csv"]
    assert not Path("/tmp/absolute-escape").exists()
    files = sorted((out / "targets").iterdir())  # one page and one sources CSV per target, nothing elsewhere
    pages = [p for p in files if p.suffix == ".html"]
    assert len(pages) == len(names) and len(files) == 2 * len(names) and all(p.parent == out / "targets" for p in files)
    for page in [out / "index.html", *pages]:
        dom = _browser(page, "--dump-dom").stdout
        assert "data-pwned" not in dom, page
        assert 'data-broken-images="0"' in dom, page  # the encoded figure names resolve
    dom = _browser(out / "index.html", "--dump-dom").stdout
    assert "&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;" in dom  # shown as text
    assert _rows(dom, "targets") == len(names)


def test_a_study_with_a_hostile_dataset_name_reports_safely(tmp_path):
    from conftest import toy_rows, write_ucr2018
    from tstransfer.cli import main

    archive = tmp_path / "archive"
    hostile = f"x' onerror='{MARK}' y='"
    write_ucr2018(archive, hostile, toy_rows(4, 16, seed=1), toy_rows(2, 16, seed=2))
    write_ucr2018(archive, "Plain", toy_rows(4, 16, seed=3), toy_rows(2, 16, seed=4))
    study = tmp_path / "study"
    assert main(["grid", "--archive", str(archive), "--study", str(study), "--all", "--epochs", "1", "--threads",
                 "1", "--quiet"]) == 0
    assert main(["report", "--study", str(study), "--out", str(study / "report"), "--quiet"]) == 0
    for page in [study / "report" / "index.html", *(study / "report" / "targets").glob("*.html")]:
        dom = _browser(page, "--dump-dom").stdout
        assert "data-pwned" not in dom and 'data-broken-images="0"' in dom, page


def test_the_report_loads_no_torch():
    """The report reads tables: the paper's selection study lives apart from the chooser (selection.py)."""
    import subprocess
    import sys

    trace = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tstransfer.report"],
                           capture_output=True, text=True, check=True).stderr
    assert "tstransfer.selection_study" in trace
    assert not [line for line in trace.splitlines() if line.rstrip().endswith(("| torch", "| tstransfer.selection"))]
