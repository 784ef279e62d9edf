"""Choosing a source: Algorithm 1's similarity, LogME, brief validation fine-tunes; the test split never
chooses; the leave-one-target-out evaluation of a study uses the study's own recipe."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tstransfer.selection as selection
from tstransfer.data import load_dataset
from tstransfer.grid import run_grid
from tstransfer.selection import (
    choose_source,
    evaluate_selection,
    logme,
    rank_by_similarity,
    rank_by_validation,
    recommend,
    split_validation,
)
from tstransfer.similarity import compute_similarity
from tstransfer.study import StudyPaths, plan_runs, study_config, study_settings
from tstransfer.training import TrainConfig
from tstransfer.zoo import Zoo

ZOO_DATASETS = ["ECG200", "GunPoint", "SonyAIBORobotSurface1"]  # the zoo_dir fixture's (conftest.py)
TARGET = "ItalyPowerDemand"  # in the mini archive, left out of the zoo


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
    target = load_dataset(TARGET)
    config = TrainConfig(epochs=2, seed=0, threads=2)
    with_test = choose_source(Zoo(zoo_dir), target, select, config, top_k=2, validate_epochs=1).source
    scrambled = replace(target, X_test=np.zeros_like(target.X_test), y_test=np.zeros_like(target.y_test))
    without_test = choose_source(Zoo(zoo_dir), scrambled, select, config, top_k=2, validate_epochs=1)
    assert with_test == without_test.source and with_test in ZOO_DATASETS
    assert len(without_test.ranking) == (2 if select == "validate" else 3)
    assert list(without_test.similarity.source) == list(rank_by_similarity(Zoo(zoo_dir), target).source)


def test_validate_ranks_on_repeated_splits_and_says_when_it_cannot_separate(zoo_dir):
    target = load_dataset(TARGET)
    table = rank_by_validation({n: Zoo(zoo_dir).model(n) for n in ZOO_DATASETS}, target,
                               TrainConfig(epochs=1, threads=2), 1)
    assert list(table.columns) == ["rank", "source", "val_loss", "val_loss_std", "val_acc"]
    assert (table.val_loss_std >= 0).all() and table.val_loss.is_monotonic_increasing
    close = table.val_loss.iloc[1] - table.val_loss.iloc[0] < table.val_loss_std.iloc[:2].max()
    assert ("note" in table.attrs) == close


def test_a_study_is_evaluated_with_its_own_recipe(tmp_path, toy_grid_archive):
    """The recipe is recorded in one shape and read back whole: evaluate-selection's validate strategy fine-tunes
    with the study's batch size and recipe, not the paper's defaults."""
    study = tmp_path / "study"
    config = TrainConfig.named("practical", epochs=2, batch_size=3, threads=1)
    run_grid(toy_grid_archive, study, plan_runs(["Alpha", "Beta", "Gamma"]), config, progress=False)
    compute_similarity(toy_grid_archive, StudyPaths(study).similarity, ["Alpha", "Beta", "Gamma"], progress=False)
    settings = study_settings(study)
    assert settings["recipe"]["name"] == "practical" and settings["recipe"]["fields"]["batch_size"] == 3
    assert study_config(settings).same_recipe(config)
    seen = []
    real = selection.fine_tune

    def spy(source, dataset, cfg, *args, **kwargs):
        seen.append((cfg.batch_size, cfg.recipe_name, cfg.min_batch_size))
        return real(source, dataset, cfg, *args, **kwargs)

    computed = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selection, "fine_tune", spy)
        patch.setattr(selection, "class_prototypes", lambda *a, **k: computed.append(a) or [])
        evaluate_selection(study, toy_grid_archive, strategies=("similarity", "validate"), top_k=2,
                           validate_epochs=1, progress=False)
    assert seen and set(seen) == {(3, "practical", 4)}
    assert computed == []  # every target's prototypes came from the cache `similarity` wrote
