"""The training recipe: batch rule, Keras LR schedule, best-epoch selection, determinism, history."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from conftest import toy_rows, write_ucr2018
from tstransfer.data import load_dataset, load_files
from tstransfer.models import create_model, load_model
from tstransfer.training import TrainConfig, batch_size_rule, evaluate, fit, make_scheduler, train, train_to_files


@pytest.mark.parametrize("n, expected", [(1, 1), (9, 1), (16, 1), (20, 2), (67, 6), (159, 15), (160, 16),
                                         (1000, 16)])
def test_batch_size_rule(n, expected):
    assert batch_size_rule(n) == expected


def _lrs(losses):
    config = TrainConfig()
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=config.lr)
    sched = make_scheduler(opt, config)
    out = []
    for loss in losses:
        sched.step(loss)
        out.append(opt.param_groups[0]["lr"])
    return out


def test_lr_halves_after_50_epochs_without_improvement_keras_style():
    # Keras: best at epoch 1; epochs 2..51 are 50 bad epochs -> the LR halves after epoch 51.
    lrs = _lrs([1.0] + [1.0] * 60)
    assert lrs[49] == pytest.approx(1e-3) and lrs[50] == pytest.approx(5e-4)
    # improvements smaller than min_delta (1e-4, absolute) do not count
    lrs = _lrs([1.0] + [1.0 - 5e-5] * 55)
    assert lrs[50] == pytest.approx(5e-4)
    # real improvements reset the count
    assert _lrs([1.0 - 0.01 * i for i in range(60)])[-1] == pytest.approx(1e-3)


def test_lr_floor_is_1e_4():
    lrs = _lrs([1.0] * 1000)
    assert min(lrs) == pytest.approx(1e-4)
    assert sorted(set(round(x, 8) for x in lrs), reverse=True) == [1e-3, 5e-4, 2.5e-4, 1.25e-4, 1e-4]


@pytest.fixture(scope="module")
def small():
    return load_dataset("SonyAIBORobotSurface1")


def test_fit_keeps_the_min_training_loss_epoch(small):
    torch.manual_seed(0)
    net = create_model("fcn", 1, 2)
    result = fit(net, small, TrainConfig(epochs=8, seed=0), progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.train_loss == min(losses)
    # the weights loaded at the end are those of the best epoch: same test numbers as logged then
    best = result.history[result.best_epoch - 1]
    assert result.test_acc == pytest.approx(best["test_acc"]) and result.test_loss == pytest.approx(best["test_loss"])
    assert len(result.history) == 8 and all(h["lr"] == pytest.approx(1e-3) for h in result.history)


def test_training_learns_and_is_deterministic(small):
    a, ra = train(small, TrainConfig(epochs=15, seed=3, test_every=100), progress=False)
    b, rb = train(small, TrainConfig(epochs=15, seed=3, test_every=100), progress=False)
    c, rc = train(small, TrainConfig(epochs=15, seed=4, test_every=100), progress=False)
    assert [h["train_loss"] for h in ra.history] == [h["train_loss"] for h in rb.history]
    for (k, v) in a.network.state_dict().items():
        assert torch.equal(v, b.network.state_dict()[k])
    assert [h["train_loss"] for h in ra.history] != [h["train_loss"] for h in rc.history]
    assert ra.history[-1]["train_loss"] < ra.history[0]["train_loss"]
    assert ra.history[-1]["train_acc"] >= 0.9  # 20 training series fitted in 15 epochs


def test_history_csv_model_file_and_evaluate(tmp_path, small):
    config = TrainConfig(epochs=4, seed=0, test_every=2)
    model_path, history_path, (result,) = train_to_files(small, tmp_path, config, progress=False)
    rows = list(csv.DictReader(open(history_path)))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert set(rows[0]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}
    assert math.isnan(float(rows[0]["test_acc"])) and not math.isnan(float(rows[1]["test_acc"]))
    model = load_model(model_path)
    meta = model.metadata
    assert meta["dataset"] == "SonyAIBORobotSurface1" and meta["best_epoch"] == result.best_epoch
    assert meta["recipe"]["fields"]["seed"] == 0 and meta["environment"]["torch"] == torch.__version__
    assert meta["recipe"]["deviations"] == ["epochs=4 (paper: 2000)"] and "config" not in meta
    assert model.preprocessing["normalisation"].startswith("z-normalise")
    report = evaluate(model, small)
    assert report["accuracy"] == pytest.approx(result.test_acc)


def test_variable_length_dataset_trains_and_predicts(tmp_path):
    rows = toy_rows(6, 40, seed=0)
    for i, row in enumerate(rows):  # lengths 28..40, NaN-padded as in the UCR 2018 archive
        cut = 28 + (i * 5) % 13
        row[1 + cut :] = [math.nan] * (40 - cut)
    write_ucr2018(tmp_path, "Ragged", rows, rows)
    ds = load_dataset("Ragged", tmp_path)
    assert not ds.equal_length
    model, result = train(ds, TrainConfig(epochs=10, seed=0), progress=False)
    assert result.test_acc is not None and result.train_loss < result.history[0]["train_loss"]
    labels, proba = model.predict_file(tmp_path / "Ragged" / "Ragged_TEST.tsv")
    assert len(labels) == len(rows) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert evaluate(model, ds)["accuracy"] == pytest.approx(result.test_acc)


def test_multichannel_input(tmp_path):
    rng = np.random.default_rng(0)
    series = rng.standard_normal((8, 2, 16))
    labels = np.repeat(["a", "b"], 4)
    from tstransfer.data import Split, build_dataset

    ds = build_dataset("Multi", Split(list(series), labels, tmp_path / "multi"), None)
    model, result = train(ds, TrainConfig(epochs=2), progress=False)
    assert model.in_channels == 2 and result.test_acc is None
    assert set(model.predict(ds.X_train)) <= {"a", "b"}


def test_user_file_labels_come_back_out(tmp_path):
    write_ucr2018(tmp_path, "Odd", toy_rows(5, 20, labels=(3, 8)))
    model, _ = train(load_files(tmp_path / "Odd"), TrainConfig(epochs=2), progress=False)
    labels, _ = model.predict_file(tmp_path / "Odd" / "Odd_TRAIN.tsv")
    assert set(labels) <= {3, 8}


def test_early_stopping_stops_where_the_rule_says(small):
    from tstransfer.training import should_stop

    # min_delta 10 cuts the lr every epoch, so the floor (1e-4) is reached after 4 epochs
    config = TrainConfig(epochs=40, seed=0, lr_patience=1, min_delta=10.0, early_stopping=1, test_every=100)
    torch.manual_seed(0)
    result = fit(create_model("fcn", 1, 2), small, config, progress=False)
    history = result.history
    best = improved = 0
    best_loss = improved_loss = float("inf")
    for row in history:
        if row["train_loss"] < best_loss:
            best_loss, best = row["train_loss"], row["epoch"]
        if row["train_loss"] < improved_loss - config.min_delta:  # an improvement that counts: by min_delta
            improved_loss, improved = row["train_loss"], row["epoch"]
        lr_after = max(row["lr"] / 2, 1e-4)  # the lr once this epoch's plateau step ran
        stop = should_stop(config, lr_after, row["epoch"], improved)
        assert stop == (row["epoch"] == len(history)) or (not stop and len(history) == 40)
    assert result.epochs == len(history) < 40 and result.best_epoch == best
