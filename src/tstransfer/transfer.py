"""Transfer as the paper does it: copy every layer of the source network but its classifier (BatchNorm running
statistics included), put a fresh randomly initialised classifier for the target's classes on top,
and fine-tune all layers (nothing frozen) with a fresh Adam and the same recipe. A source only transfers into a
network of its own architecture (any of the registry's)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .data import Dataset
from .errors import TSTransferError
from .fused import can_fuse, fit_fused
from .models import TrainedModel, architecture_of, load_model, network_from_config
from .training import TrainConfig, TrainResult, check_output, fit, run_paths, save_run, trained_model


def transfer_network(source: nn.Module, num_classes: int) -> nn.Module:
    """A new network with the source's body (weights and BN statistics) and a fresh `num_classes` head."""
    network = network_from_config(source.config)
    network.load_state_dict(source.state_dict())
    network.reset_classifier(num_classes)
    return network


def check_same_architecture(source: TrainedModel, arch: str, where: str = "source") -> None:
    """A source transfers into a network of its own architecture only: refused in one line otherwise."""
    name = architecture_of(source.network)
    if name == "ensemble":
        raise TSTransferError(f"cannot transfer from this ensemble model ({where}): a source is one network (an "
                              "ensemble's members were each fine-tuned from a source of the zoo)")
    if name != arch:
        raise TSTransferError(f"cannot transfer: the {where} is a {name} model and the target network a {arch}; a "
                              f"source only transfers into its own architecture (give --arch {name}, or a {arch} "
                              "source)")


def target_network(source: TrainedModel, dataset: Dataset, seed: int, arch: str | None = None) -> nn.Module:
    """The network a fine-tuning starts from: the source's body and a fresh head for the dataset's classes,
    the head's initial weights depending on `seed` only. `arch`: the architecture the run trains (the source's
    when None); another is refused."""
    check_same_architecture(source, arch or architecture_of(source.network))
    if source.in_channels != dataset.in_channels:
        raise TSTransferError(f"cannot transfer: the source model takes {source.in_channels} channel(s), "
                              f"{dataset.name} has {dataset.in_channels}")
    torch.manual_seed(seed)
    return transfer_network(source.network, dataset.n_classes)


def fine_tune(source: TrainedModel, dataset: Dataset, config: TrainConfig | None = None,
              progress: bool = True, source_name: str | None = None,
              desc: str | None = None) -> tuple[TrainedModel, TrainResult]:
    """Fine-tune a pre-trained model on a target dataset (all layers, fresh optimiser, the recipe)."""
    config = config or TrainConfig()
    source_name = source_name or source.metadata.get("dataset", "?")
    network = target_network(source, dataset, config.seed, config.arch)
    result = fit(network, dataset, config, progress=progress, desc=desc or f"{source_name}->{dataset.name}")
    return trained_model(network, dataset, config, result, kind="transfer", source=source_name), result


def fine_tune_together(sources: dict[str, TrainedModel], dataset: Dataset, config: TrainConfig | None = None,
                       progress: bool = True) -> list[tuple[TrainedModel, TrainResult]]:
    """Fine-tune several sources (name -> model) on one target, as `fine_tune` does each: fused into one
    network with one step for all (fused.fit_fused; for 3 FCNs on CPU 2.0-2.6x the time of one fine-tuning
    against 3x one after the other, benchmarks/training_speed.py) when they share one configuration of an
    architecture that declares a fused form, one after the other otherwise. A fused member equals its own
    `fine_tune` up to float32 rounding (tests/test_fused.py checks 1e-9 in float64)."""
    config = config or TrainConfig()
    networks = {name: target_network(model, dataset, config.seed, config.arch) for name, model in sources.items()}
    if len(networks) > 1 and can_fuse(list(networks.values())):
        trained, results = fit_fused(list(networks.values()), dataset, config, progress=progress,
                                     desc=f"{len(networks)} sources->{dataset.name}")
    else:  # each network as fine_tune trains it, from the one built above
        trained, results = list(networks.values()), []
        for i, (name, network) in enumerate(networks.items()):
            count = f" ({i + 1}/{len(networks)})" if len(networks) > 1 else ""
            results.append(fit(network, dataset, config, progress=progress, desc=f"{name}->{dataset.name}{count}"))
    return [(trained_model(net, dataset, config, result, kind="transfer", source=name), result)
            for name, net, result in zip(networks, trained, results)]


def transfer_to_files(source_path: str | Path, dataset: Dataset, out_dir: str | Path,
                      config: TrainConfig | None = None, progress: bool = True,
                      force: bool = False) -> tuple[Path, Path, TrainResult]:
    """Fine-tune the model file `source_path` on `dataset`; write `<out_dir>/<Source>-to-<Target>.safetensors`
    + its history. An existing file is only overwritten with `force` (checked before training)."""
    source = load_model(source_path)
    source_name = str(source.metadata.get("dataset") or Path(source_path).stem)
    name = f"{source_name}-to-{dataset.name}"
    check_output(out_dir, name, force)
    trained, result = fine_tune(source, dataset, config, progress=progress, source_name=source_name)
    return save_run(trained, result, *run_paths(out_dir, name), exclusive=not force)
