"""Transfer: exactly the body is copied (BN statistics included), the head follows the target, nothing frozen."""

from __future__ import annotations

import pytest
import torch

from tstransfer.data import PREPROCESSING, load_dataset
from tstransfer.models import TrainedModel, create_model
from tstransfer.training import TrainConfig
from tstransfer.transfer import fine_tune, fine_tune_together, transfer_network


def _source(num_classes=3):
    torch.manual_seed(0)
    net = create_model("fcn", 1, num_classes)
    for block in net.blocks:  # as after pre-training: non-default statistics
        block.bn.running_mean.uniform_(-1, 1)
        block.bn.running_var.uniform_(0.5, 2)
        block.bn.num_batches_tracked.fill_(123)
    return net


def test_transfer_copies_everything_but_the_classifier():
    source = _source(3)
    target = transfer_network(source, 5)
    src, dst = source.state_dict(), target.state_dict()
    assert set(src) == set(dst)
    for key in src:
        if key.startswith("classifier."):
            assert dst[key].shape[0] == 5
        else:
            assert torch.equal(src[key], dst[key]), key
    assert "blocks.0.bn.running_mean" in src and "blocks.2.bn.running_var" in src
    assert target.classifier.out_features == 5 and source.classifier.out_features == 3
    assert all(p.requires_grad for p in target.parameters())
    assert torch.all(target.classifier.bias == 0)


def test_fine_tune_trains_every_layer_with_the_targets_head(toy_grid_archive):
    target = load_dataset("Beta", toy_grid_archive)
    source = TrainedModel(_source(2), [1, 2], {}, {"dataset": "Alpha"})
    before = {k: v.clone() for k, v in source.network.state_dict().items()}
    tuned, result = fine_tune(source, target, TrainConfig(epochs=2, seed=0), progress=False)
    assert tuned.classes == [0, 1, 2] and tuned.network.classifier.out_features == 3
    assert tuned.metadata["source"] == "Alpha" and tuned.metadata["kind"] == "transfer"
    after = tuned.network.state_dict()
    for key, value in before.items():
        if key.startswith("classifier.") or key.endswith("num_batches_tracked"):
            continue
        assert not torch.equal(value, after[key]), f"{key} did not change: frozen?"
    for key, value in source.network.state_dict().items():  # the source model itself is untouched
        assert torch.equal(value, before[key])
    assert result.best_epoch in (1, 2)


def test_fine_tune_is_deterministic(toy_grid_archive):
    target = load_dataset("Alpha", toy_grid_archive)
    source = TrainedModel(_source(3), [1, 2, 3], {}, {"dataset": "Beta"})
    a, _ = fine_tune(source, target, TrainConfig(epochs=2, seed=7), progress=False)
    b, _ = fine_tune(source, target, TrainConfig(epochs=2, seed=7), progress=False)
    for key, value in a.network.state_dict().items():
        assert torch.equal(value, b.network.state_dict()[key])


def test_channel_mismatch_is_refused(toy_grid_archive):
    from tstransfer.errors import TSTransferError

    source = TrainedModel(create_model("fcn", 2, 2), [0, 1], {}, {})
    with pytest.raises(TSTransferError, match="source model takes 2 channel"):
        fine_tune(source, load_dataset("Alpha", toy_grid_archive), TrainConfig(epochs=1), progress=False)


def test_an_ensemble_is_not_a_source(tmp_path, capsys):
    from tstransfer.cli import main
    from tstransfer.data import MINI_ARCHIVE
    from tstransfer.models import Ensemble

    members = [create_model("fcn", 1, 2) for _ in range(2)]
    ensemble = TrainedModel(Ensemble.of(members), [1, 2], dict(PREPROCESSING), {"dataset": "Mix"})
    path = ensemble.save(tmp_path / "e.safetensors")
    assert main(["transfer", str(path), "GunPoint", "--archive", str(MINI_ARCHIVE), "--epochs", "1", "--out",
                 str(tmp_path)]) == 2
    assert "cannot transfer from this ensemble model" in capsys.readouterr().err


def _trained_source(num_classes: int, seed: int, filters=(128, 256, 128)) -> TrainedModel:
    torch.manual_seed(seed)
    net = create_model("fcn", 1, num_classes, filters=filters)
    return TrainedModel(net.eval(), [str(i) for i in range(num_classes)], dict(PREPROCESSING), {"dataset": "src"})


def test_sources_fine_tuned_together_equal_each_fine_tuned_alone(mini_archive):
    """fine_tune_together (what fit --ensemble uses) fuses the sources into one run: each member as alone."""
    dataset = load_dataset("SonyAIBORobotSurface1", mini_archive)
    config = TrainConfig(epochs=3, seed=2, threads=1, dtype="float64", test_every=None)
    sources = {"A": _trained_source(3, 0), "B": _trained_source(4, 1)}
    together = fine_tune_together(sources, dataset, config, progress=False)
    for (name, source), (model, result) in zip(sources.items(), together):
        alone, alone_result = fine_tune(source, dataset, config, progress=False, source_name=name)
        assert model.metadata["source"] == name and model.metadata["kind"] == "transfer"
        assert result.best_epoch == alone_result.best_epoch
        assert result.test_acc == pytest.approx(alone_result.test_acc)
        for key, value in alone.network.state_dict().items():
            torch.testing.assert_close(model.network.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_sources_of_different_shapes_are_fine_tuned_one_after_the_other(mini_archive):
    dataset = load_dataset("SonyAIBORobotSurface1", mini_archive)
    sources = {"wide": _trained_source(3, 0), "narrow": _trained_source(3, 1, filters=(8, 16, 8))}
    together = fine_tune_together(sources, dataset, TrainConfig(epochs=1, test_every=None), progress=False)
    assert [m.network.config["filters"] for m, _ in together] == [[128, 256, 128], [8, 16, 8]]
