"""The HTML report of a study (or of results made elsewhere): the paper's figures, its accuracy and variation
matrices, the source-selection study, one page per target. It only reads: the study's tables (study.py),
its similarity files and the selection strategies' results; every value from data reaches the HTML through
Jinja2 with autoescaping."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import __version__, figures
from .data import canonical_name, describe_dataset, load_dataset, ucr_summary
from .errors import TSTransferError
from .files import atomic_write_text, csv_text, file_stem
from .guardrails import at_or_below_majority
from .selection_study import BEST, K1, NO_TRANSFER, STRATEGIES, WORST, selection_per_target, selection_table
from .similarity import read_prototypes
from .study import (
    StudyPaths,
    check_data_unchanged,
    check_similarity,
    deviations,
    load_study,
    majority_rates,
    summarize,
    variation_matrix,
)

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
    seeds: list[int] = field(default_factory=list)  # several: the tables are means over them
    accuracy_std: pd.DataFrame | None = None
    variation_std: pd.DataFrame | None = None
    baseline_per_seed: pd.DataFrame | None = None  # dataset x seed
    runs: pd.DataFrame | None = None  # the finished runs of the first seed (their model and history are linked)
    study: Path | None = None
    archive: str | None = None  # where the datasets' facts and training series are read (None: the UCR table)
    majority: pd.Series | None = None  # each dataset's majority-class rate on its test split (a collapsed model's)

    def baseline_std(self) -> pd.Series | None:
        """The no-transfer accuracy's sample std over the seeds (None with one seed)."""
        return None if self.baseline_per_seed is None else self.baseline_per_seed.std(axis=1, ddof=1)


def _read_table(path: str | Path, what: str, **kwargs) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise TSTransferError(f"{what} {path}: no such file")
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError) as err:
        raise TSTransferError(f"{what} {path}: not a readable CSV ({err})") from None


def _canonical_index(frame, axis_names=("index",)):
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


def inputs_from_study(study: str | Path, seeds: list[int] | None = None) -> ReportInputs:
    """A study folder: its store (matrices, histories) and, when `tstransfer similarity` ran, its neighbours."""
    tables = load_study(study, seeds)
    paths = StudyPaths(study)
    check_similarity(study)
    neighbours = pd.read_csv(paths.neighbours, index_col=0) if paths.neighbours.is_file() else None
    distances = pd.read_csv(paths.distances, index_col=0) if paths.distances.is_file() else None
    done = tables.runs[tables.runs.status == "done"]
    settings = {**tables.settings, "deviations_from_paper": deviations(tables.settings), "study": str(study)}
    strategies = pd.read_csv(paths.strategies) if paths.strategies.is_file() else None
    first = tables.seeds[0] if tables.seeds else None  # loss curves and model links: the first seed's runs
    first_runs = done[done.seed == first] if first is not None else done
    histories = {(r.source, r.target): paths.root / r.history_path for r in first_runs.itertuples()}
    archive = tables.settings.get("archive")
    archive = archive if archive and Path(archive).is_dir() else None
    if archive:  # the report reads facts, prototypes and majority rates there: the study's own data only
        check_data_unchanged(study, archive, tables.baseline.index.union(tables.accuracy.columns))
    majority = majority_rates(tables.baseline.index.union(tables.accuracy.columns), archive) if archive else None
    return ReportInputs(tables.accuracy, tables.baseline, neighbours, distances, histories, settings, "study",
                        strategies, tables.seeds, tables.accuracy_std, tables.variation_std,
                        tables.baseline_per_seed, first_runs, paths.root, archive, majority)


# ----------------------------------------------------------------------------- facts of a dataset

def dataset_facts(name: str, archive: str | None) -> dict:
    """n_train, n_test, length, classes (read from `archive` when it holds the dataset, else the official UCR
    2018 table) and the UCR type when the table knows the dataset; {} for a dataset known to neither."""
    facts = {}
    summary = ucr_summary()
    if name in summary.index:
        facts = {k: summary.at[name, k] for k in ("n_train", "n_test", "length", "classes", "type")}
    if archive:
        try:
            info = describe_dataset(name, archive)
            facts.update({"n_train": info.n_train, "n_test": info.n_test, "length": info.length,
                          "classes": info.classes, "channels": info.channels})
        except TSTransferError:
            pass
    return facts


