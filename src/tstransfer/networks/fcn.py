"""The FCN of Wang et al. (2017) as the paper trains it (METHOD.md): three blocks of Conv1d ('same' padding,
Keras' split) -> BatchNorm -> ReLU with 128/8, 256/5 and 128/3 filters/kernel, global average pooling, dense."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import BlockNetwork, MaskedBatchNorm1d, SameConv1d, keras_init


class ConvBlock(nn.Module):
    """Conv1d ('same' padding, Keras split: the extra pad goes right) -> BatchNorm -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = SameConv1d(in_channels, out_channels, kernel_size)
        self.pad, self.symmetric = self.conv.same_pad, self.conv.symmetric  # fused.StackedFCN copies them
        self.bn = MaskedBatchNorm1d(out_channels)

    def same_conv(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # The masked BatchNorm zeroes padded steps, and ReLU(0) = 0 keeps them zero for the next block.
        return F.relu(self.bn(self.conv(x), mask))


class FCN(BlockNetwork):
    """Fully convolutional network: 3 conv blocks (128/8, 256/5, 128/3), global average pooling, dense.
    264,704 + 129·C parameters for one input channel."""

    kernel_per_block = True

    def __init__(self, in_channels: int = 1, num_classes: int = 2, filters=(128, 256, 128), kernels=(8, 5, 3)):
        super().__init__()
        self.config = {"name": "fcn", "in_channels": in_channels, "num_classes": num_classes,
                       "filters": list(filters), "kernels": list(kernels)}
        channels = [in_channels, *filters]
        self.blocks = nn.ModuleList(ConvBlock(channels[i], channels[i + 1], k) for i, k in enumerate(kernels))
        self.num_features = filters[-1]
        self.make_classifier(num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        keras_init(self)
