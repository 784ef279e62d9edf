"""Model zoos: folders of pre-trained models with the DBA prototypes of their training sets.

A published zoo (what `tstransfer zoo build` writes and `zoo pull` downloads, and the one shipped in the
package) is
    zoo.json                       the manifest: name, version, recipe, archive, and per model its dataset,
                                   classes, sizes, accuracies, seed, files and their sha256
    models/<Dataset>.safetensors   the pre-trained FCNs (float16 by default: half the size; the manifest's
                                   accuracies are measured with the stored weights)
    prototypes/<Dataset>.npz       Algorithm 1's class prototypes of the training set
    models/backbone-<arch>.safetensors  a backbone (`tstransfer backbone build --zoo`): one network pre-trained on
                                   many datasets at once; the manifest's `backbones` lists it with the datasets
                                   it saw (never a target of it)
    build/                         the build's own study (results store, float32 models, histories): not
                                   part of a published zoo, only what makes `zoo build` resumable
Plain folders are zoos too: a study folder (`pretrained/*.safetensors` + `similarity/prototypes/*.npz`) or a
flat folder (`*.safetensors` + `prototypes/*.npz`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from tqdm.auto import tqdm

from . import __version__
from .architectures import ARCHITECTURES, DEFAULT_ARCH, architecture
from .data import data_fingerprint, did_you_mean, find_dataset, load_dataset
from .download import check_timeout, fetch
from .errors import TSTransferError, shown
from .files import (
    OBJECT,
    SECONDS,
    SHARE,
    TEXT,
    atomic_path,
    atomic_write_text,
    check_fields,
    check_format_version,
    check_writable_dir,
    count,
    parse_json,
    safe_name,
    sha256_file,
)
from .grid import run_grid
from .guardrails import majority_rate
from .models import FORMAT, TrainedModel, architecture_of, load_model
from .recipe import FIT_ARCH, TrainConfig
from .similarity import cache_key, class_prototypes, read_prototypes, write_prototypes
from .study import StudyPaths, plan_runs
from .training import evaluate

SHIPPED_ZOOS = Path(__file__).parent / "pretrained_zoo"  # one zoo per architecture: pretrained_zoo/<arch>/


def shipped_zoo(arch: str = DEFAULT_ARCH) -> Path:
    """The folder of the zoo of `arch` shipped with tstransfer (it may not exist: not every architecture has one)."""
    return SHIPPED_ZOOS / architecture(arch).name


SHIPPED_ZOO = shipped_zoo()  # the paper's FCNs
MANIFEST = "zoo.json"
ZOO_FORMAT = "tstransfer-zoo"
ZOO_FORMAT_VERSION = 1
STORAGE = ("float16", "float32")


class ZooPaths:
    """Where everything of a published zoo folder lives (the layout above), relative names as the manifest
    stores them; no I/O."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.manifest = self.root / MANIFEST
        self.models_dir = self.root / "models"
        self.prototypes_dir = self.root / "prototypes"

    @staticmethod
    def model_name(dataset: str) -> str:
        return f"models/{dataset}.safetensors"

    @staticmethod
    def prototypes_name(dataset: str) -> str:
        return f"prototypes/{dataset}.npz"

    def model(self, dataset: str) -> Path:
        return self.root / self.model_name(safe_name(dataset, "dataset"))

    def prototypes(self, dataset: str) -> Path:
        return self.root / self.prototypes_name(safe_name(dataset, "dataset"))


@dataclass
class ZooEntry:
    name: str
    path: Path
    classes: int
    length: int | None
    n_train: int | None
    accuracy: float | None
    prototypes: Path | None
    record: dict = field(default_factory=dict)  # the manifest's entry, when the zoo has one
    channels: int = 1  # input channels the model takes
    arch: str = DEFAULT_ARCH  # its architecture (architectures.ARCHITECTURES; "ensemble" for an ensemble file)
    recipe: str = "unknown"  # the name of the recipe it was trained with, as its manifest or file records it


