"""The paper's figures, with matplotlib (Agg): loss curves with and without transfer (Fig. 1), accuracy
against source similarity (Figs. 6-8), the accuracy-variation heatmap (Fig. 9), and the source-selection
study, the pairwise scatter of two ways against each other. Every function writes a PNG and the same figure
as SVG (vector, for papers) beside it, atomically, and returns the PNG's path."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from .files import atomic_path  # noqa: E402


def literal_text(plot):
    """Names from data are drawn as they are: '$' in a dataset name must not start mathtext (a hostile name
    could make the figure fail to render)."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with plt.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)

    return wrapper


def _save(fig, path: str | Path, dpi: int = 110) -> Path:
    """`path` (PNG) and `path` with .svg, both written atomically; the figure is closed."""
    path = Path(path)
    try:
        for target, fmt in ((path, "png"), (path.with_suffix(".svg"), "svg")):
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


@literal_text
def loss_curves(target: str, scratch: pd.DataFrame | None, transfers: dict[str, pd.DataFrame],
                path: str | Path, note: str = "") -> Path:
    """Training and test loss per epoch: from scratch (black) and fine-tuned from each source (colours)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    curves = ([("no transfer", scratch, "black")] if scratch is not None else []) + [
        (f"from {source}", h, f"C{i}") for i, (source, h) in enumerate(transfers.items())]
    for ax, column, title in ((axes[0], "train_loss", "training loss"), (axes[1], "test_loss", "test loss")):
        for label, history, color in curves:
            data = history[["epoch", column]].dropna()
            ax.plot(data["epoch"], data[column], label=label, color=color, linewidth=1.2)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    # plain numbers on the log axis (its default labels are mathtext, which literal_text turns off); the
    # in-between ticks are labelled only when the curves span less than a decade, else they crowd
    low, high = axes[0].get_ylim()
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.3g}") if high < 10 * low else NullFormatter())
    axes[0].set_ylabel("cross-entropy (log scale)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{target}: loss with and without transfer{note}", fontsize=11)
    return _save(fig, path)


@literal_text
def accuracy_vs_similarity(target: str, ranked: pd.DataFrame, no_transfer: float | None, path: str | Path) -> Path:
    """Accuracy after transfer from each source, sources in order of similarity (rank 1 = most similar),
    with the running mean of the top-k sources and the no-transfer accuracy as a reference line.
    `ranked` has columns rank, source, accuracy."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.16 * len(ranked) + 3), 3.6))
    ax.plot(ranked["rank"], ranked["accuracy"].expanding().mean(), "-", color="C1", label="mean of the top-k sources",
            zorder=1)
    ax.plot(ranked["rank"], ranked["accuracy"], "o", color="C0", markersize=4, label="accuracy after transfer",
            zorder=2)
    if len(ranked):  # rank 1 (K_1) drawn on top of everything, large enough to see
        ax.plot(ranked["rank"].iloc[:1], ranked["accuracy"].iloc[:1], "*", color="C3", markersize=13,
                markeredgecolor="black", label=f"rank 1: {ranked['source'].iloc[0]}", zorder=3)
    if no_transfer is not None and not np.isnan(no_transfer):
        ax.axhline(no_transfer, color="black", linestyle="--", linewidth=1, label="no transfer", zorder=0)
    values = ranked["accuracy"].dropna().tolist() + ([no_transfer] if no_transfer is not None else [])
    values = [v for v in values if not np.isnan(v)]
    if values:  # a margin so no point sits on the frame
        low, high = min(values), max(values)
        pad = max(0.02, 0.08 * (high - low))
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(0.5, max(1, len(ranked)) + 0.5)
    if len(ranked) <= 12:
        ax.set_xticks(ranked["rank"])
        ax.set_xticklabels([f"{r}. {s}" for r, s in zip(ranked["rank"], ranked["source"])], fontsize=7,
                           rotation=35, ha="right")
    ax.set_xlabel("source, by similarity rank (1 = most similar)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{target}: accuracy against source similarity", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # off the data
    return _save(fig, path)


@literal_text
def variation_heatmap(variation: pd.DataFrame, path: str | Path, clip_percentile: float = 98) -> Path:
    """Sources (rows) x targets (columns), diverging colours centred on 0. The colour scale is clipped at a
    high percentile of |variation| so one broken baseline does not wash out the rest (the bar says so)."""
    n = max(variation.shape)
    values = variation.to_numpy(dtype=float)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, clip_percentile)) if finite.size else 1.0
    limit = max(limit, 1e-6)
    size = max(5.0, 0.16 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", norm=TwoSlopeNorm(0, -limit, limit),
                      aspect="auto", interpolation="nearest")
    font = max(3.5, min(9.0, 260 / n))
    ax.set_xticks(range(variation.shape[1]))
    ax.set_xticklabels(variation.columns, rotation=90, fontsize=font)
    ax.set_yticks(range(variation.shape[0]))
    ax.set_yticklabels(variation.index, fontsize=font)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    if n <= 12:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):  # white on the dark ends of the scale, black on the light middle
                color = "white" if abs(v) > 0.55 * limit else "black"
                ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7, color=color)
    bar = fig.colorbar(image, ax=ax, extend="both", shrink=0.8)
    bar.set_label(f"accuracy variation % (colours clipped at ±{limit:.1f})")
    ax.set_title("Accuracy variation after transfer (blue: better, red: worse)", fontsize=10)
    return _save(fig, path)


