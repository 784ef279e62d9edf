"""Import Keras FCNs, such as the paper's released models, as tstransfer model files.

The authors published their models in two Keras layouts:
- pre-trained: `<Dataset>/best_model.hdf5`, a whole model (`model.save`: the architecture as JSON in the
  `model_config` attribute plus a `model_weights` group);
- fine-tuned: `<Source>/<Target>/architecture.txt` (`model.to_json()`) plus `best_model_weights.hdf5`
  (`model.save_weights`: the layer groups at the file's root).
Keras 3 files are read too: legacy `.h5` saves, `.weights.h5` (`layers/<name>/vars/<i>`) and `.keras` archives.

Only h5py and json are used. Keras is never imported and nothing in the file is executed. The layers must
form the FCN chain: [Conv1D('same') -> BatchNormalization -> ReLU] x n -> GlobalAveragePooling1D -> Dense
softmax. Anything else is refused with the offending layer named. Keras stores channels last, torch channels
first: a Conv1D kernel (k, in, out) becomes (out, in, k), and a Dense kernel (in, out) becomes (out, in).
Keras files carry no class labels. Output i is the i-th label in sorted order (the authors' one-hot
encoding), so the classes come from `--dataset` (sorted training labels) or `--classes`, else 0..C-1.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import PREPROCESSING, canonical_name, load_dataset, parse_labels
from .errors import TSTransferError
from .files import parse_json, safe_name
from .models import BN_EPS, MAX_LAYER_WIDTH, TrainedModel, create_model, load_model
from .training import evaluate

WHOLE_MODEL_NAMES = ("best_model.hdf5", "best_model.h5")
ARCHITECTURE_NAME = "architecture.txt"
WEIGHTS_NAMES = ("best_model_weights.hdf5", "best_model_weights.h5", "best_model.weights.h5")

# Keras weight order of each layer type (Keras 3 `.weights.h5` stores them by position only).
_WEIGHT_ORDER = {"Conv1D": ("kernel", "bias"), "BatchNormalization": ("gamma", "beta", "moving_mean",
                 "moving_variance"), "Dense": ("kernel", "bias")}


@dataclass
class KerasSource:
    """Where a Keras model's architecture and weights are: one file, or architecture JSON + weights file."""

    architecture: Path
    weights: Path


def _h5py():
    try:
        import h5py  # only Keras .hdf5 files need it
    except ImportError:
        raise TSTransferError("import-keras needs h5py: pip install 'tstransfer[keras]'") from None
    return h5py


