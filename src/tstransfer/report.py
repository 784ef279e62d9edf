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
from .files import atomic_write_text, file_stem
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


# ----------------------------------------------------------------------------- source-selection study

NO_TRANSFER = "no transfer"
K1 = "most similar source (K_1)"
RANDOM = "random source (expected)"
RANDOM_SELF = "random source, target in pool (expected)"
BEST = "best source (oracle)"
WORST = "worst source"
STRATEGIES = [NO_TRANSFER, K1, RANDOM, RANDOM_SELF, BEST, WORST]


def selection_per_target(accuracy: pd.DataFrame, baseline: pd.Series,
                         neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each target's accuracy under each way of choosing the source (columns STRATEGIES, plus 'k1_source').

    K_1 is the most similar source of the neighbour table among the sources the matrix has. The random
    source is an expected value: the mean over the other sources; 'target in pool' also counts the
    target itself with accuracy 0, as the authors' code drew it (the abstract's "71 out of 85").
    """
    rows = {}
    for target in accuracy.columns:
        column = accuracy[target].drop(target, errors="ignore").dropna()
        if column.empty:
            continue
        row = {NO_TRANSFER: baseline.get(target, np.nan), RANDOM: column.mean(), BEST: column.max(),
               WORST: column.min(), RANDOM_SELF: np.nan, K1: np.nan, "k1_source": ""}
        if target in accuracy.index:
            row[RANDOM_SELF] = column.sum() / (len(column) + 1)
        if neighbours is not None and target in neighbours.index:
            ranked = [s for s in neighbours.loc[target].dropna() if s in column.index]
            if ranked:
                row[K1], row["k1_source"] = column[ranked[0]], ranked[0]
        rows[target] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "target"
    return table[[*STRATEGIES, "k1_source"]] if len(table) else table


def selection_table(per_target: pd.DataFrame, decimals: int = 6) -> pd.DataFrame:
    """One row per strategy: mean and median accuracy, W/D/L against no transfer (a draw: equal after
    rounding to `decimals`), the Wilcoxon signed-rank p-value against no transfer, and the mean rank."""
    from scipy.stats import wilcoxon

    scores = per_target[STRATEGIES].astype(float)
    ranks = scores.dropna(axis=1, how="all").rank(axis=1, ascending=False).mean()
    rows = []
    for strategy in STRATEGIES:
        pair = scores[list(dict.fromkeys([strategy, NO_TRANSFER]))].dropna()
        if pair.empty:
            continue
        a, b = pair[strategy].round(decimals), pair[NO_TRANSFER].round(decimals)
        p = np.nan
        if strategy != NO_TRANSFER:
            p = 1.0 if (a == b).all() else float(wilcoxon(a, b, zero_method="wilcox").pvalue)
        rows.append({"strategy": strategy, "mean_accuracy": float(pair[strategy].mean()),
                     "median_accuracy": float(pair[strategy].median()), "wins": int((a > b).sum()),
                     "draws": int((a == b).sum()), "losses": int((a < b).sum()), "wilcoxon_p": p,
                     "mean_rank": float(ranks.get(strategy, np.nan)), "targets": len(pair)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- inputs of a report


@dataclass
class ReportInputs:
    accuracy: pd.DataFrame
    baseline: pd.Series
    neighbours: pd.DataFrame | None
    distances: pd.DataFrame | None
    histories: dict[tuple[str, str], Path]  # (source or '', target) -> history CSV
    settings: dict
    origin: str
    strategies: pd.DataFrame | None = None  # `tstransfer evaluate-selection` results, when they exist


def _read_table(path: str | Path, what: str, **kwargs) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise TSTransferError(f"{what} {path}: no such file")
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError) as err:
        raise TSTransferError(f"{what} {path}: not a readable CSV ({err})") from None


def _canonical_index(frame, axis_names=("index",)):
    from .data import canonical_name

    frame = frame.copy()
    if "index" in axis_names:
        frame.index = [canonical_name(str(n).strip()) for n in frame.index]
    if "columns" in axis_names:
        frame.columns = [canonical_name(str(n).strip()) for n in frame.columns]
    return frame


def inputs_from_files(matrix: str | Path, baseline: str | Path, similarity: str | Path | None) -> ReportInputs:
    """Results produced elsewhere, in the paper's CSV layouts (UCR 2015 or 2018 names; accuracies in [0, 1]
    or in %): accuracy matrix (rows = source, columns = target, diagonal ignored), baseline (dataset,accuracy),
    neighbours (index = target, columns K_1 ...)."""
    from .data import canonical_name

    acc = _canonical_index(_read_table(matrix, "--matrix", index_col=0), ("index", "columns"))
    for axis, labels in (("rows", acc.index), ("columns", acc.columns)):
        twice = sorted({str(n) for n in labels[labels.duplicated()]})
        if twice:
            raise TSTransferError(f"--matrix {matrix}: {axis} {twice[:3]} appear twice (after translating UCR 2015 "
                                  "names and stripping spaces); a matrix must name each dataset once")
    try:
        acc = acc.apply(pd.to_numeric, errors="raise").astype(float)
    except ValueError as err:
        raise TSTransferError(f"--matrix {matrix}: non-numeric accuracy ({err})") from None
    base_frame = _read_table(baseline, "--baseline")
    if base_frame.shape[1] < 2:
        raise TSTransferError(f"--baseline {baseline}: expected two columns dataset,accuracy")
    base = pd.Series(pd.to_numeric(base_frame.iloc[:, 1], errors="coerce").to_numpy(),
                     index=[canonical_name(str(n).strip()) for n in base_frame.iloc[:, 0]], name="accuracy")
    if base.isna().all():
        raise TSTransferError(f"--baseline {baseline}: no numeric accuracy in the second column")
    scale = 100.0 if max(np.nanmax(acc.to_numpy()), base.max()) > 1.0 else 1.0  # accuracies given in %
    acc, base = acc / scale, base / scale
    for name in set(acc.index) & set(acc.columns):
        acc.loc[name, name] = np.nan  # the diagonal is ignored
    missing = sorted(set(acc.columns) - set(base.index))
    if len(missing) == len(acc.columns):
        raise TSTransferError(f"--baseline {baseline}: none of the matrix's targets has a baseline accuracy")
    neighbours = None
    if similarity:
        neighbours = _read_table(similarity, "--similarity", index_col=0).astype(str)
        neighbours = _canonical_index(neighbours)
        neighbours = neighbours.apply(lambda col: col.map(lambda n: canonical_name(n.strip())))
    settings = {"origin": f"files: {matrix}, {baseline}, {similarity or 'no similarity'}"}
    return ReportInputs(acc, base, neighbours, None, {}, settings, "files")


def inputs_from_study(study: str | Path) -> ReportInputs:
    """A study folder: its store (matrices, histories) and, when `tstransfer similarity` ran, its neighbours."""
    tables = load_study(study)
    study = Path(study)
    sim = study / "similarity"
    neighbours = pd.read_csv(sim / "neighbours.csv", index_col=0) if (sim / "neighbours.csv").is_file() else None
    distances = pd.read_csv(sim / "distances.csv", index_col=0) if (sim / "distances.csv").is_file() else None
    done = tables.runs[tables.runs.status == "done"]
    histories = {(r.source, r.target): study / r.history_path for r in done.itertuples()}
    settings = {**tables.settings, "deviations_from_paper": deviations(tables.settings), "study": str(study)}
    strategies_csv = study / "selection_strategies.csv"
    strategies = pd.read_csv(strategies_csv) if strategies_csv.is_file() else None
    return ReportInputs(tables.accuracy, tables.baseline, neighbours, distances, histories, settings, "study",
                        strategies)


# ----------------------------------------------------------------------------- the HTML report

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0;cursor:pointer}td:first-child,th:first-child{text-align:left}
.note{background:#fff4d6;border:1px solid #e0b84c;padding:.6em 1em}img{max-width:100%;border:1px solid #eee}
"""
# Sortable tables (click a header), and a marker the browser test reads: how many images failed to load.
_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){th.addEventListener('click', function(){
 var body=th.closest('table').tBodies[0], rows=Array.from(body.rows), asc=th.dataset.asc!=='1';
 th.dataset.asc=asc?'1':'0';
 rows.sort(function(a,b){var x=a.cells[col].textContent, y=b.cells[col].textContent;
  var nx=parseFloat(x), ny=parseFloat(y); var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y); return asc?c:-c;});
 rows.forEach(function(r){body.appendChild(r);});});});
