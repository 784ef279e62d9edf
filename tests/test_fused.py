"""Fused fine-tuning equals K separate fine-tunings fed the same batch order (CPU, float tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tstransfer.data import load_dataset
from tstransfer.fused import StackedFCN, fit_fused
from tstransfer.models import create_model
from tstransfer.training import TrainConfig, fit
from tstransfer.transfer import transfer_network


def _sources(k, seed=0):
    out = []
    for i in range(k):
        torch.manual_seed(seed + i)
        net = create_model("fcn", 1, 2 + i)
        for block in net.blocks:
            block.bn.running_mean.uniform_(-0.5, 0.5)
            block.bn.running_var.uniform_(0.5, 1.5)
            block.bn.num_batches_tracked.fill_(10 * (i + 1))
        out.append(net)
    return out


def _heads(sources, num_classes, seed):
    nets = []
    for source in sources:
        torch.manual_seed(seed)  # as transfer.fine_tune does: the head depends on the seed only
        nets.append(transfer_network(source, num_classes))
    return nets


def test_stacking_and_unstacking_round_trip():
    nets = _heads(_sources(3), 4, seed=1)
    stacked = StackedFCN(nets)
    x = torch.randn(5, 1, 33)
    stacked.eval()
    logits = stacked(x)
    for k, net in enumerate(nets):
        net.eval()
        torch.testing.assert_close(logits[k], net(x), rtol=1e-5, atol=1e-5)
    for a, b in zip(stacked.unstack(), nets):
        for key, value in a.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                torch.testing.assert_close(value, b.state_dict()[key])


@pytest.mark.parametrize("name", ["ECG200"])
def test_fused_equals_sequential(name):
    dataset = load_dataset(name)
    # float64: in float32, rounding differences between a grouped and a plain convolution are amplified by
    # Adam (its first steps move every weight by about lr whatever the gradient's size), so runs drift apart
    # by ~1e-3 within epochs; in float64 they agree to ~1e-12. min_delta=10 forces an lr cut every epoch.
    config = TrainConfig(epochs=4, seed=5, threads=1, lr_patience=1, min_delta=10.0, dtype="float64", test_every=100)
    sources = _sources(3)
    separate = []
    for net in _heads(sources, dataset.n_classes, config.seed):
        separate.append((net, fit(net, dataset, config, progress=False)))
    fused_nets, fused_results = fit_fused(_heads(sources, dataset.n_classes, config.seed), dataset, config,
                                          progress=False)
    for (net, result), fnet, fresult in zip(separate, fused_nets, fused_results):
        assert fresult.best_epoch == result.best_epoch
        np.testing.assert_allclose([h["train_loss"] for h in fresult.history],
                                   [h["train_loss"] for h in result.history], rtol=1e-9, atol=1e-10)
        assert [h["lr"] for h in fresult.history] == pytest.approx([h["lr"] for h in result.history])
        assert len({h["lr"] for h in result.history}) > 1  # the schedule really changed the lr
        assert fresult.test_acc == pytest.approx(result.test_acc)
        assert fresult.test_loss == pytest.approx(result.test_loss, rel=1e-9)
        for key, value in net.state_dict().items():
            if key.endswith("num_batches_tracked"):
                assert int(value) == int(fnet.state_dict()[key])
            else:
                torch.testing.assert_close(fnet.state_dict()[key], value.float(), rtol=1e-5, atol=1e-6)


def test_models_keep_their_own_schedule():
    """Different sources reach their lr floors at different epochs: each model has its own plateau state."""
    dataset = load_dataset("ECG200")
    config = TrainConfig(epochs=6, seed=0, threads=1, lr_patience=2, min_delta=0.05, dtype="float64",
                         test_every=100)
    _, results = fit_fused(_heads(_sources(2), dataset.n_classes, 0), dataset, config, progress=False)
    separate = [fit(net, dataset, config, progress=False) for net in _heads(_sources(2), dataset.n_classes, 0)]
    for fused, single in zip(results, separate):
        assert [h["lr"] for h in fused.history] == pytest.approx([h["lr"] for h in single.history])


def test_fused_early_stopping_matches_separate_runs():
    dataset = load_dataset("ECG200")
    config = TrainConfig(epochs=12, seed=0, threads=1, lr_patience=1, min_delta=10.0, early_stopping=1,
                         dtype="float64", test_every=100)
    sources = _sources(2)
    separate = [fit(net, dataset, config, progress=False) for net in _heads(sources, dataset.n_classes, 0)]
    _, fused = fit_fused(_heads(sources, dataset.n_classes, 0), dataset, config, progress=False)
    assert all(len(r.history) < 12 for r in separate)  # both stopped early
    for a, b in zip(separate, fused):
        assert len(a.history) == len(b.history) and a.best_epoch == b.best_epoch
        assert a.test_acc == pytest.approx(b.test_acc)
