"""Figures: every plot writes a PNG and an SVG atomically, draws names from data literally, and declines to
draw what needs more data than it has."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from tstransfer import figures
from tstransfer.data import load_dataset

HOSTILE = "$\\frac{x}{$ <b>&"  # mathtext that would fail to parse, and HTML


def _drawn(path) -> np.ndarray:
    """The PNG's pixels, after checking its SVG twin exists; nothing temporary left beside them."""
    assert path.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert not [p for p in path.parent.iterdir() if p.suffix not in (".png", ".svg")]
    pixels = image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    return pixels


def _history(scale: float) -> pd.DataFrame:
    epochs = np.arange(1, 21)
    return pd.DataFrame({"epoch": epochs, "train_loss": scale / epochs, "test_loss": 2 * scale / epochs})


def test_loss_curves_and_accuracy_vs_similarity(tmp_path):
    path = figures.loss_curves(HOSTILE, _history(1.0), {HOSTILE: _history(0.5), "B": _history(0.8)},
                               tmp_path / "loss.png")
    assert _drawn(path).std() > 0  # not a blank image
    ranked = pd.DataFrame({"rank": [1, 2, 3], "source": [HOSTILE, "B", "C"], "accuracy": [0.9, np.nan, 0.7]})
    assert _drawn(figures.accuracy_vs_similarity(HOSTILE, ranked, 0.8, tmp_path / "acc.png")).std() > 0


def test_variation_heatmap_with_a_broken_baseline(tmp_path):
    names = ["A", "B", HOSTILE]
    variation = pd.DataFrame([[np.nan, 5.0, -3.0], [1e6, np.nan, 2.0], [-4.0, 0.0, np.nan]], index=names,
                             columns=names)  # one huge value must not wash out the others
    _drawn(figures.variation_heatmap(variation, tmp_path / "heat.png"))


def test_selection_summary_critical_difference_and_scatter(tmp_path):
    table = pd.DataFrame({"strategy": ["no transfer", "K_1", "oracle"], "wins": [0, 3, 5], "draws": [0, 1, 0],
                          "losses": [0, 2, 1], "mean_accuracy": [0.8, 0.82, 0.9], "median_accuracy": [0.8, 0.8, 0.9]})
    _drawn(figures.selection_summary(table, tmp_path / "sel.png"))
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.uniform(0.5, 1, (6, 3)), columns=["K_1", "oracle", HOSTILE])
    _drawn(figures.critical_difference(scores, tmp_path / "cd.png"))
    _drawn(figures.pairwise_scatter(scores["K_1"], scores["oracle"], "K_1", "oracle", tmp_path / "pair.png"))


def test_figures_that_need_two_targets_decline_with_one(tmp_path):
    one = pd.DataFrame({"K_1": [0.9], "oracle": [0.95]})
    assert figures.critical_difference(one, tmp_path / "cd.png") is None
    assert figures.pairwise_scatter(one["K_1"], one["oracle"], "K_1", "oracle", tmp_path / "pair.png") is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["GunPoint", "SyntheticControl"])  # 2 and 6 classes: one row, two rows
def test_prototypes_over_training_series(tmp_path, mini_archive, name):
    dataset = load_dataset(name, mini_archive)
    protos = [dataset.X_train[dataset.y_train == c].mean(0) for c in range(dataset.n_classes)]
    _drawn(figures.prototypes(dataset, protos, tmp_path / f"{name}.png"))


def _text_boxes(fig) -> list[tuple[str, object]]:
    """Every text a rendered figure shows (tick labels only where their tick is in view), with its box in pixels."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ticks = set()
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks():
                if not min(low, high) <= tick.get_loc() <= max(low, high):
                    ticks.update({id(tick.label1), id(tick.label2)})
    return [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in ticks]


def test_the_pairwise_scatter_has_no_overlapping_text(tmp_path, monkeypatch):
    """aeon's p-values and its "*Dashed lines represent the median" note sat on the x label (issue 30): measured on
    the rendered figure, no two texts overlap."""
    seen = {}
    save = figures._save

    def keep(fig, path, dpi=110):
        seen["boxes"] = _text_boxes(fig)
        return save(fig, path, dpi)

    monkeypatch.setattr(figures, "_save", keep)
    rng = np.random.default_rng(0)
    a = pd.Series(rng.uniform(0.6, 1, 12))
    b = pd.Series(np.clip(a + rng.normal(0, 0.05, 12), 0, 1))
    _drawn(figures.pairwise_scatter(a, b, "K_1", "oracle", tmp_path / "pair.png"))
    boxes = seen["boxes"]
    texts = [text for text, _ in boxes]
    assert any(t.startswith("Wilcoxon") for t in texts) and any(t.startswith("*Dashed") for t in texts)
    overlaps = [(boxes[i][0], boxes[j][0]) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                if boxes[i][1].overlaps(boxes[j][1])]
    assert overlaps == []