window.addEventListener('load', function(){var imgs=Array.from(document.images);
 document.body.dataset.images=imgs.length;
 document.body.dataset.brokenImages=imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0);}).length;});
"""


# Every value from data reaches the HTML through Jinja2 with autoescaping (text and attributes); every
# name that becomes a file goes through files.file_stem and is URL-quoted in links.
_TEMPLATES = {
    "table": """{% macro table(t) -%}
<table class='sortable' id='{{ t.id }}'><thead><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for text, href in row %}<td>{% if href %}<a href='{{ href }}'>{{ text }}</a>
{%- else %}{{ text }}{% endif %}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{%- endmacro %}""",
    "page": """<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{{ title }}</title>
<style>{{ style | safe }}</style></head><body>{% block body %}{% endblock %}<script>{{ script | safe }}</script>
</body></html>
""",
    "target": """{% extends "page" %}{% from "table" import table %}{% block body %}
<p><a href='../index.html'>&larr; report</a></p><h1>{{ target }}</h1>
<p>no transfer: {{ no_transfer }} &middot; most similar source: {{ k1_source }} &middot; best source: {{ best }}</p>
<h2>Accuracy against source similarity</h2><img src='../figures/{{ acc_png }}' alt='accuracy'>
{% if loss_png %}<h2>Loss with and without transfer</h2>
<img src='../figures/{{ loss_png }}' alt='loss curves'>{% endif %}
<h2>Sources</h2>{{ table(sources) }}
{% endblock %}""",
    "index": """{% extends "page" %}{% from "table" import table %}{% block body %}
