"""The paper's source-selection study on an accuracy matrix: for each target, no transfer against the most
similar source (K_1 of Algorithm 1), a random source (expected value), the best and the worst source; then one
row per way of choosing with mean and median accuracy, wins/draws/losses, Wilcoxon p-values and mean ranks.

Tables only (pandas, scipy): the report reads it without loading the chooser (selection.py) or torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .study import wins_draws_losses

NO_TRANSFER = "no transfer"
K1 = "most similar source (K_1)"
RANDOM = "random source (expected)"
RANDOM_SELF = "random source, target in pool (expected)"
BEST = "best source (oracle)"
WORST = "worst source"
STRATEGIES = [NO_TRANSFER, K1, RANDOM, RANDOM_SELF, BEST, WORST]


def selection_per_target(accuracy: pd.DataFrame, baseline: pd.Series,
                         neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each target's accuracy under each way of choosing the source (columns STRATEGIES, plus 'k1_source' and
    'best_source').

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
               WORST: column.min(), RANDOM_SELF: np.nan, K1: np.nan, "k1_source": "",
               "best_source": str(column.idxmax())}
        if target in accuracy.index:
            row[RANDOM_SELF] = column.sum() / (len(column) + 1)
        if neighbours is not None and target in neighbours.index:
            ranked = [s for s in neighbours.loc[target].dropna() if s in column.index]
            if ranked:
                row[K1], row["k1_source"] = column[ranked[0]], ranked[0]
        rows[target] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "target"
    return table[[*STRATEGIES, "k1_source", "best_source"]] if len(table) else table


def selection_table(per_target: pd.DataFrame, tie_band: float = 0.0) -> pd.DataFrame:
    """One row per strategy: mean and median accuracy, W/D/L against no transfer (a draw: equal after
    rounding to 6 decimals, or within `tie_band` accuracy points), the Wilcoxon signed-rank p-value against no
    transfer, and the mean rank."""
    from scipy.stats import wilcoxon  # scipy.stats takes ~1 s to load: only the tables that test need it

    scores = per_target[STRATEGIES].astype(float)
    ranks = scores.dropna(axis=1, how="all").rank(axis=1, ascending=False).mean()
    rows = []
    for strategy in STRATEGIES:
        pair = scores[list(dict.fromkeys([strategy, NO_TRANSFER]))].dropna()
        if pair.empty:
            continue
        a, b = pair[strategy].round(6), pair[NO_TRANSFER].round(6)
        p = np.nan
        if strategy != NO_TRANSFER:
            p = 1.0 if (a == b).all() else float(wilcoxon(a, b, zero_method="wilcox").pvalue)
        rows.append({"strategy": strategy, "mean_accuracy": float(pair[strategy].mean()),
                     "median_accuracy": float(pair[strategy].median()), **wins_draws_losses(a, b, tie_band),
                     "wilcoxon_p": p, "mean_rank": float(ranks.get(strategy, np.nan)), "targets": len(pair)})
    return pd.DataFrame(rows)
