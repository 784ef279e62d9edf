"""What every network of the registry shares: BatchNorm that can ignore padding, Keras' 'same' padding and
initialisation, and the `Network` base (features, pooled over the valid steps; a classifier one can reset)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

# Keras BatchNormalization defaults (momentum 0.99 of the old value, epsilon 1e-3) in PyTorch terms.
BN_MOMENTUM = 0.01
BN_EPS = 1e-3
MAX_WIDTH = 4096  # far above any published network; a config asking for more is not one tstransfer wrote


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d that, given a mask of valid time steps, computes batch statistics over them only and zeroes the
    padded steps. Without a mask (equal-length batches, the usual case) it is plain `nn.BatchNorm1d`."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return super().forward(x)
        m = mask[:, None, :].to(x.dtype)
        if not self.training:
            return super().forward(x) * m
        count = m.sum()
        mean = (x * m).sum(dim=(0, 2)) / count
        var = (((x - mean[None, :, None]) ** 2) * m).sum(dim=(0, 2)) / count
        with torch.no_grad():  # same update rule as nn.BatchNorm1d: unbiased variance in the running stat
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * count / (count - 1).clamp(min=1), self.momentum)
            self.num_batches_tracked += 1
        out = (x - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        return (out * self.weight[None, :, None] + self.bias[None, :, None]) * m


class SameConv1d(nn.Conv1d):
    """Conv1d with Keras' 'same' padding: (kernel - 1) * dilation steps in all, the odd one on the right. An even
    total pads inside the convolution (no copy); an odd one needs F.pad."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1, groups: int = 1,
                 bias: bool = True):
        total = (kernel_size - 1) * dilation
        self.same_pad = (total // 2, total - total // 2)
        symmetric = total % 2 == 0
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, groups=groups, bias=bias,
                         padding=self.same_pad[0] if symmetric else 0)
        self.symmetric = symmetric

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dilation[0] > 1 and self.groups == self.in_channels and x.device.type == "cpu":
            return self._depthwise_by_phases(x)
        return super().forward(x if self.symmetric else F.pad(x, self.same_pad))

    def _depthwise_by_phases(self, x: torch.Tensor) -> torch.Tensor:
        """The same dilated depthwise convolution as d undilated ones, one per phase of the padded input (every
        d-th step from offset p), folded into the batch. On CPUs, oneDNN's gradient of a *dilated* depthwise
        convolution is 8x slower than of an undilated one (LITE spends most of its training step there):
        benchmarks/training_speed.py. Output step p + d*m reads x[p + d*(m + k)], k < kernel: phase p's conv."""
        d, (batch, channels, length) = self.dilation[0], x.shape
        padded = length + self.same_pad[0] + self.same_pad[1]
        extra = -padded % d  # zeros on the right so the phases have one length; their outputs are cut off below
        x = F.pad(x, (self.same_pad[0], self.same_pad[1] + extra))
        steps = (padded + extra) // d
        # the phases laid out channels-last, (batch*d, channels, 1, steps) with channels the fastest axis: oneDNN's
        # depthwise kernels run 1.4x faster on it than on the channels-first layout
        phases = x.view(batch, channels, steps, d).permute(0, 3, 2, 1).reshape(batch * d, steps, channels)
        y = F.conv2d(phases.transpose(1, 2).unsqueeze(2), self.weight.unsqueeze(2), self.bias, groups=self.groups)
        y = y.view(batch, d, channels, -1).permute(0, 2, 3, 1).reshape(batch, channels, -1)
        return y[:, :, :length]


def valid_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """(batch, length) True on the valid steps, or None when every series fills the batch's length."""
    if lengths is None or int(lengths.min()) >= x.shape[-1]:
        return None
    return torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]


def keras_init(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels, zero biases, BatchNorm gamma 1 / beta 0 (frozen weights kept)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)) and m.weight.requires_grad:
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            m.reset_parameters()


def small_int(value, low: int = 1, high: int = MAX_WIDTH) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class Network(nn.Module, ABC):
    """A body that maps (batch, channels, length) to (batch, num_features, length) with padded steps zeroed (each
    subclass's `body`), global average pooling over the valid steps, and a dense classifier.

    `forward(x, lengths)` returns logits; when `lengths` marks some series shorter than the batch, the output equals
    that of the unpadded series. Subclasses set `config` (its "name" is the registry's) and declare
    `check_config(config)`: a problem in words, or None."""

    config: dict
    num_features: int

    @abstractmethod
    def body(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(batch, channels, length) -> (batch, num_features, length), padded steps zeroed."""

    @classmethod
    @abstractmethod
    def check_config(cls, config: dict) -> str | None:
        """A problem of a loaded config in words, or None."""

    def make_classifier(self, num_classes: int) -> None:
        """The output layer (initialised by the subclass's keras_init, in module order: the random stream of the
        paper's FCN is kept)."""
        self.classifier = nn.Linear(self.num_features, num_classes)

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh, randomly initialised output layer for `num_classes` (the transfer step)."""
        device = self.classifier.weight.device
        self.make_classifier(num_classes)
        nn.init.xavier_uniform_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)
        self.classifier.to(device)
        self.config["num_classes"] = num_classes

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The globally average-pooled features (batch, num_features) that feed the classifier."""
        mask = valid_mask(x, lengths)
        h = self.body(x, mask)
        if mask is None:
            return h.mean(dim=-1)
        return h.sum(dim=-1) / lengths[:, None].to(h.dtype)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.features(x, lengths))


class BlockNetwork(Network):
    """A network configured by lists of `filters` and `kernels` whose body runs `self.blocks` one after the other,
    each taking the mask (the FCN: one convolution per block; ResNet: residual blocks of several)."""

    blocks: nn.ModuleList
    kernel_per_block = False  # True: one kernel size per block (len(kernels) == len(filters))

    @classmethod
    def check_config(cls, config: dict) -> str | None:
        if set(config) != {"name", "in_channels", "num_classes", "filters", "kernels"}:
            return "fields of another architecture"
        filters, kernels = config["filters"], config["kernels"]
        if not (isinstance(filters, list) and isinstance(kernels, list) and 1 <= len(filters) <= 16
                and 1 <= len(kernels) <= 16 and all(small_int(v) for v in filters)
                and all(small_int(v, high=1024) for v in kernels)):
            return "filters and kernels must be lists of 1 to 16 widths and kernel sizes"
        if cls.kernel_per_block and len(filters) != len(kernels):
            return "one kernel size per block: filters and kernels must have the same length"
        return None

    def body(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x
