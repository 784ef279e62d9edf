"""ResNet for time series (Wang et al. 2017) as the authors of the paper train it in dl-4-tsc (Ismail Fawaz et al.,
2019): three residual blocks of 64, 128 and 128 filters, each three Conv1d ('same', kernels 8, 5, 3) -> BatchNorm
(-> ReLU but after the last), a shortcut (a 1x1 convolution and BatchNorm where the width changes, BatchNorm
alone where it does not) added before the block's ReLU; global average pooling, dense. 504,000 + 129·C
parameters for one input channel."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import BlockNetwork, MaskedBatchNorm1d, SameConv1d, keras_init


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, filters: int, kernels: list[int]):
        super().__init__()
        widths = [in_channels] + [filters] * len(kernels)
        self.convs = nn.ModuleList(SameConv1d(widths[i], filters, k) for i, k in enumerate(kernels))
        self.bns = nn.ModuleList(MaskedBatchNorm1d(filters) for _ in kernels)
        # dl-4-tsc: "expand channels for the sum" with a 1x1 convolution; equal widths: BatchNorm alone
        self.shortcut = SameConv1d(in_channels, filters, 1) if in_channels != filters else None
        self.shortcut_bn = MaskedBatchNorm1d(filters)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = x
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            h = bn(conv(h), mask)
            if i < len(self.convs) - 1:
                h = F.relu(h)
        shortcut = self.shortcut_bn(self.shortcut(x) if self.shortcut is not None else x, mask)
        return F.relu(h + shortcut)  # padded steps: 0 + 0 (both BatchNorms zero them)


class ResNet(BlockNetwork):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, filters=(64, 128, 128), kernels=(8, 5, 3)):
        super().__init__()
        self.config = {"name": "resnet", "in_channels": in_channels, "num_classes": num_classes,
                       "filters": list(filters), "kernels": list(kernels)}
        widths = [in_channels, *filters]
        self.blocks = nn.ModuleList(ResidualBlock(widths[i], f, list(kernels)) for i, f in enumerate(filters))
        self.num_features = filters[-1]
        self.make_classifier(num_classes)
        keras_init(self)