# ----------------------------------------------------------------------------- the HTML report

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0;cursor:pointer}td:first-child,th:first-child{text-align:left}
table.matrix{font-size:12px}table.matrix td.self{background:#eee}
#settings td,#facts td{text-align:left}
.note{background:#fff4d6;border:1px solid #e0b84c;padding:.6em 1em}img{max-width:100%;border:1px solid #eee}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}footer{margin-top:3em;font-size:12px;color:#666}
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

FEW_TARGETS = 10  # below this many targets, rank statistics say little (Demsar 2006 uses N >= 10)

# Every value from data reaches the HTML through Jinja2 with autoescaping (text and attributes); every
# name that becomes a file goes through files.file_stem and is URL-quoted in links.
_TEMPLATES = {
    "macros": """{% macro table(t) -%}
<table class='sortable' id='{{ t.id }}'><thead><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for text, href in row %}<td>{% if href %}<a href='{{ href }}'>{{ text }}</a>
{%- else %}{{ text }}{% endif %}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{%- endmacro %}
{% macro matrix(m) -%}
<table class='matrix' id='{{ m.id }}'><thead><tr><th>source \\ target</th>{% for c in m.columns %}<th>{{ c }}</th>
{%- endfor %}</tr></thead><tbody>{% for name, cells in m.rows %}<tr><th>{{ name }}</th>{% for text, cls in cells %}
<td{% if cls %} class='{{ cls }}'{% endif %}>{{ text }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{%- endmacro %}
{% macro figure(png, alt, prefix='') -%}
<figure><img src='{{ prefix }}figures/{{ png }}' alt='{{ alt }}'><figcaption>{{ alt }} &middot;
<a href='{{ prefix }}figures/{{ png | replace(".png", ".svg") }}'>SVG</a></figcaption></figure>
{%- endmacro %}
{% macro downloads(files, prefix='') -%}
<p>Download: {% for name, href in files %}<a href='{{ prefix }}{{ href }}'>{{ name }}</a>{% if not loop.last %} &middot;
{% endif %}{% endfor %}</p>
{%- endmacro %}""",
    "page": """<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{{ title }}</title>
<style>{{ style | safe }}</style></head><body>{% block body %}{% endblock %}
<footer>made by tstransfer {{ footer.version }} on {{ footer.date }} with <code>{{ footer.command }}</code></footer>
<script>{{ script | safe }}</script></body></html>
""",
    "target": """{% extends "page" %}{% import "macros" as m %}{% block body %}
<p><a href='../index.html'>&larr; report</a></p><h1>{{ target }}</h1>
{{ m.table(facts) }}
<p>no transfer: <b>{{ no_transfer }}</b> &middot; most similar source (K_1): <b>{{ k1_source }}</b> ({{ k1 }})
&middot; best source: <b>{{ best_source }}</b> ({{ best }}){% if seeds %} &middot; means over seeds
{{ seeds }}{% endif %}</p>
<h2>Accuracy against source similarity</h2>{{ m.figure(acc_png, 'accuracy against source similarity', '../') }}
{% if loss_png %}<h2>Loss with and without transfer</h2>{{ m.figure(loss_png, 'loss curves', '../') }}{% endif %}
{% if proto_png %}<h2>Class prototypes (Algorithm 1)</h2>{{ m.figure(proto_png, 'class prototypes', '../') }}{% endif %}
<h2>Sources</h2><p>Distance: Algorithm 1's DTW distance between the class prototypes (smaller: more similar).</p>
{{ m.table(sources) }}{{ m.downloads(files, '../') }}
{% endblock %}""",
    "index": """{% extends "page" %}{% import "macros" as m %}{% block body %}
<h1>tstransfer report</h1>
{% if collapsed %}<p class='note' id='collapsed'><b>Collapsed baselines:</b> these no-transfer models score at or
below always answering their majority class, so every variation against them is inflated: {{ collapsed | join(', ') }}.
Train longer, or with the practical recipe (<code>--recipe practical</code>).</p>{% endif %}
{% if deviations %}<p class='note'><b>Deviates from the paper's recipe:</b> {{ deviations }}</p>{% endif %}
{% if seeds %}<p class='note'><b>{{ seeds | length }} seeds</b> ({{ seeds | join(', ') }}): every accuracy is the mean
over them, &plusmn; the sample standard deviation; wins, draws and losses compare the means.</p>{% endif %}
<p>{{ n_sources }} sources, {{ n_targets }} targets, {{ s.pairs }} pairs: {{ s.improved }} improved,
{{ s.unchanged }} {{ 'drawn' if tie_band else 'unchanged' }}, {{ s.degraded }} degraded; mean change
{{ "%+.2f" % s.mean_change_points }} accuracy points, median variation {{ "%+.2f" % s.median_variation_pct }}%.
A draw: {{ draw_rule }}.</p>
<h2>Choosing the source</h2>
<p>Expected values for the random source: the mean over the other sources; "target in pool" also draws the
target itself, counted as accuracy 0, as the authors' code drew it (their "71 out of 85" counts so).
W/D/L and the Wilcoxon signed-rank test are against no transfer.
Medians and mean ranks are shown because one broken baseline can dominate % averages.</p>
{% if few %}<p class='note' id='few-targets'><b>Only {{ n_targets }} targets:</b> the Wilcoxon p-values and the
critical-difference diagram need about {{ few_limit }} or more targets to say much; read them as indications.</p>
{% endif %}
{{ m.table(selection) }}{{ m.figure('selection.png', 'wins, draws and losses per way of choosing the source') }}
{% for png, alt in scatters %}{{ m.figure(png, alt) }}{% endfor %}
{% if strategies %}<h3>Selection strategies, leave-one-target-out (tstransfer evaluate-selection)</h3>
<p>Each target chooses among the other datasets' models from its training set only; oracle_gain_share: the
share of the best source's mean gain over no transfer. MiniRocket (aeon), trained on each target's own split,
is the reference a practitioner would try first.</p>{{ m.table(strategies) }}{% endif %}
{% if cd %}<h3>Critical difference diagram (Wilcoxon, Holm)</h3>{{ m.figure('cd_diagram.png', 'critical difference
diagram') }}{% endif %}
{% if not similarity %}<p class='note'>No similarity table: K_1 is missing and sources are ordered by accuracy.
Run <code>tstransfer similarity</code> for Algorithm 1.</p>{% endif %}
<h2>Accuracy after transfer</h2><p>Rows: source, columns: target (test accuracy after fine-tuning{% if seeds %},
mean &plusmn; std over the seeds{% endif %}).</p>{{ m.matrix(accuracy) }}
<h2>Accuracy without transfer</h2>{{ m.table(baseline) }}
<h2>Accuracy variation</h2>{{ m.figure('variation_heatmap.png', 'accuracy variation heatmap') }}
{{ m.downloads(files) }}
<h2>Targets</h2>{{ m.table(targets) }}
<h2>Settings</h2>{{ m.table(settings) }}
{% endblock %}""",
}


def _render(template: str, footer: dict | None = None, **values) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)
    footer = footer or {"version": "", "date": "", "command": ""}
    return env.get_template(template).render(style=_STYLE, script=_SCRIPT, footer=footer, **values)


def _fmt(value, digits=4) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _pm(mean, std, digits=4) -> str:
    """'mean ± std' (the mean alone without a spread)."""
    text = _fmt(mean, digits)
    if text and std is not None and isinstance(std, (float, np.floating)) and not np.isnan(std):
        text += f" ± {std:.{digits}f}"
    return text


def _table(frame: pd.DataFrame, table_id: str, links: dict[str, str] | None = None,
           cell_links: dict[tuple[int, str], str] | None = None) -> dict:
    """A table for the template: formatted cells (escaped there); the first column linked via `links`, any
    cell via `cell_links` {(row number, column): href}."""
    rows = []
    for r, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for i, (column, value) in enumerate(row.items()):
            href = links.get(str(value)) if i == 0 and links else None
            cells.append((_fmt(value), (cell_links or {}).get((r, column), href)))
        rows.append(cells)
    return {"id": table_id, "columns": [str(c) for c in frame.columns], "rows": rows}


def _matrix(accuracy: pd.DataFrame, std: pd.DataFrame | None) -> dict:
    """The accuracy matrix for the template: one row per source, one cell per target (N x N cells)."""
    rows = []
    for source in accuracy.index:
        cells = []
        for target in accuracy.columns:
            spread = std.at[source, target] if std is not None else None
            cells.append((_pm(accuracy.at[source, target], spread), "self" if source == target else ""))
        rows.append((source, cells))
    return {"id": "accuracy-matrix", "columns": [str(c) for c in accuracy.columns], "rows": rows}


def _url(file_name: str) -> str:
    return quote(file_name)


def _link_to(path: Path, page_dir: Path) -> str:
    """A relative, URL-quoted link from a page in `page_dir` to a file (a study's model or history)."""
    return _url(os.path.relpath(Path(path).resolve(), Path(page_dir).resolve()).replace(os.sep, "/"))


def _settings_rows(settings: dict, seeds: list[int]) -> pd.DataFrame:
    """The recipe and the study's settings as rows people read (nested settings flattened, lists joined); a study
    of several seeds shows them all (its `seed` setting is only the first, whose runs keep the plain layout)."""
    if len(seeds) > 1:
        settings = {("seeds" if k == "seed" else k): (seeds if k == "seed" else v) for k, v in settings.items()}
    rows = []

    def flatten(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                flatten(f"{prefix}: {k}" if prefix else k, v)
        else:
            rows.append((prefix, value))

    flatten("", settings)

    def text(value) -> str:
        if isinstance(value, (list, tuple)):
            return "; ".join(map(str, value)) if value else "none"
        return "none" if value is None else str(value)

    return pd.DataFrame({"setting": [k for k, _ in rows], "value": [text(v) for _, v in rows]})


def _history(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path) if path is not None and Path(path).is_file() else None


def ranked_sources(inputs: ReportInputs, target: str) -> pd.DataFrame:
    """The target's sources with their accuracy, ordered by similarity (or by accuracy without similarity)."""
    columns = ["rank", "source", "distance", "accuracy", "accuracy_std", "variation_pct"]
    column = inputs.accuracy[target].drop(target, errors="ignore").dropna() if target in inputs.accuracy else None
    if column is None or column.empty:
        return pd.DataFrame(columns=columns)
    if inputs.neighbours is not None and target in inputs.neighbours.index:
        order = [s for s in inputs.neighbours.loc[target].dropna() if s in column.index]
        order += [s for s in column.index if s not in order]
    else:
        order = list(column.sort_values(ascending=False).index)
    base = inputs.baseline.get(target, np.nan)
    distance = [inputs.distances.loc[target, s] if inputs.distances is not None and target in inputs.distances.index
                and s in inputs.distances.columns else np.nan for s in order]
    std = [inputs.accuracy_std.at[s, target] if inputs.accuracy_std is not None else np.nan for s in order]
    return pd.DataFrame({"rank": range(1, len(order) + 1), "source": order, "distance": distance,
                         "accuracy": [column[s] for s in order], "accuracy_std": std,
                         "variation_pct": [100 * (column[s] - base) / base if base else np.nan for s in order]},
                        columns=columns)


def plot_loss(inputs: ReportInputs, target: str, sources: list[str] | None, path: str | Path) -> Path:
    """Fig. 1 for one target: from scratch vs fine-tuned from `sources` (default: most and least similar)."""
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
    note = f" (seed {inputs.seeds[0]})" if len(inputs.seeds) > 1 else ""
    return figures.loss_curves(target, scratch, transfers, path, note=note)


def _footer(command: str | None) -> dict:

    return {"version": __version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": command or "tstransfer.report.write_report (Python)"}


def _prototype_figure(inputs: ReportInputs, target: str, path: Path) -> Path | None:
    """The target's class prototypes over its training series, when the study has both."""
    if inputs.study is None or inputs.archive is None:
        return None
    try:
        npz = StudyPaths(inputs.study).prototype_file(target)
        if not npz.is_file():
            return None
        return figures.prototypes(load_dataset(target, inputs.archive), read_prototypes(npz), path)
    except TSTransferError:  # the data moved or the cache is damaged: the page goes without the figure
        return None


def _target_page(inputs: ReportInputs, target: str, per_target: pd.DataFrame, out: Path, stem: str,
                 footer: dict) -> None:
    fig_dir, page_dir = out / "figures", out / "targets"
    ranked = ranked_sources(inputs, target)
    atomic_write_text(page_dir / f"{stem}.csv", csv_text(ranked, index=False))
    acc_png, loss_png, proto_png = f"{stem}_acc.png", None, None
    figures.accuracy_vs_similarity(target, ranked, inputs.baseline.get(target), fig_dir / acc_png)
    if inputs.histories and any(k[1] == target for k in inputs.histories):
        try:
            plot_loss(inputs, target, None, fig_dir / f"{stem}_loss.png")
            loss_png = f"{stem}_loss.png"
        except TSTransferError:
            pass
    if _prototype_figure(inputs, target, fig_dir / f"{stem}_prototypes.png") is not None:
        proto_png = f"{stem}_prototypes.png"
    links: dict[tuple[int, str], str] = {}
    table = ranked.assign(accuracy=[_pm(a, s) for a, s in zip(ranked.accuracy, ranked.accuracy_std)])
    table = table.drop(columns="accuracy_std").assign(model="", history="")
    if inputs.runs is not None and inputs.study is not None:
        runs = inputs.runs[(inputs.runs.target == target) & (inputs.runs.kind == "transfer")]
        files = {r.source: r for r in runs.itertuples()}
        for i, source in enumerate(table.source):
            if source in files:
                table.loc[i, ["model", "history"]] = ["model", "history"]
                links[(i, "model")] = _link_to(inputs.study / files[source].model_path, page_dir)
                links[(i, "history")] = _link_to(inputs.study / files[source].history_path, page_dir)
    facts = dataset_facts(target, inputs.archive)
    facts_table = pd.DataFrame([{"fact": k.replace("_", " "), "value": v} for k, v in facts.items()]
                               or [{"fact": "facts", "value": "unknown (not in the archive nor the UCR table)"}])
    row = per_target.loc[target]
    spread = inputs.baseline_std()
    base_std = np.nan if spread is None else float(spread.get(target, np.nan))
    downloads = [("sources of this target (CSV)", "targets/" + _url(f"{stem}.csv"))]
    if inputs.study is not None and ("", target) in inputs.histories:
        downloads.append(("no-transfer history (CSV)", "targets/" + _link_to(inputs.histories[("", target)],
                                                                              page_dir)))
    page = _render("target", footer, title=f"{target} - tstransfer", target=target,
                   facts=_table(facts_table, "facts"), no_transfer=_pm(inputs.baseline.get(target, np.nan), base_std),
                   k1_source=str(row["k1_source"]) or "n/a", k1=_fmt(row[K1]), best_source=row["best_source"],
                   best=_fmt(row[BEST]), seeds=", ".join(map(str, inputs.seeds)) if len(inputs.seeds) > 1 else "",
                   acc_png=_url(acc_png), loss_png=loss_png and _url(loss_png),
                   proto_png=proto_png and _url(proto_png), sources=_table(table, "sources", cell_links=links),
                   files=downloads)
    atomic_write_text(page_dir / f"{stem}.html", page)


def refresh_study_report(study: str | Path) -> Path | None:
    """Rewrite a study's own report (STUDY/report) when it has one, e.g. once evaluate-selection added its
    table; None when it has none."""
    paths = StudyPaths(study)
    if not paths.report_index.is_file():
        return None
    return write_report(inputs_from_study(study), paths.report, progress=False)


def write_report(inputs: ReportInputs, out: str | Path, progress: bool = True, tie_band: float = 0.0,
                 command: str | None = None) -> Path:
    """Write DIR/index.html, DIR/targets/<T>.html (+ its sources CSV), DIR/figures/*.png and *.svg, and the
    tables as CSV: accuracy and variation matrices, no-transfer accuracies, the selection study. `tie_band`:
    accuracy points within which a difference is a draw (0: the paper's exact equality). `command`: what made
    the report (shown in its footer)."""
    out = Path(out)
    fig_dir = out / "figures"
    if inputs.accuracy.empty:
        raise TSTransferError("no transfer results to report (the accuracy matrix is empty)")
    footer = _footer(command)
    per_target = selection_per_target(inputs.accuracy, inputs.baseline, inputs.neighbours)
    selection = selection_table(per_target, tie_band)
    variation = variation_matrix(inputs.accuracy, inputs.baseline)
    tables = {"accuracy_matrix.csv": inputs.accuracy, "no_transfer.csv": inputs.baseline,
              "variation_matrix.csv": variation, "selection.csv": selection,
              "selection_per_target.csv": per_target}
    if len(inputs.seeds) > 1:
        tables.update({"accuracy_std.csv": inputs.accuracy_std, "variation_std.csv": inputs.variation_std,
                       "no_transfer_per_seed.csv": inputs.baseline_per_seed})
    for name, table in tables.items():
        atomic_write_text(out / name, csv_text(table, index=name != "selection.csv"))
    summary = summarize(inputs.accuracy, inputs.baseline, tie_band)

    figures.variation_heatmap(variation, fig_dir / "variation_heatmap.png")
    figures.selection_summary(selection, fig_dir / "selection.png")
    cd = figures.critical_difference(per_target[STRATEGIES].dropna(axis=1, how="all"), fig_dir / "cd_diagram.png")
    scatters = []
    for strategy, png in ((K1, "scatter_k1.png"), (BEST, "scatter_best.png")):
        pair = per_target[[strategy, NO_TRANSFER]].dropna()
        if figures.pairwise_scatter(pair[NO_TRANSFER], pair[strategy], NO_TRANSFER, strategy, fig_dir / png):
            scatters.append((png, f"accuracy with transfer ({strategy}) against without, one point per target"))

    targets = list(per_target.index)
    stems = {t: file_stem(t) for t in targets}
    for target in tqdm(targets, desc="report", unit="target", disable=not progress, dynamic_ncols=True):
        _target_page(inputs, target, per_target, out, stems[target], footer)

    base = inputs.baseline.rename("no transfer").to_frame()
    collapsed = []
    if inputs.majority is not None:
        base["majority class"] = inputs.majority.reindex(base.index)
        base["collapsed"] = ["yes" if at_or_below_majority(a, m) else "" for a, m in
                             zip(base["no transfer"], base["majority class"])]
        collapsed = [f"{name} ({a:.3f} ≤ {m:.3f})" for name, a, m in
                     zip(base.index, base["no transfer"], base["majority class"]) if at_or_below_majority(a, m)]
    if inputs.baseline_per_seed is not None:
        base["std"] = inputs.baseline_std().reindex(base.index)
        for seed in inputs.baseline_per_seed.columns:
            base[f"seed {seed}"] = inputs.baseline_per_seed[seed].reindex(base.index)
    overview = per_target.reset_index()[["target", NO_TRANSFER, "k1_source", K1, "best_source", BEST, WORST]]
    files = [(name, _url(name)) for name in tables]
    draw_rule = (f"within {tie_band:g} accuracy points (--tie-band)" if tie_band
                 else "equal accuracy after rounding to 6 decimals (the paper's rule; --tie-band widens it)")
    page = _render("index", footer, title="tstransfer report",
                   deviations="; ".join(inputs.settings.get("deviations_from_paper", [])),
                   seeds=inputs.seeds if len(inputs.seeds) > 1 else [], tie_band=tie_band, draw_rule=draw_rule,
                   collapsed=collapsed, n_sources=len(inputs.accuracy.index),
                   n_targets=len(inputs.accuracy.columns), s=summary,
                   few=len(per_target) < FEW_TARGETS, few_limit=FEW_TARGETS,
                   selection=_table(selection, "selection"), scatters=scatters,
                   strategies=None if inputs.strategies is None else _table(inputs.strategies, "strategies"),
                   cd=cd is not None, similarity=inputs.neighbours is not None,
                   accuracy=_matrix(inputs.accuracy, inputs.accuracy_std if len(inputs.seeds) > 1 else None),
                   baseline=_table(base.reset_index(), "baseline"), files=files,
                   targets=_table(overview, "targets", {t: "targets/" + _url(f"{stems[t]}.html") for t in targets}),
                   settings=_table(_settings_rows(inputs.settings, inputs.seeds), "settings"))
    return atomic_write_text(out / "index.html", page)
