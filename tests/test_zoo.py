"""The model zoo, LogME, the three ways to choose a source, and `tstransfer fit` end to end on a real
dataset that is not in the zoo."""

from __future__ import annotations

import numpy as np
import pytest

from tstransfer.data import MINI_ARCHIVE, load_dataset
from tstransfer.selection import choose_source, logme, rank_by_similarity, split_validation
from tstransfer.similarity import recommend
from tstransfer.training import TrainConfig
from tstransfer.zoo import Zoo

ZOO_DATASETS = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]
TARGET = "ItalyPowerDemand"  # in the mini archive, left out of the zoo


def test_zoo_lists_models_and_prototypes(zoo_dir, capsys):
    from tstransfer.cli import main

    zoo = Zoo(zoo_dir)
    assert sorted(zoo.entries) == ZOO_DATASETS
    table = zoo.table().set_index("dataset")
    assert table.loc["GunPoint", "classes"] == 2 and table.loc["GunPoint", "length"] == 150
    assert table.loc["ECG200", "n_train"] == 100 and bool(table.prototypes.all())
    assert main(["zoo", "list", "--zoo", str(zoo_dir)]) == 0
    assert "SonyAIBORobotSurface1" in capsys.readouterr().out
    assert main(["zoo", "show", "GunPoint", "--zoo", str(zoo_dir)]) == 0
    assert '"dataset": "GunPoint"' in capsys.readouterr().out
    assert main(["zoo", "list", "--zoo", str(zoo_dir / "nope")]) == 2


def test_similarity_ranking_matches_recommend(zoo_dir):
    target = load_dataset(TARGET)
    ours = rank_by_similarity(Zoo(zoo_dir), target)
    theirs = recommend(target, zoo_dir)
    assert list(ours.source) == list(theirs.source)
    np.testing.assert_allclose(ours.distance, theirs.distance)


def test_logme_prefers_informative_features():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    informative = np.eye(3)[labels] * 3 + 0.3 * rng.standard_normal((90, 3))
    informative = np.hstack([informative, rng.standard_normal((90, 125))])
    noise = rng.standard_normal((90, 128))
    assert logme(informative, labels) > logme(noise, labels) + 0.5
    assert np.isfinite(logme(noise[:10], labels[:10] % 2))  # fewer samples than features


def test_validation_split_is_stratified_and_inside_the_training_set():
    ds = load_dataset("GunPoint")
    split = split_validation(ds, 0.2, seed=0)
    assert len(split.y_train) + len(split.y_test) == len(ds.y_train)
    assert set(np.bincount(split.y_test)) == {5}  # 10 held out, 5 per class
    assert {x.tobytes() for x in split.X_test} <= {x.tobytes() for x in ds.X_train}


@pytest.mark.parametrize("select", ["similarity", "transferability", "validate"])
def test_the_test_set_is_never_used_to_choose(zoo_dir, select):
    from dataclasses import replace

    target = load_dataset(TARGET)
    config = TrainConfig(epochs=2, seed=0, threads=2)
    with_test, _ = choose_source(Zoo(zoo_dir), target, select, config, top_k=2, validate_epochs=1)
    scrambled = replace(target, X_test=np.zeros_like(target.X_test), y_test=np.zeros_like(target.y_test))
    without_test, table = choose_source(Zoo(zoo_dir), scrambled, select, config, top_k=2, validate_epochs=1)
    assert with_test == without_test and with_test in ZOO_DATASETS
    assert len(table) == (2 if select == "validate" else 3)


def test_fit_command_end_to_end_on_a_dataset_outside_the_zoo(zoo_dir, tmp_path, capsys):
    from tstransfer.cli import main
    from tstransfer.models import load_model

    folder = MINI_ARCHIVE / TARGET
    out = tmp_path / "mine.safetensors"
    code = main(["fit", "--train", str(folder / f"{TARGET}_TRAIN.tsv"), "--test", str(folder / f"{TARGET}_TEST.tsv"),
                 "--zoo", str(zoo_dir), "--epochs", "3", "--seed", "1", "--out", str(out), "--compare-scratch",
                 "--threads", "2", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    expected = recommend(load_dataset(TARGET), zoo_dir).source.iloc[0]
    assert f"chosen source: {expected} (--select similarity, similarity rank 1)" in printed
    assert "test accuracy: " in printed and "from scratch:  " in printed
    model = load_model(out)
    assert model.metadata["source"] == expected and model.metadata["selection"] == "similarity"
    assert model.classes == [1, 2]
