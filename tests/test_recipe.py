"""The named recipes: the paper's unchanged, the practical one's batch floor, early stopping and BatchNorm
refresh, and the one record shape every file stores and reads back."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tstransfer.data import load_dataset
from tstransfer.models import load_model
from tstransfer.recipe import PRACTICAL, RECIPES, InvalidSetting, TrainConfig, batch_size, batch_size_rule
from tstransfer.training import prepare_run, should_stop, train
from tstransfer.zoo import SHIPPED_ZOO


def test_the_paper_recipe_is_the_default_and_has_no_deviation():
    assert TrainConfig.named("paper") == TrainConfig()
    paper = TrainConfig()
    assert (paper.epochs, paper.lr, paper.adam_eps, paper.lr_factor, paper.lr_patience, paper.min_lr) == \
        (2000, 1e-3, 1e-7, 0.5, 50, 1e-4)
    assert paper.min_batch_size == 1 and not paper.precise_bn and paper.early_stopping is None
    assert paper.deviations() == []


def test_the_paper_recipe_gives_the_same_numbers_as_before_the_practical_one():
    """Measured with the code before the practical recipe existed (commit 6c748dd), float64, one thread."""
    torch.set_num_threads(1)
    ds = load_dataset("SonyAIBORobotSurface1")
    model, result = train(ds, TrainConfig(epochs=4, seed=3, dtype="float64", test_every=2), progress=False)
    assert [round(h["train_loss"], 12) for h in result.history] == \
        [0.544618824971, 0.47305018012, 0.264449199002, 0.192573758899]
    assert result.best_epoch == 4 and round(result.test_acc, 12) == 0.42928452579
    total = sum(p.double().sum() for p in model.network.state_dict().values() if p.is_floating_point())
    assert float(total) == pytest.approx(961.8475352703047, rel=1e-12)


@pytest.mark.parametrize("n, floor, expected", [(1, 4, 1), (3, 4, 3), (9, 4, 4), (16, 4, 4), (20, 4, 4), (39, 4, 4),
                                                (50, 4, 5), (160, 4, 16), (16, 1, 1), (16, 8, 8)])
def test_the_batch_floor(n, floor, expected):
    assert batch_size_rule(n, floor) == expected
    assert batch_size(TrainConfig(min_batch_size=floor), n) == expected


def test_the_practical_recipe_never_trains_with_batches_of_one():
    assert all(batch_size(PRACTICAL, n) >= min(n, 4) for n in range(2, 300))
    ds = load_dataset("SonyAIBORobotSurface1")  # 20 series: the paper's rule gives 2
    assert prepare_run(ds, TrainConfig()).batch_size == 2
    assert prepare_run(ds, PRACTICAL).batch_size == 4
    assert prepare_run(ds, replace(PRACTICAL, batch_size=7)).batch_size == 7  # an explicit size wins


def test_named_recipes_and_overrides():
    practical = TrainConfig.named("practical", epochs=30, seed=2)
    assert practical.recipe_name == "practical" and practical.epochs == 30 and practical.seed == 2
    assert practical.min_batch_size == 4 and practical.precise_bn and practical.early_stopping == 50
    assert TrainConfig.named("practical", epochs=None).epochs == RECIPES["practical"]["epochs"]
    text = "; ".join(practical.deviations())
    assert "min_batch_size=4 (paper: 1)" in text and "BatchNorm statistics recomputed" in text
    with pytest.raises(InvalidSetting, match="--recipe fast: choose one of paper, practical"):
        TrainConfig.named("fast")


@pytest.mark.parametrize("config", [TrainConfig(), TrainConfig.named("practical", epochs=7, seed=3),
                                    TrainConfig(batch_size=5, early_stopping=9)])
def test_a_recipe_record_round_trips_by_name(config):
    record = json.loads(json.dumps(config.to_record()))
    assert set(record) == {"name", "fields", "deviations"} and record["name"] == config.recipe_name
    assert TrainConfig.from_record(record) == replace(config, device="auto", threads=None, test_every=1)
    assert record["deviations"] == config.deviations()


def test_older_record_shapes_are_still_read():
    shipped = json.loads((SHIPPED_ZOO / "zoo.json").read_text())["recipe"]  # to_record, with the architecture
    assert TrainConfig.from_record(shipped) == TrainConfig()
    study_flat = {"lr": 0.001, "adam_eps": 1e-7, "lr_factor": 0.5, "lr_patience": 50, "min_lr": 0.0001,
                  "min_delta": 0.0001, "batch_size": 3, "amp": False, "dtype": "float32", "early_stopping": None}
    assert TrainConfig.from_record(study_flat, epochs=40) == TrainConfig(epochs=40, batch_size=3)
    with pytest.raises(ValueError, match="fields this version does not know: warp"):
        TrainConfig.from_record({"fields": {"warp": 9}})


def test_a_model_file_records_its_recipe_by_name(tmp_path):
    ds = load_dataset("SonyAIBORobotSurface1")
    config = TrainConfig.named("practical", epochs=2, seed=1)
    model, _ = train(ds, config, progress=False)
    path = model.save(tmp_path / "m.safetensors")
    record = load_model(path).metadata["recipe"]
    assert record["name"] == "practical" and TrainConfig.from_record(record) == replace(config)


def test_early_stopping_counts_only_improvements_by_min_delta():
    config = TrainConfig(early_stopping=3)
    assert not should_stop(TrainConfig(), 1e-4, 100, 1)  # off in the paper's recipe
    assert not should_stop(config, 2e-4, 100, 1)  # the lr has not reached its floor
    assert not should_stop(config, 1e-4, 12, 10) and should_stop(config, 1e-4, 13, 10)
    # a loss creeping down by less than min_delta every epoch does not hold the run
    ds = load_dataset("SonyAIBORobotSurface1")
    creeping = TrainConfig(epochs=60, seed=0, lr_patience=1, min_delta=10.0, early_stopping=2, test_every=None)
    _, result = train(ds, creeping, progress=False)
    assert result.epochs < 60  # min_delta 10: nothing counts as an improvement after the first epoch


def _first_batchnorm_input(model, ds) -> torch.Tensor:
    with torch.no_grad():
        return model.network.blocks[0].same_conv(torch.as_tensor(ds.X_train))


def test_precise_batchnorm_statistics_are_the_training_sets():
    ds = load_dataset("SonyAIBORobotSurface1")
    model, _ = train(ds, TrainConfig.named("practical", epochs=3, seed=0), progress=False)
    bn, out = model.network.blocks[0].bn, _first_batchnorm_input(model, ds)
    np.testing.assert_allclose(bn.running_mean.numpy(), out.mean(dim=(0, 2)).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), out.var(dim=(0, 2)).numpy(), rtol=1e-3, atol=1e-5)
    # the paper's recipe keeps the running averages, which lag the weights after a few steps
    paper, _ = train(ds, TrainConfig(epochs=3, seed=0), progress=False)
    out = _first_batchnorm_input(paper, ds)
    assert not np.allclose(paper.network.blocks[0].bn.running_mean.numpy(), out.mean(dim=(0, 2)).numpy(),
                           rtol=1e-2)
