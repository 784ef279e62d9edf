"""The paper's figures, with matplotlib (Agg): loss curves with and without transfer (Fig. 1), accuracy
against source similarity (Figs. 6-8), the accuracy-variation heatmap (Fig. 9), and the source-selection
study. Every function writes one PNG atomically and returns its path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from .files import atomic_path  # noqa: E402


def literal_text(plot):
    """Names from data are drawn as they are: '$' in a dataset name must not start mathtext (a hostile name
    could make the figure fail to render)."""
    import functools

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with plt.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)

    return wrapper


def _save(fig, path: str | Path, dpi: int = 110) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


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
    ax.plot(ranked["rank"], ranked["accuracy"], "o", color="C0", markersize=4, label="accuracy after transfer")
    ax.plot(ranked["rank"], ranked["accuracy"].expanding().mean(), "-", color="C1", label="mean of the top-k sources")
    if no_transfer is not None and not np.isnan(no_transfer):
        ax.axhline(no_transfer, color="black", linestyle="--", linewidth=1, label="no transfer")
    if len(ranked) <= 12:
        ax.set_xticks(ranked["rank"])
        ax.set_xticklabels([f"{r}. {s}" for r, s in zip(ranked["rank"], ranked["source"])], fontsize=7,
                           rotation=35, ha="right")
    ax.set_xlabel("source, by similarity rank (1 = most similar)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{target}: accuracy against source similarity", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
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
            if np.isfinite(v):
                ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7)
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
    from aeon.visualisation import plot_critical_difference

    scores = scores.dropna()
    if len(scores) < 2 or scores.shape[1] < 2:
        return None
    fig, _ = plot_critical_difference(scores.to_numpy(), list(scores.columns), test="wilcoxon", correction="holm")
    return _save(fig, path)