def read_manifest(root: str | Path) -> dict:
    """A zoo's manifest, checked: its format, and every file it names inside the zoo folder."""
    path = ZooPaths(root).manifest
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise TSTransferError(f"{path}: not a readable zoo manifest ({err})") from None
    manifest = parse_json(text, path, "zoo manifest JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != ZOO_FORMAT:
        raise TSTransferError(f"{path}: not a tstransfer zoo manifest (format is not {ZOO_FORMAT!r})")
    check_format_version(manifest.get("format_version"), ZOO_FORMAT_VERSION, path, "zoo format")
    models = manifest.get("models")
    if not isinstance(models, dict):
        raise TSTransferError(f"{path}: 'models' must be an object of dataset -> entry")
    recipe = manifest.get("recipe")
    if recipe is not None:
        TrainConfig.from_record(recipe, f"{path}: recipe")  # types and ranges, refused in one line
    for name, entry in models.items():
        safe_name(name, f"{path}: dataset")
        if not isinstance(entry, dict):
            raise TSTransferError(f"{path}: the entry of {name} is not an object")
        check_entry(entry, f"{path}: {name}")
        for key, expected in (("file", ZooPaths.model_name(name)), ("prototypes", ZooPaths.prototypes_name(name))):
            if entry.get(key) != expected:
                raise TSTransferError(f"{path}: {name}: {key} must be {expected}, not {entry.get(key)!r}")
            digest = entry.get(f"{key}_sha256" if key == "prototypes" else "sha256")
            if not is_sha256(digest):
                raise TSTransferError(f"{path}: {name}: the sha256 of its {key} is not a sha256 hex digest")
    backbones = manifest.get("backbones", {})
    if not isinstance(backbones, dict):
        raise TSTransferError(f"{path}: 'backbones' must be an object of name -> entry")
    for name, entry in backbones.items():
        check_backbone_entry(name, entry, f"{path}: {shown(name)}")
    return manifest


def is_sha256(value) -> bool:
    """A sha256 hex digest as a manifest records it (64 lower-case hex digits)."""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


BACKBONE_FIELDS = {
    "arch": (lambda v: v in ARCHITECTURES, f"one of {', '.join(ARCHITECTURES)}"),
    "sha256": (lambda v: is_sha256(v), "a sha256 hex digest"),
    "datasets": (lambda v: isinstance(v, list) and 2 <= len(v) <= MAX_ZOO_MODELS and all(
        isinstance(n, str) and n.isprintable() and 0 < len(n) <= 100 for n in v), "a list of the dataset names"),
    "bytes": count(0), "steps": count(1), "objective_accuracy": SHARE, "objective": TEXT, "sampling": TEXT,
}


def check_backbone_entry(name: str, entry, where: str) -> None:
    """A manifest's backbone entry: `backbone-<arch>[-<domain>]`, its file in models/, the datasets it saw."""
    safe_name(name, where)
    if not isinstance(entry, dict):
        raise TSTransferError(f"{where}: the entry is not an object")
    check_fields(entry, BACKBONE_FIELDS, where)
    missing = [k for k in ("arch", "sha256", "datasets") if k not in entry]
    if missing:
        raise TSTransferError(f"{where}: a backbone entry needs {', '.join(missing)} (the datasets it saw: a target "
                              "must never be one of them)")
    if not (name == f"backbone-{entry['arch']}" or name.startswith(f"backbone-{entry['arch']}-")):
        raise TSTransferError(f"{where}: a backbone of {entry['arch']} is named backbone-{entry['arch']}[-domain]")
    if entry.get("file") != ZooPaths.model_name(name):
        raise TSTransferError(f"{where}: file must be {ZooPaths.model_name(name)}, not {shown(entry.get('file'))}")


def add_backbone(root: str | Path, model_path: str | Path, name: str | None = None) -> str:
    """Put a backbone model file into the published zoo at `root` (models/<name>.safetensors, default
    backbone-<arch>) and list it in the manifest with its sha256 and the datasets it saw. Returns the name."""
    from .backbone import seen_datasets

    root, layout = Path(root), ZooPaths(root)
    if not layout.manifest.is_file():
        raise TSTransferError(f"--zoo {root}: no {MANIFEST}; a backbone joins a published zoo (see `zoo build`)")
    model = load_model(model_path)
    if model.metadata.get("kind") != "backbone":
        raise TSTransferError(f"{model_path}: not a backbone (made by `tstransfer backbone build`)")
    seen = seen_datasets(model, str(model_path))
    arch = architecture_of(model.network)
    name = name or f"backbone-{arch}"
    manifest = read_manifest(root)
    layout.models_dir.mkdir(exist_ok=True)
    target = root / ZooPaths.model_name(safe_name(name, "backbone name"))
    with atomic_path(target) as tmp:
        shutil.copyfile(model_path, tmp)
    record = model.metadata.get("backbone", {})
    history = model.metadata.get("history") or {}
    entry = {"file": ZooPaths.model_name(name), "sha256": sha256_file(target), "bytes": target.stat().st_size,
             "arch": arch, "datasets": [d["name"] for d in seen], "objective": model.metadata.get("objective"),
             "sampling": record.get("sampling"), "steps": record.get("steps"),
             "objective_accuracy": history.get("accuracy")}  # its objective, on the last training batches
    entry = {k: v for k, v in entry.items() if v is not None}
    check_backbone_entry(name, entry, f"{name}")
    manifest.setdefault("backbones", {})[name] = entry
    write_manifest(root, manifest)
    return name


MAX_CLASSES = 100_000
MAX_CHANNELS = 100_000
# a manifest entry's fields: what each must be when present (None allowed for the measured ones)
ENTRY_FIELDS = {
    "classes": (lambda v: isinstance(v, list) and 1 <= len(v) <= MAX_CLASSES
                and all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in v),
                f"a list of 1 to {MAX_CLASSES} labels"),
    "n_classes": count(1), "length": count(1), "n_train": count(1), "n_test": count(0), "best_epoch": count(0),
    "epochs_run": count(0), "seed": count(0), "bytes": count(0), "prototypes_bytes": count(0),
    "channels": (lambda v: count(1)[0](v) and v <= MAX_CHANNELS, f"an integer from 1 to {MAX_CHANNELS}"),
    "train_acc": SHARE, "test_acc": SHARE, "float32_test_acc": SHARE, "seconds": SECONDS,
    "arch": (lambda v: v in ARCHITECTURES, f"one of {', '.join(ARCHITECTURES)}"),
    "dataset": TEXT, "recipe": OBJECT, "majority": SHARE,
    "published": (lambda v: isinstance(v, dict) and all(isinstance(v.get(k), (int, float)) and not isinstance(
        v.get(k), bool) and 0 <= v[k] <= 100 for k in ("mean", "std")), "{\"mean\": %, \"std\": %}"),
}