<h1>tstransfer report</h1>
{% if deviations %}<p class='note'><b>Deviates from the paper's recipe:</b> {{ deviations }}</p>{% endif %}
<p>{{ n_sources }} sources, {{ n_targets }} targets, {{ s.pairs }} pairs: {{ s.improved }} improved,
{{ s.unchanged }} unchanged, {{ s.degraded }} degraded; mean change {{ "%+.2f" % s.mean_change_points }} accuracy
points, median variation {{ "%+.2f" % s.median_variation_pct }}%.</p>
<h2>Choosing the source</h2>
<p>Expected values for the random source; W/D/L and the Wilcoxon signed-rank test are against no transfer
(a draw: equal accuracy after rounding to 6 decimals). Medians and mean ranks are shown because one broken
baseline can dominate % averages.</p>
{{ table(selection) }}<img src='figures/selection.png' alt='selection'>
{% if strategies %}<h3>Selection strategies, leave-one-target-out (tstransfer evaluate-selection)</h3>
<p>Each target chooses among the other datasets' models from its training set only; oracle_gain_share: the
share of the best source's mean gain over no transfer.</p>{{ table(strategies) }}{% endif %}
{% if cd %}<h3>Critical difference diagram (Wilcoxon, Holm)</h3><img src='figures/cd_diagram.png' alt='cd'>{% endif %}
{% if not similarity %}<p class='note'>No similarity table: K_1 is missing and sources are ordered by accuracy.
Run <code>tstransfer similarity</code> for Algorithm 1.</p>{% endif %}
<h2>Accuracy variation</h2><img src='figures/variation_heatmap.png' alt='variation heatmap'>
<h2>Targets</h2>{{ table(targets) }}
<h2>Settings</h2>{{ table(settings) }}
{% endblock %}""",
}


def _render(template: str, **values) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template(template).render(style=_STYLE, script=_SCRIPT, **values)


def _fmt(value, digits=4) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _table(frame: pd.DataFrame, table_id: str, links: dict[str, str] | None = None) -> dict:
    """A table for the template: formatted cells (escaped there), the first column linked via `links`."""
    rows = [[(_fmt(value), links.get(str(value)) if i == 0 and links else None) for i, value in enumerate(row)]
            for _, row in frame.iterrows()]
    return {"id": table_id, "columns": [str(c) for c in frame.columns], "rows": rows}


def _url(file_name: str) -> str:
    from urllib.parse import quote

    return quote(file_name)


def _history(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path) if path is not None and Path(path).is_file() else None


def ranked_sources(inputs: ReportInputs, target: str) -> pd.DataFrame:
    """The target's sources with their accuracy, ordered by similarity (or by accuracy without similarity)."""
    column = inputs.accuracy[target].drop(target, errors="ignore").dropna() if target in inputs.accuracy else None
    if column is None or column.empty:
        return pd.DataFrame(columns=["rank", "source", "distance", "accuracy", "variation_pct"])
    if inputs.neighbours is not None and target in inputs.neighbours.index:
        order = [s for s in inputs.neighbours.loc[target].dropna() if s in column.index]
        order += [s for s in column.index if s not in order]
    else:
        order = list(column.sort_values(ascending=False).index)
    base = inputs.baseline.get(target, np.nan)
    distance = [inputs.distances.loc[target, s] if inputs.distances is not None and target in inputs.distances.index
                and s in inputs.distances.columns else np.nan for s in order]
    return pd.DataFrame({"rank": range(1, len(order) + 1), "source": order, "distance": distance,
                         "accuracy": [column[s] for s in order],
                         "variation_pct": [100 * (column[s] - base) / base if base else np.nan for s in order]})


