"""One backbone for all: a network pre-trained on many datasets at once (after Ismail-Fawaz et al. 2023, "Finding
Foundation Models for Time Series Classification with a PreText Task").

- Objective `multihead` (supervised; the default): every dataset's own classes, one linear head per dataset on the
  shared features (the heads are the slices of one linear layer, a batch trains its dataset's slice). Objective
  `pretext` (the paper's): tell which dataset a series comes from; the classes are the datasets, no dataset's
  labels are used. Both cost the same step. benchmarks/backbone.py, two seeds: on 12 UCR targets no backbone saw,
  the multi-head backbone of 40 datasets beat the pretext one (+2.9 accuracy points, better on 8 targets, worse on
  2); on 32 shared targets by folds, +1.4 (better on 16, worse on 9; README).
- Batch-normalisation multiplexer: while pre-training, every BatchNorm of the network keeps running statistics per
  dataset, chosen by the dataset a batch comes from; the convolutions and the BatchNorms' scale and shift are
  shared (per-dataset shifts would let the head read the dataset off them: see MultiplexedBatchNorm).
- Sampling ("balanced", the default): each step draws one dataset uniformly at random, then a batch of its training
  series (reshuffled whenever they are used up). Every dataset is then seen equally often whatever its size: with
  draws proportional to size ("proportional"), ElectricDevices' 8,926 series would take 20% of the steps over the
  84 UCR datasets at hand and a 16-series dataset 0.04%, and the pretext task would mostly learn the big ones. A
  batch from one dataset has one length and one BatchNorm.
- The exported backbone is a plain model file of its architecture: each multiplexed BatchNorm becomes one whose
  running statistics are the mean over the datasets (a fine-tuning normalises with the target's own
  batch statistics, and the practical recipe recomputes the running ones over the target's training set), its
  classifier is the pretext head (classes: the dataset names), and its record (`metadata["backbone"]`) lists the
  datasets it saw with a fingerprint of each split, so that `fit` refuses a target it saw.
- Resumable: a checkpoint (network, optimiser, sampler) every `checkpoint_every` steps beside the output file,
  continued by the same command; the same seed gives the same backbone, interrupted or not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .architectures import architecture
from .cpus import check_threads, thread_governor
from .data import PREPROCESSING, Dataset
from .errors import TSTransferError, shown
from .files import atomic_path, atomic_write_text, parse_json
from .models import TrainedModel, create_model
from .networks.layers import MaskedBatchNorm1d
from .recipe import check_integer, check_number
from .training import check_finite, environment, resolve_device

SAMPLING = ("balanced", "proportional")
OBJECTIVES = ("pretext", "multihead")
OBJECTIVE_WORDS = {"pretext": "pretext task: which dataset a series comes from",
                   "multihead": "multi-head: every dataset's own classes, one head each"}
CHECKPOINT_FORMAT = "tstransfer-backbone-checkpoint"


@dataclass(frozen=True)
class BackboneConfig:
    """Every hyper-parameter of a backbone's pre-training. `epochs`: how many batches each dataset gives on
    average (steps = epochs x datasets)."""

    arch: str = "lite"  # the cheapest network of the registry (9,814 parameters)
    epochs: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    adam_eps: float = 1e-7
    sampling: str = "balanced"
    objective: str = "multihead"  # benchmarks/backbone.py: better than "pretext" (the module's docstring)
    seed: int = 0
    checkpoint_every: int = 500
    threads: int | None = None
    device: str = "auto"

    def __post_init__(self):
        architecture(self.arch)
        for name, low in (("epochs", 1), ("batch_size", 1), ("checkpoint_every", 1), ("seed", 0)):
            check_integer(name, getattr(self, name), low)
        for name in ("lr", "adam_eps"):
            check_number(name, getattr(self, name), lambda v: v > 0, "above 0")
        if self.sampling not in SAMPLING:
            raise TSTransferError(f"--sampling {shown(self.sampling)}: choose one of {', '.join(SAMPLING)}")
        if self.objective not in OBJECTIVES:
            raise TSTransferError(f"--objective {shown(self.objective)}: choose one of {', '.join(OBJECTIVES)}")
        check_threads(self.threads)

    def steps(self, datasets: int) -> int:
        return self.epochs * datasets

    def record(self) -> dict:
        """What a checkpoint and the backbone record: everything but the speed settings."""
        out = asdict(self)
        for speed in ("threads", "device", "checkpoint_every"):
            out.pop(speed)
        return out


# ----------------------------------------------------------------------------- the multiplexer


class MultiplexedBatchNorm(MaskedBatchNorm1d):
    """A BatchNorm that keeps running statistics per pre-training dataset (`active` picks whose a batch updates
    and, in eval mode, uses). Its affine parameters are shared: with one scale and shift per dataset the pretext
    task is solved by the shifts alone (the head reads the dataset off them: tried, the merged backbone then told
    no dataset from another), while shared ones make the convolutions learn what tells the datasets apart. In
    training mode a batch, all from one dataset, is normalised by its own statistics anyway."""

    def __init__(self, norm: MaskedBatchNorm1d, count: int):
        super().__init__(norm.num_features)
        self.load_state_dict(norm.state_dict())
        self.register_buffer("dataset_means", norm.running_mean.repeat(count, 1))
        self.register_buffer("dataset_vars", norm.running_var.repeat(count, 1))
        self.active = 0

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            self.running_mean.copy_(self.dataset_means[self.active])
            self.running_var.copy_(self.dataset_vars[self.active])
        out = super().forward(x, mask)
        if self.training:
            with torch.no_grad():
                self.dataset_means[self.active].copy_(self.running_mean)
                self.dataset_vars[self.active].copy_(self.running_var)
        return out


def multiplex_batchnorm(network: nn.Module, count: int) -> list[MultiplexedBatchNorm]:
    """Replace every BatchNorm of `network` by a multiplexer of `count` datasets (in place); returns them."""
    made = []
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, MaskedBatchNorm1d) and not isinstance(child, MultiplexedBatchNorm):
                multiplexer = MultiplexedBatchNorm(child, count)
                setattr(module, name, multiplexer)
                made.append(multiplexer)
    return made


def merge_batchnorm(network: nn.Module) -> nn.Module:
    """Each multiplexer back into one BatchNorm (in place): its shared affine parameters, and running statistics
    that are the mean of the datasets'."""
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, MultiplexedBatchNorm):
                merged = MaskedBatchNorm1d(child.num_features)
                with torch.no_grad():
                    merged.weight.copy_(child.weight)
                    merged.bias.copy_(child.bias)
                    merged.running_mean.copy_(child.dataset_means.mean(0))
                    merged.running_var.copy_(child.dataset_vars.mean(0))
                setattr(module, name, merged)
    return network