@literal_text
def selection_summary(table: pd.DataFrame, path: str | Path) -> Path:
    """Per strategy: wins / draws / losses against no transfer (bars) and mean accuracy (labels)."""
    table = table[table.strategy != "no transfer"]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(table) + 1.5))
    y = np.arange(len(table))
    left = np.zeros(len(table))
    for column, color in (("wins", "#2b8cbe"), ("draws", "#bdbdbd"), ("losses", "#de2d26")):
        values = table[column].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=color, label=column)
        left += values
    for i, row in enumerate(table.itertuples()):
        ax.text(left[i] + 0.2, i, f"mean {row.mean_accuracy:.3f}, median {row.median_accuracy:.3f}", va="center",
                fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(table.strategy, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.9 if left.max() else 1)
    ax.set_xlabel("targets: wins / draws / losses against no transfer")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Choosing the source", fontsize=10)
    return _save(fig, path)


@literal_text
def critical_difference(scores: pd.DataFrame, path: str | Path) -> Path | None:
    """aeon's critical-difference diagram of the strategies' per-target accuracies (needs >= 2 targets)."""
    from aeon.visualisation import plot_critical_difference  # aeon loads numba: seconds

    scores = scores.dropna()
    if len(scores) < 2 or scores.shape[1] < 2:
        return None
    fig, _ = plot_critical_difference(scores.to_numpy(), list(scores.columns), test="wilcoxon", correction="holm")
    return _save(fig, path)


@literal_text
def prototypes(dataset, class_prototypes: list[np.ndarray], path: str | Path, per_class: int = 3) -> Path:
    """Algorithm 1's class prototypes of a dataset (thick) over a few of each class's training series (thin)."""
    n = dataset.n_classes
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False, sharey=True)
    for y, ax in enumerate(axes.flat):
        if y >= n:
            ax.axis("off")
            continue
        for i in np.flatnonzero(dataset.y_train == y)[:per_class]:
            ax.plot(dataset.X_train[i, 0, : dataset.len_train[i]], color="0.6", linewidth=0.8)
        ax.plot(class_prototypes[y][0], color="C3", linewidth=2, label="DBA prototype")
        ax.set_title(f"class {dataset.classes[y]}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset.name}: class prototypes (red) and training series (grey)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


@literal_text
def pairwise_scatter(a: pd.Series, b: pd.Series, name_a: str, name_b: str, path: str | Path) -> Path | None:
    """aeon's pairwise scatter: one point per target, the accuracies of `a` and `b` against each other with the
    diagonal (aeon puts the better of the two on the y axis) and their Wilcoxon and paired t-test p-values;
    None (no figure) with fewer than 2 targets."""
    from aeon.visualisation import plot_pairwise_scatter  # aeon loads numba: seconds

    if len(a) < 2:
        return None
    fig, ax = plot_pairwise_scatter(np.asarray(a, dtype=float), np.asarray(b, dtype=float), name_a, name_b,
                                    statistic_tests=len(a) >= 3, figsize=(6, 6))
    legend = ax.get_legend()
    if legend is not None:  # aeon puts its legend over the x label on small figures: move it above the axes
        legend.set_bbox_to_anchor((0.0, 1.02, 1.0, 0.1), transform=ax.transAxes)
        legend.set_loc("lower left")
    # aeon's notes (the p-values; "*Dashed lines represent the median", an AnchoredText) sit on the x label: set
    # them in a band of their own below the axes (tests/test_figures.py checks that no two texts overlap)
    from matplotlib.offsetbox import AnchoredText

    for artist in [a for a in ax.artists if isinstance(a, AnchoredText)]:
        text = artist.txt.get_children()[0].get_text()
        if text.startswith("*Dashed"):
            fig.text(0, 0, text, fontsize=8)
            artist.remove()
        elif text.startswith(("Wilcoxon", "Paired")):
            fig.text(0, 0, text, fontsize=10, bbox={"boxstyle": "round", "facecolor": "wheat", "alpha": 0.5})
            artist.remove()
    notes = [t for t in [*ax.texts, *fig.texts] if t.get_text().startswith(("*Dashed", "Wilcoxon", "Paired"))]
    lines = sum(1 + t.get_text().count("\n") for t in notes)
    band = 0.045 * lines + 0.02  # of the figure's height, added below the 6-inch square of the plot
    fig.set_size_inches(6, 6 * (1 + band))
    fig.set_layout_engine("none")  # aeon's tight layout would undo the band at drawing time
    bottom = (0.15 + band) / (1 + band)
    ax.set_position((0.14, bottom, 0.81, 0.9 - bottom))
    y = 0.01
    for note in sorted(notes, key=lambda t: t.get_text().startswith("*")):
        note.set_transform(fig.transFigure)
        note.set_position((0.5, y))
        note.set_horizontalalignment("center")
        note.set_verticalalignment("bottom")
        y += (0.045 * (1 + note.get_text().count("\n")) + 0.01) / (1 + band)
    return _save(fig, path)