def plot_loss(inputs: ReportInputs, target: str, sources: list[str] | None, path: str | Path) -> Path:
    """Fig. 1 for one target: from scratch vs fine-tuned from `sources` (default: most and least similar)."""
    from . import figures

    if not inputs.histories:
        raise TSTransferError("loss curves need the per-epoch histories of a study (--study)")
    ranked = ranked_sources(inputs, target)
    if sources is None:
        sources = list(dict.fromkeys([ranked.source.iloc[0], ranked.source.iloc[-1]])) if len(ranked) else []
    rank_of = dict(zip(ranked.source, ranked["rank"]))
    kind = "similarity" if inputs.neighbours is not None else "accuracy"
    transfers = {}
    for source in sources:
        history = _history(inputs.histories.get((source, target)))
        if history is None:
            raise TSTransferError(f"no finished fine-tuning {source}->{target} in the study")
        transfers[f"{source} ({kind} rank {rank_of.get(source, '?')})"] = history
    scratch = _history(inputs.histories.get(("", target)))
    if scratch is None and not transfers:
        raise TSTransferError(f"no finished run with target {target} in the study")
    return figures.loss_curves(target, scratch, transfers, path)


def write_report(inputs: ReportInputs, out: str | Path, progress: bool = True) -> Path:
    """Write DIR/index.html, DIR/targets/<T>.html, DIR/figures/*.png, selection.csv and the tables."""
    from tqdm.auto import tqdm

    from . import figures

    out = Path(out)
    fig_dir = out / "figures"
    if inputs.accuracy.empty:
        raise TSTransferError("no transfer results to report (the accuracy matrix is empty)")
    per_target = selection_per_target(inputs.accuracy, inputs.baseline, inputs.neighbours)
    selection = selection_table(per_target)
    atomic_write_text(out / "selection.csv", _csv(selection, index=False))
    atomic_write_text(out / "selection_per_target.csv", _csv(per_target))
    variation = variation_matrix(inputs.accuracy, inputs.baseline)
    atomic_write_text(out / "variation_matrix.csv", _csv(variation))
    summary = summarize(inputs.accuracy, inputs.baseline)

    figures.variation_heatmap(variation, fig_dir / "variation_heatmap.png")
    figures.selection_summary(selection, fig_dir / "selection.png")
    cd = figures.critical_difference(per_target[STRATEGIES].dropna(axis=1, how="all"), fig_dir / "cd_diagram.png")

    targets = list(per_target.index)
    stems = {t: file_stem(t) for t in targets}
    links = {t: "targets/" + _url(f"{stems[t]}.html") for t in targets}
    for target in tqdm(targets, desc="report", unit="target", disable=not progress, dynamic_ncols=True):
        ranked = ranked_sources(inputs, target)
        acc_png, loss_png = f"{stems[target]}_acc.png", None
        figures.accuracy_vs_similarity(target, ranked, inputs.baseline.get(target), fig_dir / acc_png)
        if inputs.histories and (("", target) in inputs.histories or any(k[1] == target for k in inputs.histories)):
            try:
                plot_loss(inputs, target, None, fig_dir / f"{stems[target]}_loss.png")
                loss_png = f"{stems[target]}_loss.png"
            except TSTransferError:
                pass
        page = _render("target", title=f"{target} - tstransfer", target=target,
                       no_transfer=_fmt(inputs.baseline.get(target, np.nan)),
                       k1_source=str(per_target.loc[target, "k1_source"]) or "n/a",
                       best=_fmt(per_target.loc[target, BEST]), acc_png=_url(acc_png),
                       loss_png=loss_png and _url(loss_png), sources=_table(ranked, "sources"))
        atomic_write_text(out / "targets" / f"{stems[target]}.html", page)

    settings_rows = pd.DataFrame({"setting": list(inputs.settings), "value": [json.dumps(v, default=str)
                                                                             for v in inputs.settings.values()]})
    overview = per_target.reset_index()[["target", NO_TRANSFER, "k1_source", K1, BEST, WORST]]
    page = _render("index", title="tstransfer report",
                   deviations="; ".join(inputs.settings.get("deviations_from_paper", [])),
                   n_sources=len(inputs.accuracy.index), n_targets=len(inputs.accuracy.columns), s=summary,
                   selection=_table(selection, "selection"),
                   strategies=None if inputs.strategies is None else _table(inputs.strategies, "strategies"),
                   cd=cd is not None, similarity=inputs.neighbours is not None,
                   targets=_table(overview, "targets", links), settings=_table(settings_rows, "settings"))
    return atomic_write_text(out / "index.html", page)