def check_entry(entry: dict, where: str) -> None:
    """A manifest entry's fields, by type and range (a hostile manifest is refused in one line, never reaches the
    code that prints or uses it)."""
    check_fields(entry, ENTRY_FIELDS, where)
    if isinstance(entry.get("recipe"), dict):
        TrainConfig.from_record(entry["recipe"], f"{where}: recipe")
    if entry.get("classes") is not None and entry.get("n_classes") is not None \
            and entry["n_classes"] != len(entry["classes"]):
        raise TSTransferError(f"{where}: n_classes {entry['n_classes']} but {len(entry['classes'])} classes")


def write_manifest(root: Path, manifest: dict) -> Path:
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return atomic_write_text(ZooPaths(root).manifest, json.dumps(manifest, indent=1) + "\n")


class Zoo:
    """The pre-trained models of a zoo folder (default: the zoo of `arch` shipped with tstransfer) and their
    prototypes."""

    def __init__(self, root: str | Path | None = None, arch: str | None = None):
        self.root = Path(root) if root is not None else shipped_zoo(arch or DEFAULT_ARCH)
        if root is None and not self.root.is_dir():
            shipped = [a for a in ARCHITECTURES if shipped_zoo(a).is_dir()]
            raise TSTransferError(f"--arch {arch}: tstransfer ships no zoo of {arch} models (it ships "
                                  f"{', '.join(shipped)}); build one with `tstransfer zoo build --arch {arch}` and "
                                  "give it as --zoo")
        if not self.root.is_dir():
            raise TSTransferError(f"--zoo {self.root}: no such folder")
        layout = ZooPaths(self.root)
        self.manifest = read_manifest(self.root) if layout.manifest.is_file() else None
        if self.manifest is not None:
            self.models_dir, self.prototypes_dir = layout.models_dir, layout.prototypes_dir
            self.entries = {e.name: e for e in self._from_manifest()}
        else:
            study = StudyPaths(self.root, primary_seed=0)  # a study folder is a zoo of its first seed's models
            self.models_dir = study.pretrained_dir if study.pretrained_dir.is_dir() else self.root
            proto = study.prototypes
            self.prototypes_dir = proto if proto.is_dir() else layout.prototypes_dir
            self.entries = {}
            for entry in self._scan():
                if entry.name in self.entries:
                    raise TSTransferError(f"--zoo {self.root}: two models of {entry.name}: "
                                          f"{self.entries[entry.name].path.name} and {entry.path.name}; "
                                          "keep one of them in the folder")
                self.entries[entry.name] = entry
        if not self.entries:
            raise TSTransferError(f"--zoo {self.root}: no pre-trained models (*.safetensors) found")
        # backbones (name -> manifest entry): never a single source, never ranked with them
        self.backbones = dict(self.manifest.get("backbones", {})) if self.manifest is not None else {}

    def _from_manifest(self) -> list[ZooEntry]:
        entries = []
        zoo_arch = recorded_arch(self.manifest.get("recipe"))
        for name, m in self.manifest["models"].items():  # every field checked by read_manifest
            proto = self.root / m["prototypes"]
            entries.append(ZooEntry(name, self.root / m["file"], len(m.get("classes") or []), m.get("length"),
                                    m.get("n_train"), m.get("test_acc"), proto if proto.is_file() else None, m,
                                    m.get("channels") or 1, m.get("arch") or zoo_arch,
                                    _recipe_name(m.get("recipe") or self.manifest.get("recipe"))))
        return entries

    def _scan(self) -> list[ZooEntry]:
        entries = []
        for path in sorted(self.models_dir.glob("*.safetensors")):
            try:
                with safe_open(str(path), framework="pt") as f:
                    header = parse_json((f.metadata() or {})[FORMAT], path)
                meta = header.get("metadata", {})
                name = safe_name(meta.get("dataset", path.stem), f"{path}: dataset")
                classes = len(header["classes"])
                channels = int(header["architecture"]["in_channels"])
                arch = str(header["architecture"]["name"])
                if meta.get("kind") == "backbone":
                    continue  # a backbone is not a source of one dataset (see `backbones`)
            except (SafetensorError, OSError, KeyError, ValueError, TypeError, AttributeError, TSTransferError):
                continue  # not a tstransfer model: not part of the zoo
            proto = self.prototypes_dir / f"{name}.npz"
            # the header's record, by type: a value that is not what it claims is left out (never printed or used)
            facts = {key: meta.get(key) if ENTRY_FIELDS[key][0](meta.get(key)) else None
                     for key in ("length", "n_train", "test_acc")}
            entries.append(ZooEntry(name, path, classes, facts["length"], facts["n_train"], facts["test_acc"],
                                    proto if proto.is_file() else None, channels=channels, arch=arch,
                                    recipe=_recipe_name(meta.get("recipe"))))
        return entries

    def backbone(self, arch: str) -> Path:
        """The file of the zoo's backbone of `arch`; a zoo without one is refused in one line."""
        names = [n for n, e in self.backbones.items() if e["arch"] == arch]
        if not names:
            held = ", ".join(self.backbones) or "none"
            raise TSTransferError(f"--source backbone: the zoo {self.root} holds no backbone of {arch} (it holds "
                                  f"{held}); build one with `tstransfer backbone build --arch {arch} --zoo ZOO`, or "
                                  "give a backbone file: --source FILE")
        if len(names) > 1:
            raise TSTransferError(f"--source backbone: the zoo {self.root} holds several backbones of {arch} "
                                  f"({', '.join(names)}); give the one to use: --source {self.root}/models/NAME"
                                  ".safetensors")
        return self.root / self.backbones[names[0]]["file"]

    def names(self, exclude=()) -> list[str]:
        return [n for n in self.entries if n not in set(exclude)]

    def candidates(self, exclude=(), in_channels: int = 1, arch: str | None = None) -> list[str]:
        """The sources a target of `in_channels` channels can start from: every model that takes them (and is of
        `arch`, when given), less `exclude` (the target itself when it is one of the zoo's datasets)."""
        return [n for n in self.names(exclude) if self.entries[n].channels == in_channels
                and self.entries[n].arch in ARCHITECTURES  # an ensemble file is not a source
                and (arch is None or self.entries[n].arch == arch)]

    def architectures(self) -> dict[str, int]:
        """How many models of each architecture the zoo holds."""
        counts: dict[str, int] = {}
        for e in self.entries.values():
            counts[e.arch] = counts.get(e.arch, 0) + 1
        return counts

    def resolve(self, name: str) -> str:
        """A model's name in any case; an unknown one is refused with the closest name."""
        if name in self.entries:
            return name
        lowered = {n.lower(): n for n in self.entries}
        if str(name).lower() in lowered:
            return lowered[str(name).lower()]
        raise TSTransferError(f"--zoo {self.root}: no model of {name!r}{did_you_mean(name, list(self.entries))}; "
                              "`tstransfer zoo list` lists them")

    def model(self, name: str) -> TrainedModel:
        return load_model(self.entries[self.resolve(name)].path)

    def table(self) -> pd.DataFrame:
        """One row per model: its facts, its recipe, a quality flag, and its file relative to the zoo folder."""
        return pd.DataFrame([{"dataset": e.name, "arch": e.arch, "classes": e.classes, "length": e.length,
                              "n_train": e.n_train,
                              "accuracy": e.accuracy,
                              "quality": quality(e.accuracy, e.classes, e.record.get("majority"),
                                                 e.record.get("published")),
                              "recipe": e.recipe,
                              "prototypes": e.prototypes is not None, "file": _relative(e.path, self.root)}
                             for e in self.entries.values()])


