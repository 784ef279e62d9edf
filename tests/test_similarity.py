"""Algorithm 1: DTW, DBA prototypes, min-linkage distances, ranking, the cache, recommend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import write_ucr2018
from tstransfer.data import load_dataset
from tstransfer.errors import TSTransferError
from tstransfer.selection import recommend
from tstransfer.similarity import (
    class_prototypes,
    compute_similarity,
    dataset_distance,
    dba,
    dba_update,
    dtw,
    medoid_index,
    neighbours,
)


def slow_dtw(x, y):
    """Textbook DTW: squared-Euclidean local cost, no window, square root of the total."""
    n, m = x.shape[-1], y.shape[-1]
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = float(np.sum((x[..., i - 1] - y[..., j - 1]) ** 2))
            cost[i, j] = d + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return np.sqrt(cost[n, m])


@pytest.mark.parametrize("n, m", [(10, 10), (7, 13), (20, 5), (1, 4)])
def test_dtw_equals_the_slow_reference(n, m):
    rng = np.random.default_rng(n * 100 + m)
    for _ in range(5):
        x, y = rng.standard_normal((1, n)), rng.standard_normal((1, m))
        assert dtw(x, y) == pytest.approx(slow_dtw(x, y), rel=1e-9)
    x, y = rng.standard_normal((2, n)), rng.standard_normal((2, m))  # multichannel: summed local cost
    assert dtw(x, y) == pytest.approx(slow_dtw(x, y), rel=1e-9)


def test_dba_of_identical_series_is_that_series():
    s = np.sin(np.linspace(0, 6, 30))[None, :]
    np.testing.assert_allclose(dba([s.copy() for _ in range(5)]), s, atol=1e-12)
    np.testing.assert_allclose(dba_update([s.copy() for _ in range(3)], s.copy()), s, atol=1e-12)


def test_one_member_class_gives_the_member():
    s = np.random.default_rng(0).standard_normal((1, 17))
    np.testing.assert_array_equal(dba([s]), s)


def test_medoid_minimises_the_sum_of_squared_dtw():
    rng = np.random.default_rng(1)
    series = [rng.standard_normal((1, L)) for L in (12, 15, 9, 12)]
    sums = [sum(slow_dtw(a, b) ** 2 for b in series) for a in series]
    assert medoid_index(series) == int(np.argmin(sums))


def test_equal_and_unequal_length_dba_paths_agree_and_reduce_the_cost():
    rng = np.random.default_rng(2)
    base = np.sin(np.linspace(0, 4 * np.pi, 40))
    series = [(base + 0.3 * rng.standard_normal(40))[None, :] for _ in range(8)]
    start = series[medoid_index(series)]
    aeon_path = dba(series, iterations=10)
    own_path = dba_update(series, start.copy(), iterations=10)
    np.testing.assert_allclose(aeon_path, own_path, atol=1e-8)
    before = sum(slow_dtw(start, s) ** 2 for s in series)
    after = sum(slow_dtw(aeon_path, s) ** 2 for s in series)
    assert after < before
    # unequal lengths within a class: the barycenter takes the medoid's length
    ragged = [s[:, : 30 + i] for i, s in enumerate(series)]
    center = dba(ragged)
    assert center.shape == ragged[medoid_index(ragged)].shape


def test_min_linkage_over_prototype_pairs():
    a = [np.zeros((1, 5)), np.ones((1, 5))]
    b = [np.full((1, 5), 3.0), np.full((1, 5), 1.5)]
    assert dataset_distance(a, b) == pytest.approx(np.sqrt(5 * 0.5**2))  # ones vs 1.5


def test_neighbour_ranking():
    m = pd.DataFrame([[0, 3, 1, 2], [3, 0, 5, 4], [1, 5, 0, 6], [2, 4, 6, 0]], index=list("ABCD"),
                     columns=list("ABCD"), dtype=float)
    table = neighbours(m)
    assert list(table.columns) == ["K_1", "K_2", "K_3"]
    assert list(table.loc["A"]) == ["C", "D", "B"] and list(table.loc["B"]) == ["A", "D", "C"]
    assert list(table.loc["D"]) == ["A", "B", "C"]


def _hand_archive(root):
    """Datasets whose classes hold identical series, so the prototypes are known exactly."""
    t = np.linspace(0, 1, 16)
    shapes = {"Sines": [np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)],
              "Ramps": [t, 1 - t],
              "Steps": [(t > 0.5).astype(float), (t > 0.25).astype(float)]}
    for name, (c0, c1) in shapes.items():
        rows = [[0, *np.round(c0, 6)]] * 3 + [[1, *np.round(c1, 6)]] * 2
        write_ucr2018(root, name, rows, rows)
    return root


def test_compute_similarity_on_a_hand_built_archive(tmp_path):
    archive = _hand_archive(tmp_path / "arch")
    result = compute_similarity(archive, tmp_path / "study" / "similarity", jobs=1, progress=False)
    protos = {n: [load_dataset(n, archive).X_train[i].astype(float) for i in (0, 3)] for n in result.distances.index}
    for a in protos:
        for b in protos:
            expected = 0.0 if a == b else min(slow_dtw(p, q) for p in protos[a] for q in protos[b])
            assert result.distances.loc[a, b] == pytest.approx(expected, abs=1e-6)
    assert (result.distances.values == result.distances.values.T).all()
    for target in result.neighbours.index:
        ranked = result.distances.loc[target].drop(target).sort_values()
        assert list(result.neighbours.loc[target]) == list(ranked.index)
    written = pd.read_csv(tmp_path / "study" / "similarity" / "neighbours.csv", index_col=0)
    assert list(written.columns) == ["K_1", "K_2"] and written.index.name == "target"


def test_prototype_cache_hits_and_invalidation(tmp_path, monkeypatch):
    import tstransfer.similarity as sim

    archive = _hand_archive(tmp_path / "arch")
    calls = []
    real = sim.class_prototypes
    monkeypatch.setattr(sim, "class_prototypes", lambda ds, it=10: calls.append(ds.name) or real(ds, it))
    compute_similarity(archive, tmp_path / "study" / "similarity", jobs=1, progress=False)
    assert sorted(calls) == ["Ramps", "Sines", "Steps"]
    calls.clear()
    compute_similarity(archive, tmp_path / "study" / "similarity", jobs=1, progress=False)
    assert calls == []  # all cached
    t = np.linspace(0, 1, 16)
    rows = [[0, *np.round(t**2, 6)]] * 3 + [[1, *np.round(1 - t, 6)]] * 2
    write_ucr2018(archive, "Ramps", rows, rows)  # the data changed: only its prototypes are recomputed
    write_ucr2018(archive, "Waves", rows, rows)  # a new dataset costs one dataset's work
    compute_similarity(archive, tmp_path / "study" / "similarity", jobs=1, progress=False)
    assert sorted(calls) == ["Ramps", "Waves"]


def test_parallel_jobs_give_the_same_matrix(tmp_path):
    archive = _hand_archive(tmp_path / "arch")
    one = compute_similarity(archive, tmp_path / "s1", jobs=1, progress=False)
    two = compute_similarity(archive, tmp_path / "s2", jobs=2, progress=False)
    pd.testing.assert_frame_equal(one.distances, two.distances)


def test_recommend_for_an_archive_dataset_and_a_users_file(tmp_path, capsys):
    from tstransfer.cli import main

    archive = _hand_archive(tmp_path / "arch")
    study = tmp_path / "study"
    assert main(["similarity", "--archive", str(archive), "--study", str(study), "--jobs", "1", "--quiet",
                 "--plots", "--all"]) == 0
    assert (study / "similarity" / "prototypes" / "Sines.png").stat().st_size > 1000
    with pytest.raises(TSTransferError, match="no pre-trained model"):
        recommend(load_dataset("Ramps", archive), study)
    # only a dataset with a pre-trained model can be a source
    assert main(["pretrain", "--study", str(study), "--epochs", "1", "--quiet"]) == 0
    table = recommend(load_dataset("Ramps", archive), study, exclude=["Ramps"])
    matrix = pd.read_csv(study / "similarity" / "distances.csv", index_col=0)
    assert list(table.source) == list(matrix.loc["Ramps"].drop("Ramps").sort_values().index)
    t = np.linspace(0, 1, 16)
    mine = tmp_path / "mine.tsv"
    mine.write_text("\n".join("\t".join(map(str, [c, *np.round(np.sin(2 * np.pi * t) + 0.01 * i, 5)]))
                              for i, c in enumerate(("a", "b", "a"))))
    capsys.readouterr()
    assert main(["recommend", str(mine), "--study", str(study), "--archive", str(archive), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "   1  Sines" in out and "Ramps" not in out
    assert class_prototypes(load_dataset("Sines", archive))[0].shape == (1, 16)