# ----------------------------------------------------------------------------- what it saw


SERIES_DIGEST_BYTES = 8  # a chance collision of 10^5 seen and 10^4 target series: about 10^-10
# a target split with at least this share of series the backbone trained on is refused, fewer are warned about: a
# tenth is far above chance (no two UCR datasets share a series outside families of one source, like the Phalanx
# outlines) and far below a dataset that is another's series under new labels (DistalPhalanxOutlineCorrect: 49%)
REFUSED_SHARE = 0.1


def series_digests(X: np.ndarray, lengths: np.ndarray | None) -> list[bytes]:
    """sha256 of each preprocessed series (its padding cut off), in the split's order."""
    return [hashlib.sha256(np.ascontiguousarray(x[:, : (int(n) if lengths is not None else x.shape[-1])],
                                                dtype=np.float32).tobytes()).digest()
            for x, n in zip(X, lengths if lengths is not None else [None] * len(X))]


def split_fingerprint(X: np.ndarray, lengths: np.ndarray | None) -> str:
    """sha256 of a split's preprocessed series, whatever their order or file format: the same series give the
    same fingerprint (a UCR file, its CSV copy, its rows shuffled)."""
    return hashlib.sha256(b"".join(sorted(series_digests(X, lengths)))).hexdigest()


def dataset_record(dataset: Dataset, domain: str | None = None) -> dict:
    record = {"name": dataset.name, "n_train": len(dataset.y_train), "length": int(dataset.X_train.shape[-1]),
              "classes": dataset.n_classes, "train_sha256": split_fingerprint(dataset.X_train, dataset.len_train)}
    if dataset.X_test is not None:
        record["test_sha256"] = split_fingerprint(dataset.X_test, dataset.len_test)
    if domain:
        record["domain"] = domain
    return record