def _recipe_name(record) -> str:
    """The name a recipe record gives (a manifest's, an entry's or a model file's), "unknown" without one."""
    name = record.get("name") if isinstance(record, dict) else None
    return name if isinstance(name, str) and name.isprintable() and len(name) <= 40 else "unknown"


NEAR_CHANCE_MARGIN = 0.02  # at most this far above always answering the majority class: near chance


def quality(accuracy: float | None, classes: int, majority: float | None = None,
            published: dict | None = None) -> str:
    """How good a source is on its own test split, against always answering its majority class (`majority`: the
    split's majority rate; 1/classes when the manifest does not record it): "near chance" (at most 2 points
    above it), "weak" (less than half the way from it to 100%), else "ok"; "as published" instead of the first two
    when the published accuracy of the architecture (`published`: {"mean", "std"} in %) is as low (within 2 std or
    3 points): the dataset is hard, the model is not broken. "" when the accuracy is unknown."""
    if accuracy is None or accuracy != accuracy or not classes:
        return ""
    base = majority if majority is not None else 1 / classes
    if accuracy <= base + NEAR_CHANCE_MARGIN:
        text = "near chance"
    elif accuracy < base + (1 - base) / 2:
        text = "weak"
    else:
        return "ok"
    if published and abs(100 * accuracy - published["mean"]) <= max(2 * published["std"], 3):
        return "as published"
    return text


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def fit_arch(zoo: Zoo | str | Path | None) -> str:
    """The architecture `fit` trains when --arch does not say: the one the given zoo holds, else FIT_ARCH (its
    zoo ships with tstransfer). A zoo of several architectures is refused: which one is meant is not a guess."""
    if zoo is None:
        return FIT_ARCH
    held = [a for a in open_zoo(zoo).architectures() if a in ARCHITECTURES]
    if len(held) > 1:
        raise TSTransferError(f"--zoo {zoo}: holds models of {', '.join(held)}; choose with "
                              + " or ".join(f"--arch {a}" for a in held))
    return held[0] if held else FIT_ARCH


