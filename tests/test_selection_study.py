"""The paper's selection study (pure pandas): each strategy's accuracy per target, and wins / draws / losses
with the Wilcoxon test against no transfer, on matrices whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tstransfer.selection_study import (
    BEST,
    K1,
    NO_TRANSFER,
    RANDOM,
    RANDOM_SELF,
    WORST,
    selection_per_target,
    selection_table,
)

NAMES = ["A", "B", "C", "D"]


@pytest.fixture
def known():
    acc = pd.DataFrame([[np.nan, 0.9, 0.5, 0.7],
                        [0.8, np.nan, 0.6, 0.7],
                        [0.6, 0.7, np.nan, 0.9],
                        [0.7, 0.8, 0.6, np.nan]], index=NAMES, columns=NAMES)
    base = pd.Series({"A": 0.7, "B": 0.8, "C": 0.6, "D": 0.7})
    neighbours = pd.DataFrame([["B", "C", "D"], ["D", "A", "C"], ["A", "B", "D"], ["C", "A", "B"]], index=NAMES,
                              columns=["K_1", "K_2", "K_3"])
    return acc, base, neighbours


def test_selection_per_target_strategies(known):
    acc, base, neighbours = known
    t = selection_per_target(acc, base, neighbours)
    assert t.loc["A", K1] == 0.8 and t.loc["A", "k1_source"] == "B"
    assert t.loc["B", K1] == 0.8 and t.loc["C", K1] == 0.5 and t.loc["D", K1] == 0.9
    assert t.loc["A", RANDOM] == pytest.approx((0.8 + 0.6 + 0.7) / 3)
    assert t.loc["A", RANDOM_SELF] == pytest.approx((0.8 + 0.6 + 0.7 + 0.0) / 4)  # the target's own cell counts 0
    assert t.loc["B", BEST] == 0.9 and t.loc["B", WORST] == 0.7 and t.loc["C", NO_TRANSFER] == 0.6


def test_selection_table_counts_and_wilcoxon(known):
    acc, base, neighbours = known
    table = selection_table(selection_per_target(acc, base, neighbours)).set_index("strategy")
    # K_1 vs no transfer: A 0.8>0.7 win, B 0.8=0.8 draw, C 0.5<0.6 loss, D 0.9>0.7 win
    assert tuple(table.loc[K1, ["wins", "draws", "losses"]]) == (2, 1, 1)
    assert table.loc[K1, "mean_accuracy"] == pytest.approx(0.75)
    assert table.loc[K1, "median_accuracy"] == pytest.approx(0.8)
    # oracle never loses
    assert tuple(table.loc[BEST, ["wins", "draws", "losses"]]) == (3, 1, 0)  # C: best source = baseline
    assert table.loc[RANDOM_SELF, "losses"] == 4
    # the worst source: 3 losses, 1 draw (D); the draw is dropped, exact two-sided Wilcoxon p = 2 / 2^3
    assert tuple(table.loc[WORST, ["wins", "draws", "losses"]]) == (0, 1, 3)
    assert table.loc[WORST, "wilcoxon_p"] == pytest.approx(2 / 8)
    assert np.isnan(table.loc[NO_TRANSFER, "wilcoxon_p"])
    assert table.loc[BEST, "mean_rank"] < table.loc[NO_TRANSFER, "mean_rank"] < table.loc[RANDOM_SELF, "mean_rank"]


def test_draws_are_equal_after_rounding_to_6_decimals():
    acc = pd.DataFrame([[np.nan, 0.5 + 4e-7], [0.5 - 1e-5, np.nan]], index=["A", "B"], columns=["A", "B"])
    base = pd.Series({"A": 0.5, "B": 0.5})
    table = selection_table(selection_per_target(acc, base)).set_index("strategy")
    assert tuple(table.loc[RANDOM, ["wins", "draws", "losses"]]) == (0, 1, 1)
