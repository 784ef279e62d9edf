"""The FCN: exact layers and parameter count, Keras 'same' padding and init, masking, model files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tstransfer.data import PREPROCESSING
from tstransfer.errors import TSTransferError
from tstransfer.models import TrainedModel, count_parameters, create_model, list_models, load_model


@pytest.mark.parametrize("classes", [2, 5, 37])
def test_parameter_count_matches_the_paper(classes):
    assert count_parameters(create_model("fcn", 1, classes)) == 264_704 + 129 * classes


def test_layer_shapes_and_keras_batchnorm():
    model = create_model("fcn", in_channels=3, num_classes=4)
    convs = [b.conv for b in model.blocks]
    assert [tuple(c.weight.shape) for c in convs] == [(128, 3, 8), (256, 128, 5), (128, 256, 3)]
    assert all(c.bias is not None and c.stride == (1,) for c in convs)
    for block in model.blocks:
        assert block.bn.momentum == pytest.approx(0.01) and block.bn.eps == pytest.approx(1e-3)
    assert tuple(model.classifier.weight.shape) == (4, 128)
    out = model(torch.randn(5, 3, 40))
    assert out.shape == (5, 4)
    assert model(torch.randn(2, 3, 7)).shape == (2, 4)  # any length


def test_same_padding_puts_the_extra_step_on_the_right():
    """Keras/TF 'same' for kernel 8 pads 3 left, 4 right: output[t] sees x[t-3 .. t+4]."""
    model = create_model("fcn", 1, 2)
    conv = model.blocks[0].conv
    assert model.blocks[0].pad == (3, 4) and model.blocks[1].pad == (2, 2) and model.blocks[2].pad == (1, 1)
    x = torch.randn(1, 1, 20)
    ours = model.blocks[0].same_conv(x)
    w = conv.weight[:, 0, :]
    xp = torch.cat([torch.zeros(3), x[0, 0], torch.zeros(4)])
    manual = torch.stack([w @ xp[t : t + 8] for t in range(20)], dim=1) + conv.bias[:, None]
    torch.testing.assert_close(ours[0], manual, rtol=1e-5, atol=1e-5)
    assert ours.shape[-1] == 20
    for block in model.blocks[1:]:  # odd kernels: the symmetric padding inside the convolution is the same
        h = torch.randn(1, block.conv.in_channels, 20)
        torch.testing.assert_close(block.same_conv(h), F.conv1d(F.pad(h, block.pad), block.conv.weight,
                                                                block.conv.bias))


def test_glorot_uniform_kernels_and_zero_biases():
    torch.manual_seed(0)
    model = create_model("fcn", 1, 3)
    conv = model.blocks[1].conv
    limit = np.sqrt(6 / (128 * 5 + 256 * 5))
    assert conv.weight.abs().max() <= limit and conv.weight.abs().max() > 0.9 * limit
    assert torch.all(conv.bias == 0) and torch.all(model.classifier.bias == 0)


def test_reset_classifier_keeps_the_body():
    model = create_model("fcn", 1, 3)
    body = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("classifier")}
    model.reset_classifier(7)
    assert model.classifier.out_features == 7 and model.config["num_classes"] == 7
    for k, v in model.state_dict().items():
        if not k.startswith("classifier"):
            assert torch.equal(v, body[k])


def test_registry():
    assert "fcn" in list_models()
    with pytest.raises(TSTransferError, match="unknown model 'resnet9000'"):
        create_model("resnet9000")


@pytest.mark.parametrize("training", [False, True])
def test_masked_padding_equals_the_unpadded_series(training):
    """A zero-padded batch with lengths gives each series exactly its unpadded output."""
    torch.manual_seed(0)
    model = create_model("fcn", 1, 3)
    for block in model.blocks:  # non-trivial running statistics
        block.bn.running_mean.uniform_(-0.5, 0.5)
        block.bn.running_var.uniform_(0.5, 2)
    a, b = torch.randn(1, 1, 30), torch.randn(1, 1, 30)
    short = torch.randn(1, 1, 18)
    padded = torch.cat([a, b, F.pad(short, (0, 12))])
    lengths = torch.tensor([30, 30, 18])
    model.train(training)
    if training:
        # Training mode: batch statistics and the running-mean update use the valid steps only.
        x = model.blocks[0].conv(padded)
        mask = (torch.arange(30)[None, :] < lengths[:, None])
        valid = torch.cat([x[0], x[1], x[2, :, :18]], dim=1)
        bn = model.blocks[0].bn
        before = bn.running_mean.clone()
        out = bn(x, mask)
        expected = (valid - valid.mean(1, keepdim=True)) / torch.sqrt(valid.var(1, unbiased=False, keepdim=True)
                                                                      + bn.eps)
        torch.testing.assert_close(out[2, :, :18], expected[:, 60:] * bn.weight[:, None] + bn.bias[:, None],
                                   rtol=1e-4, atol=1e-4)
        assert torch.all(out[2, :, 18:] == 0)
        torch.testing.assert_close(bn.running_mean, 0.99 * before + 0.01 * valid.mean(1), rtol=1e-5, atol=1e-6)
    else:
        out = model(padded, lengths)
        torch.testing.assert_close(out[2], model(short)[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out[0], model(a)[0], rtol=1e-5, atol=1e-5)


def _trained_like(tmp_path):
    torch.manual_seed(1)
    net = create_model("fcn", 1, 3)
    net.blocks[0].bn.running_mean.uniform_(-1, 1)  # saved with the weights
    return TrainedModel(net, [-1, 1, 7], dict(PREPROCESSING), {"dataset": "X", "best_epoch": 3})


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    model = _trained_like(tmp_path)
    path = model.save(tmp_path / "m.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left behind
    loaded = load_model(path)
    X = np.random.default_rng(0).standard_normal((6, 1, 50)).astype(np.float32)
    np.testing.assert_array_equal(model.predict_proba(X), loaded.predict_proba(X))
    assert loaded.classes == [-1, 1, 7] and loaded.metadata["best_epoch"] == 3
    assert list(loaded.predict(X)) == list(model.predict(X))
    assert set(loaded.predict(X)) <= {-1, 1, 7}


def test_model_file_is_safetensors_with_a_json_header(tmp_path):
    from safetensors import safe_open

    path = _trained_like(tmp_path).save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["tstransfer-model"])
        keys = set(f.keys())
    assert header["architecture"]["name"] == "fcn" and header["classes"] == [-1, 1, 7]
    assert "blocks.0.bn.running_var" in keys


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    path = _trained_like(tmp_path).save(tmp_path / "m.safetensors")
    torn = tmp_path / "torn.safetensors"
    torn.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(TSTransferError, match="torn.safetensors: not a tstransfer model file"):
        load_model(torn)
    pickled = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickled)  # a pickle: must never be unpickled
    with pytest.raises(TSTransferError, match="model.pt: not a tstransfer model file"):
        load_model(pickled)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(TSTransferError, match="not a tstransfer model"):
        load_model(foreign)
    with pytest.raises(TSTransferError, match="no such model file"):
        load_model(tmp_path / "absent.safetensors")


def test_channel_mismatch_is_refused(tmp_path):
    model = _trained_like(tmp_path)
    with pytest.raises(TSTransferError, match="expects 1 input channel"):
        model.predict_proba(np.zeros((2, 3, 10), dtype=np.float32))


def test_an_ensemble_round_trips_through_save_load_predict(tmp_path):
    from tstransfer.models import Ensemble

    members = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        members.append(create_model("fcn", 1, 3).eval())
    ensemble = TrainedModel(Ensemble.of(members), [-1, 1, 7], dict(PREPROCESSING), {"kind": "ensemble"})
    X = np.random.default_rng(0).standard_normal((6, 1, 50)).astype(np.float32)
    singles = [TrainedModel(m, [-1, 1, 7], dict(PREPROCESSING)).predict_proba(X) for m in members]
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean(singles, axis=0), rtol=1e-5, atol=1e-6)
    loaded = load_model(ensemble.save(tmp_path / "e.safetensors"))
    assert loaded.network.config["name"] == "ensemble" and len(loaded.network.members) == 3
    np.testing.assert_array_equal(loaded.predict_proba(X), ensemble.predict_proba(X))
    assert list(loaded.predict(X)) == list(ensemble.predict(X)) and loaded.features(X).shape == (6, 384)


@pytest.mark.parametrize("members, message", [(0, "1 to 16 members"), (17, "1 to 16 members"),
                                              ("nested", "unknown architecture")])
def test_ensemble_headers_are_checked_before_anything_is_built(tmp_path, members, message):
    from tstransfer.models import _check_architecture

    fcn = create_model("fcn", 1, 2).config
    inner = {"name": "ensemble", "in_channels": 1, "num_classes": 2, "members": [fcn]}
    arch = {"name": "ensemble", "in_channels": 1, "num_classes": 2,
            "members": [inner] if members == "nested" else [fcn] * members}
    with pytest.raises(TSTransferError, match=message):
        _check_architecture(arch, tmp_path / "e.safetensors")
