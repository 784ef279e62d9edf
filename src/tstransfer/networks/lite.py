"""LITE (Ismail-Fawaz, Devanne, Berretti, Weber, Forestier: "LITE: Light Inception with boosTing tEchniques for Time
Series Classification", DSAA 2023), as aeon's LITENetwork builds it:

- multiplexing: three convolutions of the input (32 filters each, kernels 40, 20, 10, no bias), side by side with
- custom filters: 17 fixed (not trained) convolutions that detect increases (kernels 2..64), decreases (2..64) and
  peaks (6..96), followed by ReLU; concatenated (113 channels) -> BatchNorm -> ReLU;
- two depthwise-separable convolutions (32 filters, kernels 20 and 10, dilation 2 and 4, no bias), each
  -> BatchNorm -> ReLU;
- global average pooling, dense.

9,814 trained parameters besides the dense layer (32·C + C) for one input channel, as the paper counts.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .layers import MaskedBatchNorm1d, Network, SameConv1d, keras_init, small_int

CUSTOM_KERNELS = (2, 4, 8, 16, 32, 64)


def custom_filters() -> list[np.ndarray]:
    """The hand-crafted filters of LITE's first layer, in aeon's order and formulas: increase detection, decrease
    detection (kernels 2..64), peak detection (kernels 4..64, each k + k // 2 long)."""
    out = []
    for sign in (0, 1):
        for k in CUSTOM_KERNELS:
            f = np.ones(k)
            f[np.arange(k) % 2 == 0 if sign == 0 else np.arange(k) % 2 > 0] *= -1
            out.append(f)
    for k in CUSTOM_KERNELS[1:]:
        f = np.zeros(k + k // 2)
        left = np.linspace(0, 1, k // 4 + 1)[1:] ** 2
        right = left[::-1]
        f[0 : k // 4], f[k // 4 : k // 2] = -left, -right
        f[k // 2 : 3 * k // 4], f[3 * k // 4 : k] = 2 * left, 2 * right
        f[k : 5 * k // 4], f[5 * k // 4 :] = -left, -right
        out.append(f)
    return out


class CustomFilters(nn.Module):
    """The fixed filters as one convolution: each placed in a kernel of the longest size so that its own 'same'
    padding (the odd step on the right) is kept; summed over the input channels, as a Keras Conv1D of one filter
    whose kernel repeats over channels. A buffer, not a parameter: not trained, rebuilt from the formulas (not
    read from a model file)."""

    def __init__(self, in_channels: int):
        super().__init__()
        filters = custom_filters()
        size = max(len(f) for f in filters)
        self.same_pad = ((size - 1) // 2, size // 2)
        weight = np.zeros((len(filters), in_channels, size), dtype=np.float32)
        for i, f in enumerate(filters):
            start = self.same_pad[0] - (len(f) - 1) // 2
            weight[i, :, start : start + len(f)] = f
        self.register_buffer("weight", torch.from_numpy(weight), persistent=False)
        self.out_channels = len(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(F.conv1d(F.pad(x, self.same_pad), self.weight.to(x.dtype)))


class SeparableConv(nn.Module):
    """Keras' SeparableConv1D without bias: a depthwise convolution ('same', dilated), then a 1x1 one."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.depthwise = SameConv1d(in_channels, in_channels, kernel_size, dilation=dilation, groups=in_channels,
                                    bias=False)
        self.pointwise = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class LITE(Network):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, filters: int = 32, kernel_size: int = 40):
        super().__init__()
        self.config = {"name": "lite", "in_channels": in_channels, "num_classes": num_classes, "filters": filters,
                       "kernel_size": kernel_size}
        kernels = [max(1, kernel_size // 2**i) for i in range(3)]
        self.multiplex = nn.ModuleList(SameConv1d(in_channels, filters, k, bias=False) for k in kernels)
        self.custom = CustomFilters(in_channels)
        width = 3 * filters + self.custom.out_channels
        self.bn = MaskedBatchNorm1d(width)
        half = kernel_size // 2
        self.separable = nn.ModuleList([SeparableConv(width, filters, max(1, half), 2),
                                        SeparableConv(filters, filters, max(1, half // 2), 4)])
        self.separable_bns = nn.ModuleList(MaskedBatchNorm1d(filters) for _ in range(2))
        self.num_features = filters
        self.make_classifier(num_classes)
        keras_init(self)

    @classmethod
    def check_config(cls, config: dict) -> str | None:
        if set(config) != {"name", "in_channels", "num_classes", "filters", "kernel_size"}:
            return "fields of another architecture"
        if not (small_int(config["filters"]) and small_int(config["kernel_size"], 1, 1024)):
            return "filters and kernel_size out of range"
        return None

    def body(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = torch.cat([conv(x) for conv in self.multiplex] + [self.custom(x)], dim=1)
        h = F.relu(self.bn(h, mask))
        for conv, bn in zip(self.separable, self.separable_bns):
            h = F.relu(bn(conv(h), mask))
        return h