def training_series(dataset: Dataset) -> str:
    """The series a backbone trains on, for the "what it saw" check: the first SERIES_DIGEST_BYTES of each training
    series' sha256, sorted, base64. Whole-split fingerprints miss a dataset made of other datasets' series
    (PhalangesOutlinesCorrect's are the three *PhalanxOutlineCorrect's; DistalPhalanxTW's are
    DistalPhalanxOutlineAgeGroup's with other labels); these catch it."""
    digests = sorted({d[:SERIES_DIGEST_BYTES] for d in series_digests(dataset.X_train, dataset.len_train)})
    return base64.b64encode(b"".join(digests)).decode("ascii")


def seen_datasets(model: TrainedModel, where: str) -> list[dict]:
    """The datasets a backbone model file records having seen; a backbone without that list is refused."""
    record = model.metadata.get("backbone")
    seen = record.get("datasets") if isinstance(record, dict) else None
    if not (isinstance(seen, list) and seen and all(isinstance(d, dict) and isinstance(d.get("name"), str)
                                                    and isinstance(d.get("train_sha256"), str) for d in seen)):
        raise TSTransferError(f"{where}: a backbone must list the datasets it was pre-trained on (each with its "
                              "name and train_sha256); this file's list is missing or malformed, so no target can "
                              "be checked against it")
    return seen


def readable_record(metadata: dict) -> dict:
    """A backbone's metadata for people: each dataset's training-series digests summed up as their count."""
    record = metadata.get("backbone")
    if not isinstance(record, dict) or not isinstance(record.get("datasets"), list):
        return metadata
    datasets = [{**d, "train_series": f"{len(d['train_series']) * 3 // 4 // SERIES_DIGEST_BYTES} series digests"}
                if isinstance(d, dict) and isinstance(d.get("train_series"), str) else d for d in record["datasets"]]
    return {**metadata, "backbone": {**record, "datasets": datasets}}


def seen_series(model: TrainedModel, where: str) -> dict[str, np.ndarray] | None:
    """Dataset name -> the sorted digests (uint64) of the training series the backbone saw; None for a file
    written before it recorded them (whole splits only can be checked)."""
    seen = seen_datasets(model, where)
    if not any("train_series" in d for d in seen):
        return None
    digests = {}
    for d in seen:
        text = d.get("train_series")
        try:
            raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b"?"
        except binascii.Error:
            raw = b"?"
        n_train = d.get("n_train")
        if len(raw) % SERIES_DIGEST_BYTES or not isinstance(n_train, int) or \
                len(raw) // SERIES_DIGEST_BYTES > n_train:
            raise TSTransferError(f"{where}: the training series recorded for {shown(d['name'])} are malformed "
                                  f"(train_series: base64 of {SERIES_DIGEST_BYTES}-byte digests, at most n_train)")
        digests[d["name"]] = np.sort(np.frombuffer(raw, dtype=">u8"))
    return digests


@dataclass
class Overlap:
    """How much of a target the backbone saw: `split`, the seen dataset one of whose whole splits the target's
    training or test split is; `counts`, per target split, (series the backbone trained on, series, the datasets
    they came from); `per_series`, False for a backbone file that only records whole splits."""
    split: str | None
    counts: dict[str, tuple[int, int, list[str]]]
    per_series: bool

    def refusal(self) -> str | None:
        """Why the backbone may not be evaluated on the target, or None."""
        if self.split is not None:
            return (f"it was pre-trained on {shown(self.split)}, and your data holds the same series as one of its "
                    "splits")
        for split, (k, n, sources) in self.counts.items():
            if k and k >= REFUSED_SHARE * n:
                return (f"it was pre-trained on {k} of the {n} series of your {split} split (from "
                        f"{', '.join(map(shown, sources))})")
        return None

    def warnings(self) -> list[str]:
        said = [f"WARNING: the backbone was pre-trained on {k} of the {n} series of your {split} split (from "
                f"{', '.join(map(shown, sources))}): the accuracy you measure is not one on unseen data"
                for split, (k, n, sources) in self.counts.items() if 0 < k < REFUSED_SHARE * n]
        if not self.per_series:
            said.append("NOTE: this backbone file records whole splits only (written before tstransfer recorded "
                        "every series it saw): data made of some of its datasets' series is not detected")
        return said


