"""Fused fine-tuning: K networks of one architecture trained together on the same target in one pass.

An architecture declares its fused form in the registry (architectures.py: `fused`, a class of this module that
stacks K of its networks); the FCN's is `StackedFCN`. The others are fine-tuned one after the other.

All fine-tunings of one target see the same data in the same batch order (the order depends on the seed
only), so K networks can share every step. `StackedFCN` lays K FCNs side by side as one network with
grouped convolutions (groups = K) and a batched head; each BatchNorm channel belongs to one model, so
batch statistics stay per model. Each model keeps its own initial weights, its own Adam state (Adam is
elementwise), its own learning rate (its own ReduceLROnPlateau) and its own best epoch. The results equal
K separate `training.fit` runs up to floating-point rounding (tests/test_fused.py). Used by a study's
`grid --fuse K` and by `fit --ensemble K` (transfer.fine_tune_together).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .architectures import architecture
from .data import Dataset
from .models import FCN, ConvBlock, MaskedBatchNorm1d, architecture_of, network_from_config
from .training import (
    TrainConfig,
    TrainResult,
    check_finite,
    history_row,
    logs_test,
    make_scheduler,
    out_of_time,
    prepare_run,
    recompute_batchnorm,
    run_result,
    should_stop,
    shuffled_batches,
)


class StackedFCN(nn.Module):
    """K FCNs of the same shape as one module: grouped convolutions and a (K, C, 128) head."""

    def __init__(self, networks: list[FCN]):
        super().__init__()
        first = networks[0].config
        if any(n.config != first for n in networks):
            raise ValueError("fused models must share one architecture (same input channels and classes)")
        self.k = len(networks)
        self.configs = [dict(n.config) for n in networks]
        k, channels = self.k, [first["in_channels"], *first["filters"]]
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        self.pads = []
        for i, size in enumerate(first["kernels"]):
            symmetric = networks[0].blocks[i].symmetric
            conv = nn.Conv1d(k * channels[i], k * channels[i + 1], size, groups=k,
                             padding=networks[0].blocks[i].pad[0] if symmetric else 0)
            bn = MaskedBatchNorm1d(k * channels[i + 1])
            with torch.no_grad():
                conv.weight.copy_(torch.cat([n.blocks[i].conv.weight for n in networks]))
                conv.bias.copy_(torch.cat([n.blocks[i].conv.bias for n in networks]))
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(bn, name).copy_(torch.cat([getattr(n.blocks[i].bn, name) for n in networks]))
                bn.num_batches_tracked.copy_(networks[0].blocks[i].bn.num_batches_tracked)
            self.convs.append(conv)
            self.bns.append(bn)
            self.pads.append(None if symmetric else networks[0].blocks[i].pad)
        self.head_weight = nn.Parameter(torch.stack([n.classifier.weight.detach() for n in networks]).clone())
        self.head_bias = nn.Parameter(torch.stack([n.classifier.bias.detach() for n in networks]).clone())

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x (batch, channels, length) -> logits (K, batch, classes)."""
        mask = None
        if lengths is not None and int(lengths.min()) < x.shape[-1]:
            mask = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]
        h = x.repeat(1, self.k, 1)
        for conv, bn, pad in zip(self.convs, self.bns, self.pads):
            h = F.relu(bn(conv(F.pad(h, pad) if pad else h), mask))
        pooled = h.mean(-1) if mask is None else h.sum(-1) / lengths[:, None].to(h.dtype)
        pooled = pooled.view(x.shape[0], self.k, -1).transpose(0, 1)  # (K, batch, features)
        return torch.baddbmm(self.head_bias[:, None, :], pooled, self.head_weight.transpose(1, 2))

    def model_slices(self, name: str, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Split a stacked parameter or buffer into the K models' parts (views)."""
        if name.startswith("head_") or tensor.dim() == 0:
            return [tensor[k] for k in range(self.k)] if tensor.dim() else [tensor] * self.k
        return list(tensor.chunk(self.k, dim=0))

    def unstack(self) -> list[FCN]:
        """The K trained FCNs as separate networks."""
        state = {n: t.detach().cpu() for n, t in self.state_dict().items()}
        out = []
        for k, config in enumerate(self.configs):
            net = network_from_config(config)
            blocks: list[ConvBlock] = list(net.blocks)
            with torch.no_grad():
                for i, block in enumerate(blocks):
                    block.conv.weight.copy_(self.model_slices("c", state[f"convs.{i}.weight"])[k])
                    block.conv.bias.copy_(self.model_slices("c", state[f"convs.{i}.bias"])[k])
                    for name in ("weight", "bias", "running_mean", "running_var"):
                        getattr(block.bn, name).copy_(self.model_slices("b", state[f"bns.{i}.{name}"])[k])
                    block.bn.num_batches_tracked.copy_(state[f"bns.{i}.num_batches_tracked"])
                net.classifier.weight.copy_(state["head_weight"][k])
                net.classifier.bias.copy_(state["head_bias"][k])
            out.append(net.eval())
        return out


class StackedAdam:
    """Adam over stacked parameters with one learning rate per model (torch.optim.Adam's arithmetic).

    Each stacked tensor's leading dimension holds the K models one after the other, so a per-row
    learning-rate column applies model k's lr to model k's rows in one vectorised update."""

    def __init__(self, model: StackedFCN, lr: float, betas=(0.9, 0.999), eps: float = 1e-7):
        self.k, self.betas, self.eps = model.k, betas, eps
        self.params = [p for p in model.parameters()]
        self.lrs = [lr] * model.k
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        # which model owns each row of each stacked tensor, shaped to broadcast over the rest
        self.owner = [torch.arange(self.k, device=p.device).repeat_interleave(p.shape[0] // self.k)
                      .view(-1, *([1] * (p.dim() - 1))) for p in self.params]
        self.step_count = 0

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        b1, b2 = self.betas
        bias1 = 1 - b1**self.step_count
        bias2_sqrt = (1 - b2**self.step_count) ** 0.5
        lrs = torch.tensor(self.lrs, dtype=self.params[0].dtype, device=self.params[0].device)
        for p, (m, v), owner in zip(self.params, self.state, self.owner):
            m.lerp_(p.grad, 1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.addcdiv_(m * (lrs[owner] / bias1), denom, value=-1.0)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def can_fuse(networks: list[nn.Module]) -> bool:
    """Whether these networks can be trained as one: one configuration of an architecture that declares a fused
    form (architectures.py)."""
    first = networks[0].config
    return architecture_of(first) != "ensemble" and architecture(first["name"]).fused is not None and \
        all(n.config == first for n in networks)


def stack(networks: list[nn.Module]) -> nn.Module:
    """The fused form (its architecture's, architectures.py) of K networks of one configuration."""
    if not can_fuse(networks):
        raise ValueError("fused models must share one configuration of an architecture with a fused form")
    return globals()[architecture(networks[0].config["name"]).fused](networks)


@torch.no_grad()
def _evaluate(model: StackedFCN, X, y, lengths, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    loss_sum = torch.zeros(model.k, device=X.device, dtype=torch.float64)
    correct = torch.zeros(model.k, device=X.device)
    for i in range(0, len(X), batch_size):
        lb = None if lengths is None else lengths[i : i + batch_size]
        logits = model(X[i : i + batch_size], lb)
        yb = y[i : i + batch_size]
        loss_sum += F.cross_entropy(logits.transpose(1, 2), yb[None].expand(model.k, -1), reduction="none").sum(1)
        correct += (logits.argmax(-1) == yb[None]).sum(1)
    return (loss_sum / len(X)).cpu().numpy(), (correct / len(X)).cpu().numpy()


def fit_fused(networks: list[nn.Module], dataset: Dataset, config: TrainConfig, progress: bool = True,
              desc: str | None = None) -> tuple[list[nn.Module], list[TrainResult]]:
    """Fine-tune K networks on one dataset together; returns the K best-epoch networks and their results.

    Equivalent to `[training.fit(net, dataset, config) for net in networks]` (same seed, same batches).
    """
    run = prepare_run(dataset, config)
    device, X, y, X_test, y_test, len_test = run.device, run.X, run.y, run.X_test, run.y_test, run.len_test
    model = stack(networks).to(device=device, dtype=getattr(torch, config.dtype))
    k = model.k
    has_test = X_test is not None

    optimizer = StackedAdam(model, config.lr, eps=config.adam_eps)
    # one torch ReduceLROnPlateau per model, each driving the lr of a one-number stand-in optimizer
    holders = [torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr) for _ in range(k)]
    schedulers = [make_scheduler(h, config) for h in holders]
    batch_size = run.batch_size

    histories: list[list[dict]] = [[] for _ in range(k)]
    stopped = [False] * k  # early stopping: a stopped model gets lr 0 and its record is closed
    best_loss = [float("inf")] * k
    best_epoch = [0] * k
    improved_loss, improved_epoch = [float("inf")] * k, [0] * k  # the last improvement by min_delta
    best_state = {n: t.clone() for n, t in model.state_dict().items()}
    started = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=desc or f"{dataset.name} x{k}", unit="epoch",
               disable=not progress, leave=False, dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        loss_sum = torch.zeros(k, device=device, dtype=torch.float64)
        correct = torch.zeros(k, device=device)
        for xb, yb, lb in shuffled_batches(X, y, run.lengths, batch_size, run.shuffler):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=run.amp):
                logits = model(xb, lb)  # (K, batch, classes)
            logits = logits.float() if run.amp else logits
            losses = F.cross_entropy(logits.transpose(1, 2), yb[None].expand(k, -1), reduction="none").mean(1)
            optimizer.zero_grad()
            losses.sum().backward()  # model k's parameters only see loss k
            optimizer.step()
            loss_sum += losses.detach() * len(yb)
            correct += (logits.detach().argmax(-1) == yb[None]).sum(1)
        train_loss = (loss_sum / len(y)).cpu().numpy()
        train_acc = (correct / len(y)).cpu().numpy()
        for m in range(k):
            if not stopped[m]:
                check_finite(float(train_loss[m]), epoch, f"{dataset.name} (fused model {m + 1} of {k})")
        lrs = list(optimizer.lrs)
        test_loss = test_acc = np.full(k, np.nan)
        if has_test and logs_test(config, epoch):
            test_loss, test_acc = _evaluate(model, X_test, y_test, len_test)
        improved, active = [], [m for m in range(k) if not stopped[m]]
        for m in active:
            schedulers[m].step(float(train_loss[m]))
            optimizer.lrs[m] = holders[m].param_groups[0]["lr"]
            if train_loss[m] < best_loss[m]:
                best_loss[m], best_epoch[m] = float(train_loss[m]), epoch
                improved.append(m)
            if train_loss[m] < improved_loss[m] - config.min_delta:
                improved_loss[m], improved_epoch[m] = float(train_loss[m]), epoch
        if improved:
            state = model.state_dict()
            for name, tensor in state.items():
                if tensor.dim() == 0:
                    best_state[name] = tensor.clone()
                    continue
                parts, saved = model.model_slices(name, tensor), model.model_slices(name, best_state[name])
                for m in improved:
                    saved[m].copy_(parts[m])
        seconds = (time.perf_counter() - t0) / len(active)
        for m in active:
            histories[m].append(history_row(epoch, float(train_loss[m]), float(train_acc[m]), float(test_loss[m]),
                                            float(test_acc[m]), lrs[m], seconds))
            if should_stop(config, optimizer.lrs[m], epoch, improved_epoch[m]):
                stopped[m], optimizer.lrs[m] = True, 0.0
        bar.set_postfix(loss=f"{float(train_loss.mean()):.4f}", active=k - sum(stopped))
        if all(stopped) or out_of_time(config, started):
            break
        run.threads.update()
    bar.close()

    model.load_state_dict(best_state)
    if config.precise_bn:  # per model: each BatchNorm channel belongs to one of them
        recompute_batchnorm(model, X, run.lengths)
    trained = model.unstack()
    steps_per_epoch = -(-len(y) // batch_size)
    for net, source, epoch in zip(trained, networks, best_epoch):  # BN step counts as a separate run has them
        norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
        for bn, original in zip(norms, [m for m in source.modules() if isinstance(m, nn.BatchNorm1d)]):
            bn.num_batches_tracked.fill_(int(original.num_batches_tracked) + steps_per_epoch * epoch)
    final_loss = final_acc = np.full(k, np.nan)
    if has_test:
        final_loss, final_acc = _evaluate(model, X_test, y_test, len_test)
    run.threads.close()
    results = [run_result(histories[m], best_epoch[m], float(final_loss[m]) if has_test else None,
                          float(final_acc[m]) if has_test else None, started, device) for m in range(k)]
    for result in results:  # the K models shared the time
        result.seconds /= k
    return trained, results
