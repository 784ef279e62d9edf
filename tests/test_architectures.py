"""The contract every architecture of the registry keeps: build, save/load, header check, transfer, padding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import safetensors.torch
import torch

from tstransfer.architectures import ARCHITECTURES, architecture
from tstransfer.data import Dataset
from tstransfer.errors import TSTransferError
from tstransfer.models import FORMAT, TrainedModel, count_parameters, create_model, load_model
from tstransfer.recipe import TrainConfig
from tstransfer.training import train
from tstransfer.transfer import fine_tune

ARCHS = list(ARCHITECTURES)


def tiny_dataset(n_classes: int = 2, n: int = 12, length: int = 40, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.normal(size=(n, 1, length)).astype(np.float32) + y[:, None, None].astype(np.float32)
    lengths = np.full(n, length)
    return Dataset("Tiny", X, y, lengths, X[:4], y[:4], lengths[:4], list(range(n_classes)))


@pytest.mark.parametrize("arch", ARCHS)
def test_build_save_load_round_trip(arch, tmp_path):
    torch.manual_seed(0)
    network = create_model(arch, 1, 3)
    model = TrainedModel(network.eval(), [0, 1, 2], {"znorm": True}, {"dataset": "Tiny"})
    x = torch.randn(5, 1, 33)
    path = model.save(tmp_path / f"{arch}.safetensors")
    loaded = load_model(path)
    assert loaded.network.config == network.config and loaded.network.config["name"] == arch
    torch.testing.assert_close(loaded.network(x), network(x))


@pytest.mark.parametrize("arch", ARCHS)
def test_padding_is_invisible(arch):
    torch.manual_seed(0)
    network = create_model(arch, 1, 2).eval()
    short = torch.randn(1, 1, 30)
    padded = torch.cat([short, torch.zeros(1, 1, 20)], dim=-1)
    torch.testing.assert_close(network(padded, torch.tensor([30])), network(short), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_train_then_transfer_to_another_class_count(arch):
    config = TrainConfig.named("practical", arch=arch, epochs=3, test_every=None)
    source, _ = train(tiny_dataset(2), config, progress=False)
    assert source.network.config["name"] == arch and source.metadata["recipe"]["name"] == "practical"
    assert "arch" not in source.metadata["recipe"]["fields"] and "config" not in source.metadata
    tuned, result = fine_tune(source, tiny_dataset(3, seed=1), config, progress=False)
    assert tuned.network.config["num_classes"] == 3 and result.epochs == 3
    body = [k for k in source.network.state_dict() if not k.startswith("classifier")]
    assert body == [k for k in tuned.network.state_dict() if not k.startswith("classifier")]


@pytest.mark.parametrize("channels,kernel,dilation,length", [(113, 20, 2, 64), (32, 10, 4, 61), (3, 2, 2, 1),
                                                            (4, 20, 2, 5), (3, 1, 4, 9)])
def test_dilated_depthwise_by_phases_is_the_dilated_convolution(channels, kernel, dilation, length):
    """LITE's dilated depthwise convolutions run on CPU as undilated ones over the input's phases (faster
    gradients): the same outputs and gradients as the dilated convolution with Keras' 'same' padding."""
    from tstransfer.networks.layers import SameConv1d

    torch.manual_seed(0)
    conv = SameConv1d(channels, channels, kernel, dilation=dilation, groups=channels).double()
    x = torch.randn(3, channels, length, dtype=torch.float64, requires_grad=True)
    total = (kernel - 1) * dilation
    expected = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (total // 2, total - total // 2)), conv.weight,
                                          conv.bias, dilation=dilation, groups=channels)
    got = conv(x)
    assert got.shape == expected.shape == (3, channels, length)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    for a, b in zip(torch.autograd.grad(got.square().sum(), [x, conv.weight, conv.bias]),
                    torch.autograd.grad(expected.square().sum(), [x, conv.weight, conv.bias])):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_parameter_counts_as_published():
    lite = create_model("lite", 1, 2)
    assert count_parameters(lite) - count_parameters(lite.classifier) == 9814  # the LITE paper's count
    resnet = create_model("resnet", 1, 2)
    assert count_parameters(resnet) - count_parameters(resnet.classifier) == 504_000
    assert count_parameters(create_model("fcn", 1, 2)) == 264_704 + 129 * 2


def test_a_header_with_shapes_of_another_architecture_is_refused(tmp_path):
    fcn = create_model("fcn", 1, 2)
    lite = create_model("lite", 1, 2)
    header = {"format": FORMAT, "format_version": 1, "architecture": lite.config, "classes": [0, 1],
              "preprocessing": {"znorm": True}, "metadata": {}}
    path = tmp_path / "liar.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in fcn.state_dict().items()}, str(path),
                                metadata={FORMAT: json.dumps(header)})
    with pytest.raises(TSTransferError, match="do not match the header's architecture"):
        load_model(path)


@pytest.mark.parametrize("arch,config,problem", [
    ("fcn", {"filters": [128, 256, 128], "kernels": [8, 5]}, "one kernel size per block"),
    ("resnet", {"filters": [64, 128, 128], "kernels": [8, 5, 3, 0]}, "lists of 1 to 16"),
    ("fcn", {"filters": [128], "kernels": [8], "depth": 3}, "fields of another architecture"),
])
def test_a_config_out_of_range_is_refused_in_words(arch, config, problem, tmp_path):
    network = create_model(arch, 1, 2)
    header = {"format": FORMAT, "format_version": 1, "architecture": {**network.config, **config},
              "classes": [0, 1], "preprocessing": {"znorm": True}, "metadata": {}}
    path = tmp_path / "odd.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path),
                                metadata={FORMAT: json.dumps(header)})
    with pytest.raises(TSTransferError, match=problem):
        load_model(path)


def test_transfer_across_architectures_is_refused():
    source, _ = train(tiny_dataset(2), TrainConfig.named("practical", arch="lite", epochs=1, test_every=None),
                      progress=False)
    with pytest.raises(TSTransferError, match="only transfers into its own architecture"):
        fine_tune(source, tiny_dataset(2), TrainConfig.named("practical", arch="fcn", epochs=1), progress=False)


def test_unknown_architecture_and_mismatched_recipe_are_refused():
    with pytest.raises(TSTransferError, match="unknown architecture"):
        architecture("transformer")
    with pytest.raises(TSTransferError, match="--arch"):
        TrainConfig(arch="transformer")
    with pytest.raises(TSTransferError, match="published recipe of lite"):
        TrainConfig.named("lite", arch="resnet")


def test_published_recipes():
    lite, resnet = TrainConfig.named(arch="lite"), TrainConfig.named(arch="resnet")
    assert (lite.epochs, lite.batch_size, lite.deviations()) == (1500, 64, [])
    assert (resnet.epochs, resnet.max_batch_size, resnet.deviations()) == (1500, 64, [])
    assert TrainConfig.named("practical", arch="lite").batch_size == 64