def overlap(model: TrainedModel, target: Dataset, where: str, within: Collection[str] | None = None) -> Overlap:
    """What of `target` (its training split, and its test split when it has one) the backbone saw; `within`: only
    what it saw of these datasets (e.g. a pool of single sources, each trained on its own training split)."""
    mine = [("training", target.X_train, target.len_train)]
    if target.X_test is not None:
        mine.append(("test", target.X_test, target.len_test))
    records = [r for r in seen_datasets(model, where) if within is None or r["name"] in within]
    prints = {split_fingerprint(X, lengths) for _, X, lengths in mine}
    whole = next((str(r["name"]) for r in records if prints & {r.get("train_sha256"), r.get("test_sha256")}), None)
    seen = seen_series(model, where) if whole is None else None
    if seen is not None and within is not None:
        seen = {name: digests for name, digests in seen.items() if name in within}
    counts = {}
    for split, X, lengths in mine if seen is not None else ():
        digests = np.frombuffer(b"".join(d[:SERIES_DIGEST_BYTES] for d in series_digests(X, lengths)), dtype=">u8")
        hit = np.zeros(len(digests), dtype=bool)
        sources = []
        for name, theirs in seen.items():
            found = np.isin(digests, theirs, assume_unique=False)
            if found.any():
                sources.append(name)
            hit |= found
        counts[split] = (int(hit.sum()), len(digests), sources)
    return Overlap(whole, counts, whole is not None or seen is not None)


def check_unseen(model: TrainedModel, target: Dataset, where: str) -> str | None:
    """Refuse a target whose training or test series the backbone was pre-trained on (a backbone is never
    evaluated on a dataset it saw); returns the warnings (a few series seen, a seen dataset's name shared), one per
    line, or None."""
    found = overlap(model, target, where)
    reason = found.refusal()
    if reason is not None:
        raise TSTransferError(f"{where}: {reason}; a backbone is never evaluated on a dataset it saw: choose a single "
                              "source (leave out --source) or a backbone built without it "
                              "(`tstransfer backbone build --datasets ...`)")
    said = [*found.warnings(), name_warning(model, target, where)]
    return "\n".join(w for w in said if w) or None


def name_warning(model: TrainedModel, target: Dataset, where: str) -> str | None:
    """A warning when a target whose series the backbone did not see shares the name of a dataset it saw."""
    names = {str(record["name"]).lower() for record in seen_datasets(model, where)}
    if target.name.lower() in names:
        return (f"WARNING: the backbone saw a dataset named {shown(target.name)} (other series than yours): if "
                "your data comes from it, the accuracy you measure is not one on unseen data")
    return None


# ----------------------------------------------------------------------------- pre-training


class BalancedSampler:
    """Which dataset each step draws (uniformly, or in proportion to its training series) and which of its series:
    a fresh permutation whenever one is used up. Its whole state is saved with a checkpoint."""

    def __init__(self, sizes: list[int], batch_size: int, sampling: str, seed: int):
        self.sizes, self.batch_size = sizes, batch_size
        self.p = None if sampling == "balanced" else np.asarray(sizes, dtype=np.float64) / sum(sizes)
        self.rng = np.random.default_rng(seed)
        self.orders = [self.rng.permutation(n) for n in sizes]
        self.cursors = [0] * len(sizes)

    def draw(self) -> tuple[int, np.ndarray]:
        d = int(self.rng.choice(len(self.sizes), p=self.p))
        if self.cursors[d] >= self.sizes[d]:
            self.orders[d], self.cursors[d] = self.rng.permutation(self.sizes[d]), 0
        start = self.cursors[d]
        batch = self.orders[d][start : start + self.batch_size]
        self.cursors[d] = start + len(batch)
        return d, batch

    def state(self) -> tuple[dict, dict]:
        tensors = {f"sampler.order.{i}": torch.as_tensor(o) for i, o in enumerate(self.orders)}
        return tensors, {"rng": self.rng.bit_generator.state, "cursors": self.cursors}

    def restore(self, tensors: dict, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.cursors = [int(c) for c in state["cursors"]]
        self.orders = [tensors[f"sampler.order.{i}"].numpy() for i in range(len(self.sizes))]


@dataclass
class BackboneResult:
    steps: int
    seconds: float
    resumed_at: int  # 0: from scratch
    history: list[dict]  # every `log_every` steps: step, loss, accuracy (the objective's, on the batches)


def checkpoint_paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".checkpoint.safetensors"), out.with_name(out.name + ".checkpoint.json")