def open_zoo(zoo: Zoo | str | Path | None, arch: str | None = None) -> Zoo:
    """A Zoo from a Zoo, a folder, or None (the zoo of `arch` shipped with tstransfer)."""
    return zoo if isinstance(zoo, Zoo) else Zoo(zoo, arch)


# ----------------------------------------------------------------------------- building a zoo


@dataclass
class BuildSummary:
    planned: list[str]
    built: list[str]
    kept: list[str]
    failed: dict[str, str]
    seconds: float
    manifest: Path


def recipe_record(config) -> dict:
    """What a zoo records of its recipe: TrainConfig.to_record (name, fields with the architecture, deviations from
    the architecture's published recipe)."""
    return config.to_record()


def recorded_arch(record) -> str:
    """The architecture a recipe record names (records written before the registry: the paper's FCN)."""
    fields_ = record.get("fields") if isinstance(record, dict) else None
    arch = fields_.get("arch", DEFAULT_ARCH) if isinstance(fields_, dict) else DEFAULT_ARCH
    return arch if isinstance(arch, str) else DEFAULT_ARCH


def new_manifest(name: str, version: str, config, storage: str, archive: str) -> dict:
    return {"format": ZOO_FORMAT, "format_version": ZOO_FORMAT_VERSION, "name": name, "version": version,
            "tstransfer_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "recipe": recipe_record(config), "storage": storage, "archive": archive, "models": {}}


def export_model(root: Path, trained: Path, name: str, archive: Path, storage: str) -> dict:
    """Turn a finished pre-training of the build into a zoo entry: the model stored in `storage`, its
    accuracies measured with the stored weights, its prototypes; returns the manifest entry."""
    model = load_model(trained)
    dataset = load_dataset(name, archive)
    _, _, train_path, test_path = find_dataset(name, archive)
    float32 = {"train_acc": model.metadata.get("train_acc"), "test_acc": model.metadata.get("test_acc")}
    if storage == "float16":
        model.network.half()
        model.network.float()  # now exactly the weights the file will hold: measure with these
    train_eval = evaluate(model, dataset, "train")
    test_eval = evaluate(model, dataset) if dataset.X_test is not None else None
    model.metadata.update({"storage": storage, "float32_accuracies": float32,
                           "train_acc": train_eval["accuracy"], "train_loss": train_eval["loss"],
                           "test_acc": test_eval and test_eval["accuracy"],
                           "test_loss": test_eval and test_eval["loss"]})
    if storage == "float16":
        model.network.to(torch.float16)
    layout = ZooPaths(root)
    model_path = model.save(layout.model(name))
    proto_path = write_prototypes(layout.prototypes(name), class_prototypes(dataset),
                                  dataset.classes, cache_key(dataset))
    meta = model.metadata
    return {"dataset": name, "arch": model.network.config["name"], "classes": model.classes,
            "n_classes": len(model.classes),
            "channels": dataset.in_channels, "length": int(dataset.X_train.shape[-1]),
            "n_train": len(dataset.y_train), "n_test": 0 if dataset.y_test is None else len(dataset.y_test),
            "best_epoch": meta.get("best_epoch"), "epochs_run": meta.get("epochs"),
            "seed": meta["recipe"]["fields"]["seed"],
            "train_acc": train_eval["accuracy"], "test_acc": test_eval and test_eval["accuracy"],
            "test_loss": test_eval and test_eval["loss"], "float32_test_acc": float32["test_acc"],
            "majority": None if dataset.y_test is None else majority_rate(dataset.y_test),
            "seconds": meta.get("seconds"), "device": meta.get("device"),
            "data_sha256": data_fingerprint(train_path, test_path),
            "file": ZooPaths.model_name(name), "sha256": sha256_file(model_path),
            "bytes": model_path.stat().st_size,
            "prototypes": ZooPaths.prototypes_name(name), "prototypes_sha256": sha256_file(proto_path),
            "prototypes_bytes": proto_path.stat().st_size}


def build_zoo(archive: str | Path, datasets: list[str], out: str | Path, config, workers: int = 1,
              storage: str = "float16", name: str | None = None, version: str = "1",
              progress: bool = True, replace: bool = False) -> BuildSummary:
    """Pre-train each dataset with `config`, export it with its prototypes, keep the manifest current after
    every model. Resumable: finished models are kept; an interrupted build continues from its store.

    A zoo has one recipe. `replace` rebuilds the named datasets with another one (e.g. the practical recipe for
    a model the paper's recipe leaves near chance): their entries record that recipe, and the build keeps its
    state in a folder of its own (build-<recipe>-<hash>)."""
    if storage not in STORAGE:
        raise TSTransferError(f"--storage {storage}: choose one of {', '.join(STORAGE)}")
    given_archive, archive, root = str(archive), Path(archive).resolve(), Path(out)
    names = list(dict.fromkeys(safe_name(find_dataset(d, archive)[0], "dataset") for d in datasets))
    if not names:
        raise TSTransferError("zoo build: give the datasets to pre-train (--datasets)")
    root.mkdir(parents=True, exist_ok=True)
    own_recipe = True
    if ZooPaths(root).manifest.is_file():
        manifest = read_manifest(root)
        try:
            config.check_same(manifest.get("recipe") or {}, f"--out {root}", ignore=())
        except TSTransferError as err:
            if not replace:
                raise TSTransferError(f"{err}; or give --replace to rebuild these datasets with this recipe, "
                                      "recorded per model") from None
            own_recipe = False
        if manifest.get("storage") != storage:
            raise TSTransferError(f"--out {root}: this zoo was built with storage {manifest.get('storage')}, not "
                                  f"{storage}; build into another folder")
    else:
        manifest = new_manifest(name or root.resolve().name, version, config, storage, given_archive)
        write_manifest(root, manifest)

    record = recipe_record(config)

    def done(name: str) -> bool:
        entry = manifest["models"].get(name)
        if not entry or not ((root / entry["file"]).is_file() and (root / entry["prototypes"]).is_file()):
            return False
        return not replace or config.same_recipe(
            TrainConfig.from_record(entry.get("recipe") or manifest["recipe"], f"--out {root}: {name}"), ignore=())

    def export(name: str) -> None:
        entry = export_model(root, build.pretrained(name), name, archive, storage)
        if not own_recipe:
            entry["recipe"] = record
        manifest["models"][name] = entry
        write_manifest(root, manifest)  # after every model: an interrupted build loses nothing finished
        built.append(name)

    kept = [n for n in names if done(n)]
    todo = [n for n in names if n not in kept]
    built, failed = [], {}
    started = time.perf_counter()

    def on_result(spec, result: dict) -> None:
        if result["status"] != "done":
            failed[spec.target] = result.get("error", "failed")
            return
        export(spec.target)

    suffix = "" if own_recipe else \
        f"-{config.recipe_name}-{hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:8]}"
    build = StudyPaths(root / f"build{suffix}", primary_seed=config.seed)
    before = list(manifest["models"])
    if todo:
        run_grid(archive, build.root, plan_runs(todo, transfers=False, seeds=[config.seed]), config,
                 workers=workers, progress=progress, retry_failed=True, on_result=on_result)
        # runs finished by an earlier, interrupted build of this folder: export what is missing
        for n in todo:
            if n not in built and n not in failed and build.pretrained(n).is_file():
                export(n)
    # models already there keep their place; new ones follow in the order of --datasets
    order = {n: i for i, n in enumerate(before + [n for n in names if n not in before])}
    manifest["models"] = dict(sorted(manifest["models"].items(), key=lambda kv: order.get(kv[0], len(order))))
    path = write_manifest(root, manifest)
    return BuildSummary(names, built, kept, failed, time.perf_counter() - started, path)


# ----------------------------------------------------------------------------- verifying and pulling


def check_model_file(path: Path, name: str, entry: dict) -> str | None:
    """A zoo's model file against its manifest entry (a file can match the sha256 of a lying manifest): its header
    loads and names the entry's dataset, classes, channels and architecture. None when it does, else the problem."""
    try:
        model = load_model(path)
    except TSTransferError as err:
        return str(err)
    config = model.network.config
    if model.classes != entry.get("classes") or model.metadata.get("dataset") != name \
            or config.get("in_channels") != (entry.get("channels") or 1) \
            or (entry.get("arch") is not None and config.get("name") != entry["arch"]):
        return (f"{path}: its header (dataset {model.metadata.get('dataset')!r}, classes {model.classes}, "
                f"{config.get('in_channels')} channel(s), {config.get('name')}) disagrees with the manifest")
    return None


def check_prototypes_file(path: Path, entry: dict) -> str | None:
    """A zoo's prototypes file against its manifest entry, like a model file: one prototype per class, of the
    entry's labels, channels, and at most its length. None when it agrees, else the problem."""
    try:
        protos = read_prototypes(path)
        with np.load(path, allow_pickle=False) as f:
            labels = [str(v) for v in f["labels"].tolist()] if "labels" in f.files else None
    except (TSTransferError, OSError, ValueError) as err:
        return str(err)
    classes = entry.get("classes") or []
    channels, length = entry.get("channels") or 1, entry.get("length")
    if len(protos) != len(classes) or (labels is not None and labels != [str(c) for c in classes]):
        return (f"{path}: prototypes of {len(protos)} classes {labels or ''} where the manifest has {len(classes)} "
                f"{[str(c) for c in classes]} (another dataset's prototypes?)")
    for p in protos:
        if p.shape[0] != channels or (length is not None and p.shape[1] > length):
            return (f"{path}: a prototype of shape {p.shape} (channels, length) where the manifest has {channels} "
                    f"channel(s) of length {length}")
    return None


def check_zoo_file(path: Path, key: str, name: str, entry: dict) -> str | None:
    """A zoo file (`key`: "file", a model, or "prototypes") against its manifest entry."""
    return check_model_file(path, name, entry) if key == "file" else check_prototypes_file(path, entry)


def file_problem(path: Path, digest: str) -> str | None:
    """A zoo file missing, or whose bytes are not the manifest's sha256, in one line; None when it matches."""
    if not path.is_file():
        return f"{path}: missing"
    if sha256_file(path) != digest:
        return f"{path}: sha256 differs from the manifest (damaged or tampered)"
    return None


def verify_zoo(root: str | Path) -> tuple[int, list[str]]:
    """Check every file of a published zoo against its sha256 and every model header against the
    manifest. Returns (files checked, problems: one line each naming the file)."""
    root, layout = Path(root), ZooPaths(root)
    if not layout.manifest.is_file():
        raise TSTransferError(f"{root}: no {MANIFEST}; `zoo verify` checks a published zoo (see `zoo build`)")
    manifest = read_manifest(root)
    problems, checked = [], 0
    for name, entry in manifest["models"].items():
        for key, digest in (("file", entry["sha256"]), ("prototypes", entry["prototypes_sha256"])):
            path = root / entry[key]
            checked += 1
            # the content too, once the bytes match: a file can match the sha256 of a lying manifest
            problem = file_problem(path, digest) or check_zoo_file(path, key, name, entry)
            if problem:
                problems.append(problem)
    for entry in manifest.get("backbones", {}).values():
        checked += 1
        problem = file_problem(root / entry["file"], entry["sha256"])
        if problem:
            problems.append(problem)
    listed = {root / e[key] for e in manifest["models"].values() for key in ("file", "prototypes")}
    listed |= {root / e["file"] for e in manifest.get("backbones", {}).values()}
    for folder, pattern in ((layout.models_dir, "*.safetensors"), (layout.prototypes_dir, "*.npz")):
        for path in sorted(folder.glob(pattern)):
            if path not in listed:  # `zoo list` and `fit` ignore it: say so rather than stay silent
                problems.append(f"{path}: not in the manifest (left over, or added by hand)")
    return checked, problems


MAX_MANIFEST_BYTES = 16 << 20  # a manifest of thousands of models is a few MB; more is not a manifest
# A zoo file is one FCN (0.5-1 MB; 16 MB for the widest input a model header allows) or one dataset's class
# prototypes (a few MB for the longest UCR series): 64 MB is far above both and caps what a manifest can ask for.
MAX_ZOO_FILE_BYTES = 64 << 20
MAX_ZOO_MODELS = 2000  # the UCR and UEA archives together hold 158 datasets
def _get(source: str, relative: str, dest: Path, timeout: float, bar=None, max_bytes: int | None = None) -> None:
    if source.startswith(("http://", "https://")):
        fetch(source.rstrip("/") + "/" + relative, dest, timeout, bar, max_bytes)
        return
    path = Path(source.removeprefix("file://")) / relative
    if not path.is_file():
        raise TSTransferError(f"{path}: missing from the zoo at {source}")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise TSTransferError(f"{path}: larger than the {max_bytes} bytes the zoo announces; refused", exit_code=1)
    shutil.copyfile(path, dest)
    if bar is not None:
        bar.update(dest.stat().st_size)


def pull_zoo(source: str, to: str | Path, timeout: float = 30.0, progress: bool = True) -> Path:
    """Download a published zoo (an http(s) URL or a local folder) into `to`, verifying every file's sha256
    before anything is usable. Files land in `<to>.partial/` first (a rerun continues there); the zoo
    appears at `to` only once complete and verified. A file whose sha256 differs is refused and deleted."""
    to, timeout = Path(to), check_timeout(timeout)
    if to.is_symlink():
        raise TSTransferError(f"--to {to}: a symbolic link; give the real path of a new folder")
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise TSTransferError(f"--to {to}: exists and is not empty; pull into a new folder")
    staging = to.with_name(to.name + ".partial")
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        raise TSTransferError(f"--to {to}: {staging} (where a pull stages its files) exists and is not a folder; "
                              "remove it")
    check_writable_dir(to.parent if str(to.parent) else Path("."), "--to")
    fresh = not staging.exists()
    staging.mkdir(parents=True, exist_ok=True)
    try:
        files, manifest_text, entries = _pull_manifest(source, staging, timeout)
    except TSTransferError:
        if fresh:  # nothing fetched yet: leave no staging folder behind
            shutil.rmtree(staging, ignore_errors=True)
        raise
    total = sum(file[2] for file in files)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="zoo pull", disable=not progress, dynamic_ncols=True)
    try:
        for relative, digest, size, name, key in files:
            dest = staging / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_file() and sha256_file(dest) == digest:
                bar.update(dest.stat().st_size)
                continue  # verified by an earlier, interrupted pull
            part = dest.with_name(dest.name + ".part")
            _get(source, relative, part, timeout, bar, max_bytes=size)
            if part.stat().st_size < size:  # kept: a rerun continues it
                raise TSTransferError(f"{source.rstrip('/')}/{relative}: download interrupted ({part.stat().st_size} "
                                      f"of {size} bytes); run the same command again to continue", exit_code=1)
            if sha256_file(part) != digest:
                part.unlink()
                raise TSTransferError(f"{source.rstrip('/')}/{relative}: sha256 differs from the zoo's manifest "
                                      "(tampered or damaged); refused, nothing installed", exit_code=1)
            problem = check_zoo_file(part, key, name, entries[name])  # at once: not after the whole zoo arrived
            if problem:
                shutil.rmtree(staging, ignore_errors=True)
                raise TSTransferError(f"{source}: {problem.replace(str(part), relative)}; refused, nothing "
                                      "installed", exit_code=1)
            os.replace(part, dest)
    finally:
        bar.close()
    with atomic_path(staging / MANIFEST) as tmp:
        tmp.write_text(manifest_text)
    (staging / f".{MANIFEST}.pending").unlink()
    _, problems = verify_zoo(staging)  # the headers too: a file can match the sha256 of a lying manifest
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TSTransferError(f"{source}: {problems[0]}{more}; refused, nothing installed", exit_code=1)
    if to.exists():
        to.rmdir()
    os.replace(staging, to)
    return to


