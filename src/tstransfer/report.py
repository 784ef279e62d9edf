"""Study results in the paper's layouts: the accuracy matrix and the accuracy-variation matrix
(rows = source, columns = target), the no-transfer accuracies and a long table of every run."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TSTransferError
from .files import atomic_write_text
from .store import Store
from .training import TrainConfig

RUN_COLUMNS = ["kind", "source", "target", "seed", "epochs", "status", "best_epoch", "train_loss", "train_acc",
               "test_loss", "test_acc", "seconds", "device", "model_path", "history_path", "error"]


@dataclass
class StudyTables:
    accuracy: pd.DataFrame  # source x target test accuracy after transfer (NaN where not run)
    variation: pd.DataFrame  # 100 * (acc_transfer - acc_no_transfer) / acc_no_transfer
    baseline: pd.Series  # no-transfer accuracy per dataset
    runs: pd.DataFrame  # one row per run
    settings: dict


def variation_matrix(accuracy: pd.DataFrame, baseline: pd.Series) -> pd.DataFrame:
    """The paper's accuracy variation in %, column by column against the target's no-transfer accuracy."""
    base = baseline.reindex(accuracy.columns).replace(0, np.nan)
    return 100 * (accuracy - base) / base


def load_study(study: str | Path) -> StudyTables:
    """Read the finished runs of a study's store into the paper's tables."""
    study = Path(study)
    if not (study / "study.sqlite").is_file():
        raise TSTransferError(f"--study {study}: no study.sqlite here (run `tstransfer grid` first)")
    store = Store(study)
    try:
        settings = store.settings()
        runs = pd.DataFrame([dict(r) for r in store.runs()], columns=["id", *RUN_COLUMNS, "updated_at"])
    finally:
        store.close()
    runs = runs[RUN_COLUMNS]
    done = runs[runs.status == "done"]
    baseline = done[done.kind == "pretrain"].set_index("target")["test_acc"].astype(float).rename("accuracy")
    baseline.index.name = "dataset"
    pairs = done[done.kind == "transfer"]
    names = sorted(set(pairs.source) | set(pairs.target) | set(baseline.index))
    accuracy = pairs.pivot_table(index="source", columns="target", values="test_acc", aggfunc="first")
    accuracy = accuracy.reindex(index=[n for n in names if n in set(pairs.source)],
                                columns=[n for n in names if n in set(pairs.target)]).astype(float)
    accuracy.index.name, accuracy.columns.name = "source", None
    return StudyTables(accuracy, variation_matrix(accuracy, baseline), baseline.sort_index(), runs, settings)


def summarize(accuracy: pd.DataFrame, baseline: pd.Series, decimals: int = 6) -> dict:
    """Pairs improved / unchanged / degraded against no transfer (equal after rounding), mean change."""
    base = baseline.reindex(accuracy.columns)
    after = accuracy.round(decimals).to_numpy()
    before = np.broadcast_to(base.round(decimals).to_numpy(), after.shape)
    ok = ~np.isnan(after) & ~np.isnan(before)
    diff = (after - before)[ok]
    variation = variation_matrix(accuracy, baseline).to_numpy()[ok]
    return {"pairs": int(ok.sum()), "improved": int((diff > 0).sum()), "unchanged": int((diff == 0).sum()),
            "degraded": int((diff < 0).sum()),
            "mean_change_points": float(100 * diff.mean()) if diff.size else float("nan"),
            "mean_variation_pct": float(np.nanmean(variation)) if variation.size else float("nan"),
            "median_variation_pct": float(np.nanmedian(variation)) if variation.size else float("nan")}


def deviations(settings: dict) -> list[str]:
    """How a study's settings depart from the paper's recipe (epochs, recipe), in words."""
    if "epochs" not in settings:
        return []
    recipe = settings.get("recipe", {})
    return TrainConfig(epochs=settings["epochs"], **recipe).deviations()


def _csv(frame: pd.DataFrame | pd.Series, index: bool = True) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index, float_format="%.6g")
    return buffer.getvalue()


def write_results(study: str | Path, out: str | Path | None = None) -> tuple[dict, dict]:
    """Write accuracy_matrix.csv, variation_matrix.csv, no_transfer.csv, runs.csv and settings.json.

    Returns (paths, summary). `out` defaults to `<study>/results`.
    """
    tables = load_study(study)
    out = Path(out) if out else Path(study) / "results"
    summary = summarize(tables.accuracy, tables.baseline)
    counts = tables.runs.status.value_counts().to_dict()
    meta = {"settings": tables.settings, "deviations_from_paper": deviations(tables.settings),
            "datasets": sorted(set(tables.baseline.index) | set(tables.accuracy.columns)),
            "runs": {k: int(v) for k, v in counts.items()}, "summary": summary}
    paths = {
        "accuracy": atomic_write_text(out / "accuracy_matrix.csv", _csv(tables.accuracy)),
        "variation": atomic_write_text(out / "variation_matrix.csv", _csv(tables.variation)),
        "no_transfer": atomic_write_text(out / "no_transfer.csv", _csv(tables.baseline)),
        "runs": atomic_write_text(out / "runs.csv", _csv(tables.runs, index=False)),
        "settings": atomic_write_text(out / "settings.json", json.dumps(meta, indent=2, default=str)),
    }
    return paths, summary