def save_checkpoint(out: Path, network, optimizer, sampler: BalancedSampler, step: int, identity: dict,
                    history: list[dict]) -> None:
    tensors = {f"network.{k}": v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    optim = optimizer.state_dict()
    for index, state in optim["state"].items():
        for key, value in state.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).cpu().contiguous()
    sampler_tensors, sampler_state = sampler.state()
    tensors.update(sampler_tensors)
    weights, meta = checkpoint_paths(out)
    with atomic_path(weights) as tmp:
        safetensors.torch.save_file(tensors, str(tmp))
    atomic_write_text(meta, json.dumps({"format": CHECKPOINT_FORMAT, "identity": identity, "step": step,
                                        "param_groups": optim["param_groups"], "sampler": sampler_state,
                                        "history": history}))


def load_checkpoint(out: Path, network, optimizer, sampler: BalancedSampler, identity: dict) -> tuple[int, list]:
    """The step to continue from (0 without a checkpoint); a checkpoint of another build is refused."""
    weights, meta = checkpoint_paths(out)
    if not (weights.is_file() and meta.is_file()):
        return 0, []
    state = parse_json(meta.read_text(), meta, "backbone checkpoint")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TSTransferError(f"{meta}: not a backbone checkpoint; remove it to start over")
    if state.get("identity") != identity:
        raise TSTransferError(f"{meta}: a checkpoint of another build (other datasets or settings); remove "
                              f"{weights.name} and {meta.name} to start over, or give the settings it was made with")
    tensors = safetensors.torch.load_file(str(weights))
    network.load_state_dict({k[len("network."):]: v for k, v in tensors.items() if k.startswith("network.")})
    optim = {"state": {}, "param_groups": state["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            optim["state"].setdefault(int(index), {})[name] = value
    optimizer.load_state_dict(optim)
    sampler.restore(tensors, state["sampler"])
    return int(state["step"]), list(state["history"])


def check_datasets(datasets: list[Dataset]) -> int:
    """At least two datasets, each once, one number of channels (returned)."""
    if len(datasets) < 2:
        raise TSTransferError(f"--datasets: a backbone needs at least 2 datasets (the pretext task tells them "
                              f"apart), got {len(datasets)}")
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise TSTransferError(f"--datasets: {shown(next(n for n in names if names.count(n) > 1))} is given twice")
    channels = {d.in_channels for d in datasets}
    if len(channels) > 1:
        raise TSTransferError(f"--datasets: one backbone takes one number of channels; these have {sorted(channels)}")
    return channels.pop()


def pretrain_backbone(datasets: list[Dataset], config: BackboneConfig, out: str | Path, progress: bool = True,
                      domains: dict[str, str] | None = None, log_every: int = 100,
                      stop_after: int | None = None) -> tuple[TrainedModel | None, BackboneResult]:
    """Pre-train one `config.arch` network on the datasets' training splits with `config.objective` and write a
    checkpoint every `config.checkpoint_every` steps beside `out` (continued when present). Returns the exported
    backbone (None when `stop_after` steps ended this call first: the checkpoint continues it)."""
    channels = check_datasets(datasets)
    names = [d.name for d in datasets]
    out = Path(out)
    device = resolve_device(config.device)
    fingerprints = [dataset_record(d, (domains or {}).get(d.name)) for d in datasets]
    identity = {"config": config.record(), "datasets": fingerprints}
    # the output units: one per dataset (pretext), or every dataset's classes side by side (multihead: the slice
    # offsets[d]:offsets[d + 1] is dataset d's head)
    if config.objective == "multihead":
        offsets = np.cumsum([0] + [d.n_classes for d in datasets])
        classes = [f"{d.name}:{c}" for d in datasets for c in d.classes]
        labels = [torch.as_tensor(d.y_train, dtype=torch.long) for d in datasets]
    else:
        offsets, classes, labels = None, names, None
    torch.manual_seed(config.seed)
    network = create_model(config.arch, in_channels=channels, num_classes=len(classes))
    multiplexers = multiplex_batchnorm(network, len(datasets))
    network.to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr, eps=config.adam_eps, foreach=True)
    sampler = BalancedSampler([len(d.y_train) for d in datasets], config.batch_size, config.sampling, config.seed)
    start, history = load_checkpoint(out, network, optimizer, sampler, identity)
    arrays = [(torch.as_tensor(d.X_train), None if d.equal_length else torch.as_tensor(d.len_train))
              for d in datasets]
    total = config.steps(len(datasets))
    end = total if stop_after is None else min(total, start + stop_after)
    threads = thread_governor(config.threads, device)
    started = time.perf_counter()
    loss_sum = correct = seen = 0.0
    network.train()
    bar = tqdm(range(start, end), total=total, initial=start, desc="backbone", unit="step", disable=not progress,
               dynamic_ncols=True)
    for step in bar:
        d, batch = sampler.draw()
        X, lengths = arrays[d]
        lb = None if lengths is None else lengths[batch]
        xb = X[batch] if lb is None else X[batch][..., : int(lb.max())]
        for multiplexer in multiplexers:
            multiplexer.active = d
        logits = network(xb.to(device), None if lb is None else lb.to(device))
        if offsets is None:
            target = torch.full((len(batch),), d, dtype=torch.long, device=device)
        else:
            logits, target = logits[:, offsets[d] : offsets[d + 1]], labels[d][batch].to(device)
        loss = F.cross_entropy(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(batch)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(batch)
        if (step + 1) % log_every == 0 or step + 1 == end:
            check_finite(loss_sum / seen, step + 1, "backbone")
            history.append({"step": step + 1, "loss": loss_sum / seen, "accuracy": correct / seen})
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
            loss_sum = correct = seen = 0.0
            threads.update()
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == end:
            save_checkpoint(out, network, optimizer, sampler, step + 1, identity, history)
    bar.close()
    threads.close()
    result = BackboneResult(end, time.perf_counter() - started, start, history)
    if end < total:
        return None, result
    merge_batchnorm(network)
    model = TrainedModel(network.cpu().float().eval(), classes, dict(PREPROCESSING), {
        "kind": "backbone", "dataset": f"backbone-{config.arch}", "objective": config.objective,
        "backbone": {**config.record(), "steps": total,
                     "datasets": [{**f, "train_series": training_series(d)} for f, d in zip(fingerprints, datasets)]},
        "history": history[-1] if history else None, "environment": environment()})
    return model, result


def estimate_backbone(datasets: list[Dataset], config: BackboneConfig) -> float:
    """Seconds the pre-training will take on this machine: two training steps timed now (the shortest and the
    longest batch the datasets give), a line through them in the batch's points (series x length), summed over
    the steps each dataset is expected to give."""
    from .grid import time_batch

    check_datasets(datasets)
    sizes = np.array([len(d.y_train) for d in datasets], dtype=np.float64)
    points = np.array([min(config.batch_size, len(d.y_train)) * d.X_train.shape[-1] for d in datasets], dtype=float)
    share = np.full(len(datasets), 1 / len(datasets)) if config.sampling == "balanced" else sizes / sizes.sum()
    timed = [time_batch(config.arch, d.in_channels, len(datasets), min(config.batch_size, len(d.y_train)),
                        d.X_train.shape[-1], config.device, config.threads, steps=2)
             for d in (datasets[int(points.argmin())], datasets[int(points.argmax())])]
    low, high = points.min(), points.max()
    slope = (timed[1] - timed[0]) / (high - low) if high > low else 0.0
    per_step = np.maximum(timed[0] + slope * (points - low), 0.0)
    return float(config.steps(len(datasets)) * (share * per_step).sum())


def remove_checkpoint(out: str | Path) -> None:
    for path in checkpoint_paths(Path(out)):
        path.unlink(missing_ok=True)