def _text(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf8")
    return str(value)


def _attribute(group, name: str):
    """An HDF5 attribute as Keras writes it: whole, or split over name0, name1, ... when over 64 KB."""
    if name in group.attrs:
        value = group.attrs[name]
    elif f"{name}0" in group.attrs:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.extend(group.attrs[f"{name}{i}"])
            i += 1
        value = chunks
    else:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size == 0:
        return []  # Keras writes an empty float array for a layer without weights
    return [_text(v) for v in value] if isinstance(value, (list, np.ndarray)) else _text(value)


# ----------------------------------------------------------------------------- finding the files


def locate(path: str | Path, weights: str | Path | None = None) -> KerasSource:
    """The architecture and weights of one model: a whole-model HDF5, a `.keras` archive, an architecture
    JSON (weights from `weights` or the file beside it), or a folder holding one of these."""
    path = Path(path)
    if not path.exists():
        raise TSTransferError(f"{path}: no such file or folder")
    if path.is_dir():
        found = model_file(path)
        if found is not None:
            return locate(found, weights)
        raise TSTransferError(f"{path}: no Keras model in the folder (looked for {', '.join(WHOLE_MODEL_NAMES)}, "
                              f"{ARCHITECTURE_NAME} or *.keras)")
    if path.suffix == ".keras":
        return KerasSource(path, Path(weights) if weights else path)
    if _is_json(path):
        if weights is None:
            found = [path.parent / n for n in WEIGHTS_NAMES if (path.parent / n).is_file()]
            if not found:
                raise TSTransferError(f"{path}: an architecture without weights; give --weights "
                                      f"(looked for {', '.join(WEIGHTS_NAMES)} beside it)")
            weights = found[0]
        return KerasSource(path, Path(weights))
    return KerasSource(path, Path(weights) if weights else path)


def model_file(folder: Path) -> Path | None:
    """The file of the folder's model: a whole model first, then an architecture, then a .keras archive."""
    for candidate in (*(folder / n for n in (*WHOLE_MODEL_NAMES, ARCHITECTURE_NAME)), *sorted(folder.glob("*.keras"))):
        if candidate.is_file():
            return candidate
    return None


def _is_json(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(1) == b"{"


def find_models(root: str | Path) -> list[Path]:
    """Every folder under `root` that holds a Keras model (the authors' archives: one folder per dataset,
    or per source and target), sorted."""
    root = Path(root)
    names = (*WHOLE_MODEL_NAMES, ARCHITECTURE_NAME)
    return sorted({p.parent for name in names for p in root.rglob(name)})


# ----------------------------------------------------------------------------- reading the architecture


MAX_JSON_BYTES = 16 << 20  # a .keras config/metadata member; an FCN's is a few KB
MAX_WEIGHTS_BYTES = 64 << 20  # a .keras weights member; the paper's FCN is 1 MB
MAX_ARRAY_ELEMENTS = 16 << 20  # one weight array (64 MB in float32); the paper's largest has 164k
MAX_BLOCKS = 16


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """A member of a .keras archive, refused before reading when it announces more than `limit` bytes
    (zipfile never inflates past the announced size, so a zip bomb cannot exceed it)."""
    size = archive.getinfo(name).file_size
    if size > limit:
        raise TSTransferError(f"{path}: its member {name} inflates to {size} bytes (more than the {limit} an FCN "
                              "can need); refused")
    return archive.read(name)


def read_config(source: KerasSource) -> tuple[dict, dict]:
    """(model config, {keras_version, backend}) of a whole-model HDF5, an architecture JSON or a .keras file."""
    path = source.architecture
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                config = parse_json(_read_member(archive, "config.json", MAX_JSON_BYTES, path), path)
                meta = (parse_json(_read_member(archive, "metadata.json", MAX_JSON_BYTES, path), path)
                        if "metadata.json" in archive.namelist() else {})
        except (zipfile.BadZipFile, KeyError, ValueError) as err:
            raise TSTransferError(f"{path}: not a readable .keras archive ({err})") from None
        return config, {"keras_version": meta.get("keras_version"), "backend": None}
    if _is_json(path):
        try:
            text = path.read_text()
        except (ValueError, UnicodeDecodeError) as err:
            raise TSTransferError(f"{path}: not a Keras architecture JSON ({err})") from None
        config = parse_json(text, path, "Keras architecture JSON")
        return config, {"keras_version": config.get("keras_version"), "backend": config.get("backend")}
    with _open_h5(path) as f:
        text = _attribute(f, "model_config")
        if text is None:
            raise TSTransferError(f"{path}: an HDF5 file without a model architecture (no model_config); a "
                                  f"weights-only file needs its {ARCHITECTURE_NAME}")
        config = parse_json(text, path, "Keras model_config JSON")
        return config, {"keras_version": _attribute(f, "keras_version"), "backend": _attribute(f, "backend")}


def _open_h5(path: Path):
    h5py = _h5py()
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise TSTransferError(f"{path}: not an HDF5 file ({err})") from None


def _inbound(layer: dict) -> list[str]:
    """Names of the layers feeding `layer` (Keras 2 nested lists or Keras 3 keras_history records)."""
    names: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "keras_history" in node:
                names.append(node["keras_history"][0])
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
                names.append(node[0])  # Keras 2: [name, node_index, tensor_index, kwargs]
            else:
                for value in node:
                    walk(value)

    nodes = layer.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise TSTransferError(f"layer {layer.get('name')!r} is called more than once; not an FCN")
    walk(nodes)
    return names


def layer_chain(config: dict, where: Path) -> list[dict]:
    """The model's layers in order, checked to form a single chain (no branches, no shared layers)."""
    kind, body = config.get("class_name"), config.get("config")
    if kind == "Sequential":
        return list(body["layers"] if isinstance(body, dict) else body)
    if kind not in ("Model", "Functional"):
        raise TSTransferError(f"{where}: a Keras {kind!r}, not a Model/Functional/Sequential architecture")
    layers = body["layers"]
    for previous, layer in zip(layers, layers[1:]):
        if _inbound(layer) != [previous["name"]]:
            raise TSTransferError(f"{where}: layer {layer['name']!r} is not fed by {previous['name']!r} alone; "
                                  "import-keras converts a plain FCN chain")
    return layers


def _layer_config(layer: dict) -> dict:
    config = dict(layer.get("config", {}))
    config.setdefault("name", layer.get("name"))
    return config


def _is_relu(layer: dict) -> bool:
    config = _layer_config(layer)
    if layer["class_name"] == "Activation":
        return config.get("activation") == "relu"
    return layer["class_name"] == "ReLU" and not config.get("max_value") and not config.get("negative_slope") \
        and not config.get("threshold")


def _bounded(value, low: int, high: int, what: str, where: Path) -> int:
    """An integer of the architecture, checked before anything is built from it."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TSTransferError(f"{where}: {what} is {value!r}; an FCN has an integer in [{low}, {high}]")
    return value


def parse_fcn(layers: list[dict], where: Path) -> dict:
    """Check the chain is an FCN and return its shape: blocks (conv, bn names, filters, kernel), dense name."""
    rest = [layer for layer in layers if layer["class_name"] != "InputLayer"]
    refuse = ("import-keras converts the FCN: [Conv1D(padding='same') -> BatchNormalization -> ReLU] x n -> "
              "GlobalAveragePooling1D -> Dense(softmax)")
    blocks, i = [], 0
    while i < len(rest) and rest[i]["class_name"] == "Conv1D":
        conv = _layer_config(rest[i])
        expected = {"padding": "same", "strides": [1], "dilation_rate": [1], "activation": "linear", "use_bias": True}
        for key, value in expected.items():
            actual = conv.get(key, value)
            actual = list(actual) if isinstance(actual, (list, tuple)) else actual
            if actual != value and not (isinstance(value, list) and actual == value[0]):
                raise TSTransferError(f"{where}: Conv1D {conv['name']!r} has {key}={actual!r} (FCN: {value!r}); "
                                      + refuse)
        if conv.get("groups", 1) != 1 or conv.get("data_format", "channels_last") != "channels_last":
            raise TSTransferError(f"{where}: Conv1D {conv['name']!r} is grouped or channels_first; " + refuse)
        if i + 2 >= len(rest) or rest[i + 1]["class_name"] != "BatchNormalization" or not _is_relu(rest[i + 2]):
            found = " -> ".join(layer["class_name"] for layer in rest[i + 1 : i + 3])
            raise TSTransferError(f"{where}: Conv1D {conv['name']!r} is followed by {found}; " + refuse)
        bn = _layer_config(rest[i + 1])
        axis = bn.get("axis", -1)
        if (axis[0] if isinstance(axis, list) and len(axis) == 1 else axis) not in (-1, 2):
            raise TSTransferError(f"{where}: BatchNormalization {bn['name']!r} normalises axis {axis}, not the "
                                  "channels; " + refuse)
        if not bn.get("center", True) or not bn.get("scale", True):
            raise TSTransferError(f"{where}: BatchNormalization {bn['name']!r} without center/scale; " + refuse)
        if abs(float(bn.get("epsilon", BN_EPS)) - BN_EPS) > 1e-12:
            raise TSTransferError(f"{where}: BatchNormalization {bn['name']!r} has epsilon {bn['epsilon']}; "
                                  f"tstransfer's FCN uses Keras' default {BN_EPS}")
        kernel = conv["kernel_size"]
        blocks.append({"conv": conv["name"], "bn": bn["name"],
                       "filters": _bounded(conv["filters"], 1, MAX_LAYER_WIDTH, f"Conv1D {conv['name']!r} filters",
                                           where),
                       "kernel": _bounded(kernel[0] if isinstance(kernel, (list, tuple)) else kernel, 1, 1024,
                                          f"Conv1D {conv['name']!r} kernel_size", where)})
        if len(blocks) > MAX_BLOCKS:
            raise TSTransferError(f"{where}: more than {MAX_BLOCKS} conv blocks; " + refuse)
        i += 3
    if not blocks:
        first = rest[0]["class_name"] if rest else "nothing"
        raise TSTransferError(f"{where}: the model starts with {first}, not Conv1D; " + refuse)
    tail = [layer["class_name"] for layer in rest[i:]]
    dense = _layer_config(rest[i + 1]) if len(rest) > i + 1 else {}
    softmax = dense.get("activation") == "softmax" and len(tail) == 2
    softmax_after = (dense.get("activation") == "linear" and len(tail) == 3
                     and (tail[2] == "Softmax" or _layer_config(rest[i + 2]).get("activation") == "softmax"))
    if tail[:2] != ["GlobalAveragePooling1D", "Dense"] or not (softmax or softmax_after):
        raise TSTransferError(f"{where}: after the conv blocks comes {' -> '.join(tail) or 'nothing'}; " + refuse)
    if _layer_config(rest[i]).get("data_format", "channels_last") != "channels_last":
        raise TSTransferError(f"{where}: GlobalAveragePooling1D pools channels_first; " + refuse)
    if not dense.get("use_bias", True):
        raise TSTransferError(f"{where}: Dense {dense['name']!r} has no bias; " + refuse)
    first = layers[0] if layers[0]["class_name"] == "InputLayer" else rest[0]
    shape = _layer_config(first).get("batch_shape") or _layer_config(first).get("batch_input_shape")
    units = _bounded(dense.get("units"), 2, 100_000, f"Dense {dense['name']!r} units", where)
    return {"blocks": blocks, "dense": dense["name"], "num_classes": units,
            "input_length": shape[1] if shape and len(shape) == 3 else None}


# ----------------------------------------------------------------------------- reading the weights


class _Weights:
    """Named weight arrays per layer, whatever the HDF5 layout (Keras 2/3 legacy groups, Keras 3 vars)."""

    def __init__(self, path: Path):
        self.path = path
        self._zip = None
        if path.suffix == ".keras":
            try:
                self._zip = zipfile.ZipFile(path)
                data = io.BytesIO(_read_member(self._zip, "model.weights.h5", MAX_WEIGHTS_BYTES, path))
            except (zipfile.BadZipFile, KeyError) as err:
                raise TSTransferError(f"{path}: no model.weights.h5 in the .keras archive ({err})") from None
            self.file = _h5py().File(data, "r")
        else:
            self.file = _open_h5(path)
        root = self.file
        if "model_weights" in root:
            self.layout, self.root = "legacy", root["model_weights"]
        elif _attribute(root, "layer_names") is not None:
            self.layout, self.root = "legacy", root
        elif "layers" in root or "_layer_checkpoint_dependencies" in root:
            self.layout = "vars"
            self.root = root["layers"] if "layers" in root else root["_layer_checkpoint_dependencies"]
        else:
            raise TSTransferError(f"{path}: no Keras weights in this HDF5 file (no model_weights, layer_names or "
                                  "layers group)")

    def _array(self, dataset, layer: str) -> np.ndarray:
        """One weight array, its size checked before it is read (a small compressed file can hold a huge one)."""
        shape = getattr(dataset, "shape", None)
        if shape is None or int(np.prod(shape, dtype=np.float64)) > MAX_ARRAY_ELEMENTS:
            raise TSTransferError(f"{self.path}: a weight of layer {layer!r} has shape {shape}; not an FCN weight "
                                  f"(at most {MAX_ARRAY_ELEMENTS} values)")
        return np.asarray(dataset[()], dtype=np.float32)

    def layer(self, name: str, kind: str) -> dict[str, np.ndarray]:
        if name not in self.root:
            raise TSTransferError(f"{self.path}: no weights for layer {name!r}")
        group = self.root[name]
        if self.layout == "legacy":
            names = _attribute(group, "weight_names") or []
            # Keras 2 names 'conv1d_1/kernel:0', Keras 3 'conv1d/kernel': the last part names the weight.
            return {n.split("/")[-1].split(":")[0]: self._array(group[n], name) for n in names}
        values = group["vars"] if "vars" in group else group
        arrays = [self._array(values[k], name) for k in sorted(values, key=int)]
        return dict(zip(_WEIGHT_ORDER[kind], arrays))

    def close(self) -> None:
        self.file.close()
        if self._zip is not None:
            self._zip.close()


def _take(weights: dict, names: tuple, layer: str, where: Path) -> list[np.ndarray]:
    missing = [n for n in names if n not in weights]
    if missing:
        raise TSTransferError(f"{where}: layer {layer!r} lacks weights {missing} (has {sorted(weights)})")
    return [weights[n] for n in names]


def _vector(value: np.ndarray, size: int, what: str, where: Path) -> np.ndarray:
    if value.shape != (size,):
        raise TSTransferError(f"{where}: {what} has shape {value.shape}, the architecture says ({size},)")
    return value


def state_dict(fcn: dict, weights: _Weights) -> tuple[dict, int]:
    """The torch state dict of `tstransfer.models.FCN` from Keras weights, and the input channels."""
    state, where = {}, weights.path
    for i, block in enumerate(fcn["blocks"]):
        kernel, bias = _take(weights.layer(block["conv"], "Conv1D"), ("kernel", "bias"), block["conv"], where)
        in_channels = kernel.shape[1] if i == 0 else fcn["blocks"][i - 1]["filters"]
        expected = (block["kernel"], in_channels, block["filters"])
        if kernel.shape != expected:
            raise TSTransferError(f"{where}: Conv1D {block['conv']!r} kernel has shape {kernel.shape}, the "
                                  f"architecture says {expected}")
        state[f"blocks.{i}.conv.weight"] = kernel.transpose(2, 1, 0)  # (k, in, out) -> (out, in, k)
        state[f"blocks.{i}.conv.bias"] = _vector(bias, block["filters"], f"Conv1D {block['conv']!r} bias", where)
        gamma, beta, mean, var = (_vector(v, block["filters"], f"BatchNormalization {block['bn']!r} {n}", where)
                                  for v, n in zip(_take(weights.layer(block["bn"], "BatchNormalization"),
                                                        _WEIGHT_ORDER["BatchNormalization"], block["bn"], where),
                                                  _WEIGHT_ORDER["BatchNormalization"]))
        state[f"blocks.{i}.bn.weight"], state[f"blocks.{i}.bn.bias"] = gamma, beta
        state[f"blocks.{i}.bn.running_mean"], state[f"blocks.{i}.bn.running_var"] = mean, var
    kernel, bias = _take(weights.layer(fcn["dense"], "Dense"), ("kernel", "bias"), fcn["dense"], where)
    expected = (fcn["blocks"][-1]["filters"], fcn["num_classes"])
    if kernel.shape != expected:
        raise TSTransferError(f"{where}: Dense {fcn['dense']!r} kernel has shape {kernel.shape}, expected {expected}")
    bias = _vector(bias, fcn["num_classes"], f"Dense {fcn['dense']!r} bias", where)
    state["classifier.weight"], state["classifier.bias"] = kernel.T, bias  # (in, out) -> (out, in)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    for i in range(len(fcn["blocks"])):  # Keras keeps no step count; torch only uses it for momentum=None
        tensors[f"blocks.{i}.bn.num_batches_tracked"] = torch.tensor(0)
    return tensors, int(state["blocks.0.conv.weight"].shape[1])


# ----------------------------------------------------------------------------- the import


def import_keras(path: str | Path, weights: str | Path | None = None, classes: list | None = None,
                 metadata: dict | None = None, classes_from: str = "--classes") -> TrainedModel:
    """A tstransfer model predicting what the Keras FCN at `path` predicts (see the module docstring).
    `classes` label the outputs in order (default 0..C-1); `classes_from` names their origin in errors."""
    source = locate(path, weights)
    config, versions = read_config(source)
    try:
        fcn = parse_fcn(layer_chain(config, source.architecture), source.architecture)
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise TSTransferError(f"{source.architecture}: not a Keras model architecture ({err!r})") from None
    num_classes = fcn["num_classes"]
    if classes is None:
        classes = list(range(num_classes))
    elif len(classes) != num_classes:
        raise TSTransferError(f"{classes_from}: {len(classes)} classes {classes}, but the model "
                              f"{source.architecture} has {num_classes} outputs")
    reader = _Weights(source.weights)
    try:
        tensors, in_channels = state_dict(fcn, reader)
    except TSTransferError:
        raise
    except (KeyError, OSError, ValueError) as err:  # a damaged file: h5py's own errors
        raise TSTransferError(f"{source.weights}: unreadable Keras weights ({err})") from None
    finally:
        reader.close()
    network = create_model("fcn", in_channels=in_channels, num_classes=num_classes,
                           filters=[b["filters"] for b in fcn["blocks"]], kernels=[b["kernel"] for b in fcn["blocks"]])
    network.load_state_dict(tensors)
    record = {"kind": "keras-import", "imported_from": str(source.architecture),
              "weights_file": str(source.weights), "keras_version": versions["keras_version"],
              "keras_backend": versions["backend"], "input_length": fcn["input_length"]}
    if fcn["input_length"]:
        record["length"] = fcn["input_length"]
    record.update(metadata or {})
    return TrainedModel(network.eval(), list(classes), dict(PREPROCESSING), record)


def import_for_dataset(path: str | Path, dataset, weights: str | Path | None = None,
                       metadata: dict | None = None) -> TrainedModel:
    """Import a model trained on `dataset`: its sorted training labels become the classes (the authors'
    one-hot encoding) and its test accuracy is measured and recorded (a check that the import is right)."""
    record = {"dataset": dataset.name, "n_train": len(dataset.y_train), "length": int(dataset.X_train.shape[-1]),
              **(metadata or {})}
    model = import_keras(path, weights, classes=list(dataset.classes), metadata=record,
                         classes_from=f"--dataset {dataset.name}")
    if dataset.X_test is not None:
        report = evaluate(model, dataset)
        model.metadata.update(test_acc=report["accuracy"], test_loss=report["loss"])
    return model


def import_tree(root: str | Path, out_dir: str | Path, archive: str | Path | None = None,
                progress: bool = True) -> list[dict]:
    """Import every model folder under `root` (the authors' archives) into `out_dir`, keeping the folder
    structure: `<Dataset>/best_model.hdf5` -> `<out>/<Dataset>.safetensors` and `<Source>/<Target>/...` ->
    `<out>/<Source>/<Target>.safetensors`. The last folder names the dataset the model was trained on; with
    `archive` holding it, its labels and test accuracy are used. Existing outputs are kept (resumable)."""
    root, out_dir = Path(root), Path(out_dir)
    folders = find_models(root)
    if not folders:
        raise TSTransferError(f"{root}: no Keras model folders below it (none holds {', '.join(WHOLE_MODEL_NAMES)}"
                              f" or {ARCHITECTURE_NAME})")
    datasets: dict[str, object] = {}
    rows = []
    for folder in tqdm(folders, desc="import-keras", unit="model", disable=not progress):
        relative = folder.relative_to(root)
        name = canonical_name(folder.name) if folder != root else folder.name
        parents = [canonical_name(part) for part in relative.parent.parts]  # 2015 names become 2018 names
        out = out_dir.joinpath(*parents, f"{name}.safetensors")
        row = {"model": str(folder), "dataset": name, "file": str(out), "test_acc": None, "status": "kept"}
        extra = {"source": parents[-1]} if parents else {}
        try:  # one bad model is reported and the others are imported
            safe_name(name, f"{folder}: dataset")
            for part in parents:
                safe_name(part, f"{folder}: source")
            if out.is_file():
                row["test_acc"] = load_model(out).metadata.get("test_acc")
            else:
                if archive is not None and name not in datasets:
                    try:
                        datasets[name] = load_dataset(name, archive)
                    except TSTransferError:
                        datasets[name] = None  # not in the archive: classes 0..C-1, no accuracy
                dataset = datasets.get(name)
                if dataset is not None:
                    model = import_for_dataset(folder, dataset, metadata=extra)
                else:
                    model = import_keras(folder, metadata={"dataset": name, **extra})
                model.save(out)
                row["test_acc"] = model.metadata.get("test_acc")
                row["status"] = ("imported" if dataset is not None
                                 else "imported (classes 0..C-1: not in the archive)")
        except TSTransferError as err:
            row["status"], row["error"] = "failed", str(err)
        rows.append(row)
    return rows


@dataclass
class ImportOutcome:
    """What `import_path` did: a tree of models (`rows`, one per model folder) or one model written to `path`."""

    tree: bool
    rows: list[dict] = field(default_factory=list)
    model: object = None
    path: Path | None = None

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]

    def summary(self, out: str | Path) -> str:
        """A tree import in one line: the models in `out`, how many imported now, their mean test accuracy."""
        imported = [r for r in self.rows if r["status"] != "failed"]
        accuracies = [r["test_acc"] for r in self.rows if r["test_acc"] is not None]
        mean = (f"; mean test accuracy {sum(accuracies) / len(accuracies):.4f} over {len(accuracies)}"
                if accuracies else "")
        return f"{len(imported)} models in {out} ({sum(r['status'] != 'kept' for r in imported)} imported now){mean}"

    def notes(self) -> list[str]:
        """Per model, what is neither kept, imported nor failed (e.g. skipped, and why)."""
        return [f"{r['dataset']}: {r['status']}" for r in self.rows
                if r["status"] not in ("kept", "imported", "failed")]


def import_path(source: str | Path, out: str | Path, weights: str | Path | None = None, dataset: str | None = None,
                classes: str | None = None, archive: str | Path | None = None, progress: bool = True) -> ImportOutcome:
    """`tstransfer import-keras`: a folder of model folders (the authors' archives) into the folder `out`, or
    one model (a file, or a folder holding one) into the model file `out`, its classes from `dataset` (a
    dataset of `archive`), from `classes` ("a,b,c") or the output indices."""
    source, out_text = Path(source), str(out)
    if source.is_dir() and model_file(source) is None and find_models(source):
        if classes or dataset or weights:
            raise TSTransferError(f"{source}: a folder of model folders; --classes, --dataset and --weights apply "
                                  "to one model (each folder name is taken as its dataset)")
        if Path(out).is_file():
            raise TSTransferError(f"--out {out}: a file; importing a tree of models writes a folder")
        return ImportOutcome(True, rows=import_tree(source, out, archive, progress=progress))
    if out_text.endswith(os.sep) or Path(out).is_dir():
        raise TSTransferError(f"--out {out}: a folder; give the model file to write (.safetensors)")
    if classes and dataset:
        raise TSTransferError("give --classes or --dataset, not both")
    locate(source, weights)  # bad paths fail before a dataset is loaded
    if dataset:
        model = import_for_dataset(source, load_dataset(dataset, archive), weights)
    else:
        labels = parse_labels(classes.split(",")).tolist() if classes else None
        model = import_keras(source, weights, classes=labels)
    return ImportOutcome(False, model=model, path=model.save(out))