def _pull_manifest(source: str, staging: Path, timeout: float) -> tuple[list[tuple], str, dict]:
    """Fetch and check a zoo's manifest into `staging`: its format, its paths, and every size it announces (each
    file at most MAX_ZOO_FILE_BYTES, at most MAX_ZOO_MODELS models, the whole within the free disk space).
    Returns the files to fetch (path, sha256, bytes, dataset, "file" or "prototypes"), the manifest's text and its
    entries."""
    manifest_tmp = staging / f".{MANIFEST}.download"
    manifest_tmp.unlink(missing_ok=True)
    _get(source, MANIFEST, manifest_tmp, timeout, max_bytes=MAX_MANIFEST_BYTES)
    os.replace(manifest_tmp, staging / f".{MANIFEST}.pending")
    manifest_text = (staging / f".{MANIFEST}.pending").read_text()
    shutil.copyfile(staging / f".{MANIFEST}.pending", staging / MANIFEST)
    try:
        manifest = read_manifest(staging)  # checks every named path stays inside the zoo
    finally:
        (staging / MANIFEST).unlink()
    if len(manifest["models"]) > MAX_ZOO_MODELS:
        raise TSTransferError(f"{source}: the manifest lists {len(manifest['models'])} models, more than the "
                              f"{MAX_ZOO_MODELS} a zoo may hold; refused")
    files = []
    for name, entry in manifest["models"].items():
        for key, digest, size in (("file", "sha256", "bytes"), ("prototypes", "prototypes_sha256", "prototypes_bytes")):
            files.append((entry[key], entry[digest], entry.get(size), name, key))
    for relative, _, size, _, _ in files:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise TSTransferError(f"{source}: the manifest gives no valid size (bytes) for {relative}")
        if size > MAX_ZOO_FILE_BYTES:
            raise TSTransferError(f"{source}: the manifest announces {size} bytes for {relative}, more than the "
                                  f"{MAX_ZOO_FILE_BYTES >> 20} MB a zoo file may have; refused")
    needed = sum(size for relative, _, size, _, _ in files if not (staging / relative).is_file())
    free = shutil.disk_usage(staging).free
    if needed > free:
        raise TSTransferError(f"{source}: the zoo needs {needed / 1e6:.0f} MB, {staging} has {free / 1e6:.0f} MB "
                              "free; refused before downloading", exit_code=1)
    return files, manifest_text, manifest["models"]
