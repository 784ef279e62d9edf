"""The architecture registry's builders (timm-style `create_model`), ensembles, and model files.

A model file is one `.safetensors` file: the weights (BatchNorm running statistics included) and,
in its JSON metadata, the architecture config, the label mapping, the preprocessing and the
training record. Loading it never unpickles anything.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import safe_open
from torch import nn

from .architectures import ARCHITECTURES, DEFAULT_ARCH, architecture
from .data import PREPROCESSING, Layout, Split, label_column, preprocess, read_split, series_from_arrays
from .errors import TSTransferError
from .files import OBJECT, SECONDS, SHARE, TEXT, atomic_path, check_fields, check_format_version, count, parse_json
from .networks.fcn import FCN, ConvBlock  # noqa: F401 (re-exported: the paper's network)
from .networks.layers import BN_EPS, BN_MOMENTUM, MAX_WIDTH, MaskedBatchNorm1d, Network, small_int  # noqa: F401

FORMAT = "tstransfer-model"
FORMAT_VERSION = 1

class Ensemble(nn.Module):
    """K networks of one input and output shape whose class probabilities are averaged (e.g. the fine-tunings of
    the K most similar sources). `forward` returns log(mean of the members' softmax), so softmax(forward) is the
    averaged probability and it trains/predicts like any network; `features` concatenates the members'."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, members: list[dict] | None = None,
                 networks: list[nn.Module] | None = None):
        super().__init__()
        if networks is None:
            networks = [network_from_config(m) for m in members or []]
        if not networks:
            raise TSTransferError("an ensemble needs at least one member")
        for net in networks:
            if net.config["in_channels"] != in_channels or net.config["num_classes"] != num_classes:
                raise TSTransferError("the members of an ensemble must share input channels and classes")
        self.members = nn.ModuleList(networks)
        self.config = {"name": "ensemble", "in_channels": in_channels, "num_classes": num_classes,
                       "members": [dict(net.config) for net in networks]}
        self.num_features = sum(net.num_features for net in networks)

    @classmethod
    def of(cls, networks: list[nn.Module]) -> Ensemble:
        first = networks[0].config
        return cls(first["in_channels"], first["num_classes"], networks=networks)

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([net.features(x, lengths) for net in self.members], dim=1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        logp = torch.stack([F.log_softmax(net(x, lengths).float(), dim=1) for net in self.members])
        return torch.logsumexp(logp, dim=0) - np.log(len(self.members))


# ----------------------------------------------------------------------------- registry


def network_class(name: str) -> type[Network]:
    """The network class of a registered architecture (architectures.ARCHITECTURES), imported on first use."""
    arch = architecture(name)
    return getattr(importlib.import_module(f"tstransfer.networks.{arch.module}"), arch.cls)


def list_models() -> list[str]:
    return sorted([*ARCHITECTURES, "ensemble"])


def create_model(name: str = DEFAULT_ARCH, in_channels: int = 1, num_classes: int = 2, **kwargs) -> nn.Module:
    """Build a registered architecture, e.g. `create_model("lite", in_channels=1, num_classes=3)`."""
    if name == "ensemble":
        return Ensemble(in_channels=in_channels, num_classes=num_classes, **kwargs)
    if name not in ARCHITECTURES:
        raise TSTransferError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return network_class(name)(in_channels=in_channels, num_classes=num_classes, **kwargs)


def network_from_config(config: dict) -> nn.Module:
    """A fresh network of the architecture a model file or a trained network records (`network.config`)."""
    config = dict(config)
    return create_model(config.pop("name"), **config)


def architecture_of(network_or_config) -> str:
    """The registry name of a network or of its config ("ensemble" for an ensemble)."""
    config = network_or_config if isinstance(network_or_config, dict) else network_or_config.config
    return config["name"]


def cost_per_series(config: dict, length: int) -> float:
    """Floating-point operations of one forward pass over one series of `length` steps (2 per multiply-add of
    every convolution and dense layer; BatchNorm, ReLU and pooling are negligible), counted by running the network
    on torch's meta device: no arithmetic, no memory."""
    with torch.device("meta"):
        network = network_from_config(config)
    flop = 0.0

    def count(module, inputs, output):
        nonlocal flop
        if isinstance(module, nn.Conv1d):
            flop += 2.0 * output.shape[0] * output.shape[-1] * module.weight.numel()
        elif isinstance(module, nn.Linear):
            flop += 2.0 * output.shape[0] * module.weight.numel()

    hooks = [m.register_forward_hook(count) for m in network.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]
    try:
        with torch.no_grad():
            network.eval()(torch.empty(1, config["in_channels"], max(1, int(length)), device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return flop


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- model files


@dataclass
class TrainedModel:
    """A network with what it needs to be used: its classes, preprocessing and training record."""

    network: nn.Module
    classes: list
    preprocessing: dict
    metadata: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return self.network.config["in_channels"]

    def prepare(self, X, where: str = "X") -> tuple[np.ndarray, np.ndarray | None]:
        """Raw series -> the network's input, with exactly the preprocessing this model records.

        X: one series (1-D), (n, length), (n, channels, length), or a list of series of unequal lengths;
        any int or float dtype; NaN marks missing values or the padding of shorter series."""
        if self.preprocessing != PREPROCESSING:
            raise TSTransferError(f"the model records preprocessing {self.preprocessing}, which this version of "
                                  f"tstransfer does not apply ({PREPROCESSING})")
        X, lengths = preprocess(Split(series_from_arrays(X, where), None, Path(where)))
        return X, None if np.all(lengths == X.shape[-1]) else lengths

    @torch.no_grad()
    def _batched(self, forward, X: np.ndarray, lengths: np.ndarray | None, batch_size: int) -> np.ndarray:
        """`forward(x, lengths)` over already preprocessed X of shape (n, channels, length), batch by batch,
        as float32 numpy."""
        if X.ndim != 3 or X.shape[1] != self.in_channels:
            raise TSTransferError(
                f"the model expects {self.in_channels} input channel(s), the data has "
                f"{X.shape[1] if X.ndim == 3 else 'shape ' + str(X.shape)}"
            )
        self.network.eval()
        parameter = next(self.network.parameters())
        # a batch's widest activation (256 channels x length for the FCN) kept near 64 MB whatever the length
        batch_size = max(1, min(batch_size, ACTIVATION_BUDGET // max(1, X.shape[-1])))
        out = []
        for start in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[start : start + batch_size], device=parameter.device).to(parameter.dtype)
            lb = None if lengths is None else torch.as_tensor(lengths[start : start + batch_size],
                                                              device=parameter.device)
            out.append(forward(xb, lb).float().cpu().numpy())
        return np.concatenate(out)

    def proba(self, X: np.ndarray, lengths: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for already preprocessed X of shape (n, channels, length) (see `prepare`)."""
        return self._batched(lambda x, lb: torch.softmax(self.network(x, lb).float(), dim=1), X, lengths,
                             batch_size)

    def features(self, X: np.ndarray, lengths: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
        """The network's pooled features (the input of its classifier) for already preprocessed X."""
        return self._batched(self.network.features, X, lengths, batch_size)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (columns in the order of `classes`) for raw series; see `prepare`."""
        return self.proba(*self.prepare(X))

    def predict(self, X) -> np.ndarray:
        """Original class labels (as they were in the training file) for raw series; see `prepare`."""
        return self.labels_of(self.predict_proba(X))

    def labels_of(self, proba: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]

    def read_file(self, path: str | Path, labels: str | int = "first", header: str = "auto"):
        """A UCR-format (.tsv/.csv/2015) or .ts file as a `data.Split`. `labels`: "first", "last" or a column
        number (a label column), "none" (no label column) or "auto" (decided only when the width makes it certain,
        else an error asking for first or none); `header`: a first row of names (`data.Layout`)."""
        if labels == "auto":
            Layout.parse("first", header)  # the header option checked before the file is read
            labels = label_column(path, self.classes, self.metadata.get("length"), header)
            if labels is None:
                raise TSTransferError(f"{path}: cannot tell whether the first column is a label (the model was "
                                      f"trained on series of length {self.metadata.get('length', '?')}); give "
                                      "--labels first, last, a column number, or none")
        return read_split(path, layout=Layout.parse(labels, header))

    def predict_file(self, path: str | Path, labels: str | int = "first",
                     header: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """Predicted labels and class probabilities for the series of a file (see `read_file`)."""
        proba = self.predict_proba(self.read_file(path, labels, header).series)
        return self.labels_of(proba), proba

    def predictions_csv(self, predicted: np.ndarray, proba: np.ndarray, truth=None) -> str:
        """Predictions as CSV text: index, predicted, label (the file's own, when it has labels), p_<class> ..."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["index", "predicted", *(["label"] if truth is not None else []),
                         *[f"p_{c}" for c in self.classes]])
        for i, (label, p) in enumerate(zip(predicted, proba)):
            writer.writerow([i, label, *([truth[i]] if truth is not None else []), *[f"{v:.6f}" for v in p]])
        return buffer.getvalue()

    def save(self, path: str | Path, exclusive: bool = False) -> Path:
        """Write the model file atomically (temp file in the same folder, then rename); `exclusive`: refuse if the
        file exists when it lands (a run without --force that another process beat to the name)."""
        with atomic_path(path, exclusive=exclusive) as tmp:
            self.write(tmp)
        return Path(path)

    def write(self, path: str | Path) -> None:
        """Write the model file in place (not atomic: `save` is; used by writers that rename themselves)."""
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": self.network.config,
                  "classes": self.classes, "preprocessing": self.preprocessing, "metadata": self.metadata}
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        safetensors.torch.save_file(tensors, str(path), metadata={FORMAT: json.dumps(header, default=_json_default)})

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> TrainedModel:
        """Read a model file written by `save` (safetensors: no code runs while loading).

        The header is checked against the tensors' shapes before any network is built, so a small file
        cannot make the loader allocate more than the file holds; non-float or non-finite weights and a
        class list that disagrees with the output layer are refused."""
        path = Path(path)
        if not path.is_file():
            raise TSTransferError(f"{path}: no such model file")
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                meta = f.metadata() or {}
                if FORMAT not in meta:
                    raise TSTransferError(f"{path}: a safetensors file, but not a tstransfer model (no {FORMAT} "
                                          "header)")
                header = _check_header(meta[FORMAT], path)
                shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
                _check_shapes(header["architecture"], shapes, path)
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError) as err:
            raise TSTransferError(f"{path}: not a tstransfer model file (unreadable safetensors: {err})") from None
        for key, tensor in tensors.items():
            if key.endswith("num_batches_tracked"):
                continue
            if not tensor.is_floating_point():
                raise TSTransferError(f"{path}: tensor {key} is {tensor.dtype}, a model's weights are floats")
            if not torch.isfinite(tensor).all():
                raise TSTransferError(f"{path}: tensor {key} holds NaN or infinite values")
        network = network_from_config(header["architecture"])
        network.load_state_dict(tensors)
        network.to(device).eval()
        return cls(network, header["classes"], header["preprocessing"], header.get("metadata", {}))


MAX_LAYER_WIDTH = MAX_WIDTH  # far above any published network; a header asking for more is not tstransfer's
ACTIVATION_BUDGET = 1 << 16  # series x time steps per inference batch: 256 channels of float32 make it 64 MB


# the training record's fields that commands read (the rest is only shown): what each must be when present
METADATA_FIELDS = {"dataset": TEXT, "length": count(1), "n_train": count(1), "train_acc": SHARE, "test_acc": SHARE,
                   "best_epoch": count(0), "epochs": count(0), "seconds": SECONDS, "recipe": OBJECT, "source": TEXT}


def _check_header(text: str, path: Path) -> dict:
    """The JSON header of a model file, every field checked for type and range."""
    header = parse_json(text, path, "tstransfer model header")
    if not isinstance(header, dict):
        raise TSTransferError(f"{path}: corrupt tstransfer model header (not an object)")
    check_format_version(header.get("format_version"), FORMAT_VERSION, path, "format")
    for key, kind in (("architecture", dict), ("classes", list), ("preprocessing", dict)):
        if not isinstance(header.get(key), kind):
            raise TSTransferError(f"{path}: the header has no {key} ({kind.__name__})")
    if not isinstance(header.get("metadata", {}), dict):
        raise TSTransferError(f"{path}: the header's metadata is not an object")
    check_fields(header.get("metadata", {}), METADATA_FIELDS, f"{path}: metadata")
    arch = header["architecture"]
    _check_architecture(arch, path)
    classes = header["classes"]
    if len(classes) != arch["num_classes"]:
        raise TSTransferError(f"{path}: {len(classes)} class labels but the network has {arch['num_classes']} "
                              "outputs")
    if any(not isinstance(c, (int, float, str)) or isinstance(c, bool) for c in classes) or \
            len({repr(c) for c in classes}) != len(classes):
        raise TSTransferError(f"{path}: class labels must be distinct numbers or strings")
    return header


MAX_MEMBERS = 16  # an ensemble's members; each is a whole network


def _check_architecture(arch, path: Path, depth: int = 0) -> None:
    """A registered architecture's config with every field in range (its class's `check_config`), or an ensemble of
    at most MAX_MEMBERS of them (not nested)."""
    if isinstance(arch, dict) and arch.get("name") == "ensemble" and depth == 0:
        members = arch.get("members")
        if set(arch) != {"name", "in_channels", "num_classes", "members"} or not isinstance(members, list) \
                or not 1 <= len(members) <= MAX_MEMBERS:
            raise TSTransferError(f"{path}: an ensemble needs 1 to {MAX_MEMBERS} members {str(arch)[:120]}")
        for member in members:
            _check_architecture(member, path, depth + 1)
            if member["in_channels"] != arch["in_channels"] or member["num_classes"] != arch["num_classes"]:
                raise TSTransferError(f"{path}: the members of an ensemble must share input channels and classes")
        return
    if not isinstance(arch, dict) or not isinstance(arch.get("name"), str) or arch["name"] not in ARCHITECTURES:
        raise TSTransferError(f"{path}: unknown architecture {str(arch)[:120]} (known: {', '.join(ARCHITECTURES)})")
    if not (small_int(arch.get("in_channels")) and small_int(arch.get("num_classes"), 2, 100_000)):
        raise TSTransferError(f"{path}: architecture fields out of range {str(arch)[:160]}")
    problem = network_class(arch["name"]).check_config(arch)
    if problem:
        raise TSTransferError(f"{path}: {arch['name']} architecture: {problem} {str(arch)[:160]}")


def expected_shapes(arch: dict) -> dict[str, tuple]:
    """The state_dict shapes of a network (or an ensemble) with this architecture config, from the network itself
    built on torch's meta device (no memory, whatever the sizes)."""
    with torch.device("meta"):
        network = network_from_config(arch)
    return {key: tuple(t.shape) for key, t in network.state_dict().items()}


def _check_shapes(arch: dict, shapes: dict[str, tuple], path: Path) -> None:
    expected = expected_shapes(arch)
    if set(shapes) != set(expected):
        odd = sorted(set(shapes) ^ set(expected))[:4]
        raise TSTransferError(f"{path}: the tensors do not match the header's architecture (e.g. {odd})")
    for key, shape in expected.items():
        if shapes[key] != shape:
            raise TSTransferError(f"{path}: tensor {key} has shape {list(shapes[key])}, the header's "
                                  f"architecture needs {list(shape)}")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load a model file; see `TrainedModel.load`."""
    return TrainedModel.load(path, device)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (Path,)):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a model file")
