"""The architecture registry: the one place an architecture is declared (light: no torch, so the command line
lists `--arch` at once).

Each entry names the module that holds the network (`tstransfer.networks.<module>`, a `torch.nn.Module` whose
class declares its config check; `models.py` builds it, derives its weight shapes on torch's meta device and
counts its cost per series), its published training recipe (recipe.RECIPES), and how its fine-tunings of one
target can be fused into one network (`fused.py`; None: they run one after the other).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TSTransferError


@dataclass(frozen=True)
class Architecture:
    name: str
    module: str  # tstransfer.networks.<module>
    cls: str  # the network class in it
    recipe: str  # its published recipe: what `train`, `grid`, `pretrain` and `zoo build` use by default
    fused: str | None  # the class of fused.py that stacks K of them, or None
    summary: str  # one line for --help and `zoo list`
    reference: str  # where it is published


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("fcn", "fcn", "FCN", "paper", "StackedFCN",
                 "the paper's FCN: 3 conv blocks 128/8, 256/5, 128/3, ~265 k parameters",
                 "Wang et al. 2017; Ismail Fawaz et al. 2018 (the paper)"),
    Architecture("resnet", "resnet", "ResNet", "resnet", None,
                 "ResNet: 3 residual blocks of 64/128/128 filters, kernels 8/5/3, ~504 k parameters",
                 "Wang et al. 2017, as trained in Ismail Fawaz et al., dl-4-tsc (2019)"),
    Architecture("lite", "lite", "LITE", "lite", None,
                 "LITE: multiplexed and hand-crafted filters, dilated depthwise-separable convolutions, ~10 k "
                 "parameters", "Ismail-Fawaz et al., Look into the LITE (2023)"),
)}

DEFAULT_ARCH = next(iter(ARCHITECTURES))  # the paper's network


def architecture(name: str, where: str = "--arch") -> Architecture:
    """The registered architecture `name`; an unknown one is refused in one line that lists the known ones."""
    if not isinstance(name, str) or name not in ARCHITECTURES:
        raise TSTransferError(f"{where} {str(name)[:60]!r}: unknown architecture; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]
