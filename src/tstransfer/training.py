"""Training with the paper's recipe (recipe.py), one loop you can read top to bottom."""

from __future__ import annotations

import csv
import io
import math
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import __version__
from .cpus import thread_governor
from .data import PREPROCESSING, Dataset
from .errors import TSTransferError, shown
from .files import atomic_paths, check_writable_dir, check_writable_file, safe_name
from .guardrails import majority_rate
from .models import Ensemble, TrainedModel, create_model
from .recipe import PAPER_EPOCHS, TrainConfig, batch_size, batch_size_rule  # noqa: F401 (re-exported)


def should_stop(config: TrainConfig, lr: float, epoch: int, improved_epoch: int) -> bool:
    """The early-stopping rule (off in the paper's recipe): the lr has reached its floor and the training loss
    has not improved by min_delta (the plateau schedule's own threshold) for `config.early_stopping` epochs;
    `improved_epoch` is the last epoch that did."""
    return bool(config.early_stopping) and lr <= config.min_lr * (1 + 1e-6) and \
        epoch - improved_epoch >= config.early_stopping


def out_of_time(config: TrainConfig, started: float) -> bool:
    """Whether the run's time budget (`max_time` seconds, --max-time) is spent: it then stops with the best weights
    so far, as early stopping does."""
    return config.max_time is not None and time.perf_counter() - started >= config.max_time


def logs_test(config: TrainConfig, epoch: int) -> bool:
    """Whether the test split is scored after `epoch` (test_every None: only the kept weights, at the end)."""
    return config.test_every is not None and (epoch % config.test_every == 0 or epoch == config.epochs)


@torch.no_grad()
def recompute_batchnorm(network: nn.Module, X: torch.Tensor, lengths: torch.Tensor | None) -> None:
    """Set every BatchNorm's running statistics to those of the training set under the current weights
    ("precise BN"): the running averages lag the weights, badly so after few steps. Chunks of the training
    set in training mode, each chunk's statistics averaged with equal weight (one chunk for small data)."""
    norms = [m for m in network.modules() if isinstance(m, nn.BatchNorm1d)]
    momenta = [m.momentum for m in norms]
    chunk = max(2, min(1024, (1 << 18) // max(1, X.shape[-1])))
    network.train()
    try:
        for i, start in enumerate(range(0, len(X), chunk)):
            for m in norms:
                m.momentum = 1.0 / (i + 1)  # a running mean of the chunks' statistics
            lb = None if lengths is None else lengths[start : start + chunk]
            xb = X[start : start + chunk] if lb is None else X[start : start + chunk, :, : int(lb.max())]
            if len(xb) > 1 or xb.shape[-1] > 1:
                network(xb, lb)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        network.eval()


def check_finite(train_loss: float, epoch: int, what: str) -> None:
    """A run whose loss is NaN or infinite has failed: say so instead of keeping the initial weights."""
    if not math.isfinite(train_loss):
        raise TSTransferError(f"{what}: the training loss became {train_loss} at epoch {epoch}; training "
                              "diverged or the data hold values it cannot use (no model was saved)", exit_code=1)


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` (CUDA when present, else CPU), `cpu`, `cuda`, `cuda:N` or `mps`, refused when not on this machine."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise TSTransferError(f"--device {device!r}: not a device (auto, cpu, cuda, cuda:N, mps)") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise TSTransferError(f"--device {device}: CUDA is not available on this machine")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise TSTransferError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif parsed.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise TSTransferError(f"--device {device}: Apple MPS is not available on this machine")
    elif parsed.type != "cpu":
        raise TSTransferError(f"--device {device}: not supported (auto, cpu, cuda, cuda:N, mps)")
    return parsed


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast runs natively here: CUDA, or a CPU with AMX or AVX512-BF16 (there, 2-2.4x faster
    than float32 on 150-637-point series: benchmarks/training_speed.py)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def check_amp(config: TrainConfig) -> bool:
    """`config.amp` where bf16 is native on the run's device; refused where it is not (it would be slower)."""
    if not config.amp:
        return False
    device = resolve_device(config.device)
    if not native_bf16(device):
        raise TSTransferError(f"--amp: bf16 is not native on this {device.type} (CUDA, or a CPU with AMX or "
                              "AVX512-BF16); it would be slower than float32 here, run without --amp")
    return True


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    """Keras' ReduceLROnPlateau in torch terms.

    Keras reduces once `patience` epochs in a row failed to beat best - min_delta; torch reduces when
    the count of bad epochs exceeds its `patience`, hence patience - 1.
    """
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience - 1,
        threshold=config.min_delta, threshold_mode="abs", min_lr=config.min_lr,
    )


@dataclass
class TrainResult:
    """The outcome of one run: the best epoch's numbers and the per-epoch history."""

    best_epoch: int  # 1-based
    train_loss: float  # the best epoch's logged training loss (mean over its batches)
    train_acc: float
    test_loss: float | None  # of the kept weights
    test_acc: float | None
    epochs: int  # epochs run (fewer than configured after an early stop)
    seconds: float
    device: str
    history: list[dict] = field(default_factory=list, repr=False)  # one row per epoch: too long to print

    def summary(self) -> dict:
        out = asdict(self)
        out.pop("history")
        return out


def environment() -> dict:
    """Library versions recorded with every model."""
    return {"tstransfer": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def shuffled_batches(X: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None, batch_size: int,
                     generator: torch.Generator):
    """One epoch of (x, y, lengths) batches in a fresh random order, the last partial batch kept; a
    variable-length batch is cut to its longest series."""
    order = torch.randperm(len(y), generator=generator)
    for i in range(0, len(y), batch_size):
        idx = order[i : i + batch_size].to(X.device)
        xb, yb, lb = X[idx], y[idx], None
        if lengths is not None:
            lb = lengths[idx]
            xb = xb[..., : int(lb.max())]
        yield xb, yb, lb


@torch.no_grad()
def evaluate_arrays(network: nn.Module, X: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None,
                    batch_size: int = 512, amp: bool = False) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of a network in inference mode on tensors already on its device."""
    network.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(X), batch_size):
        lb = None if lengths is None else lengths[i : i + batch_size]
        with torch.autocast(X.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = network(X[i : i + batch_size], lb)
        logits = logits.float() if amp else logits
        loss_sum += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum").item()
        correct += (logits.argmax(1) == y[i : i + batch_size]).sum().item()
    return loss_sum / len(X), correct / len(X)


def device_arrays(dataset: Dataset, device: torch.device, dtype: str = "float32") -> tuple:
    """Train and test tensors on the device for the whole run (these datasets are small); lengths only
    for variable-length data. Returns X, y, lengths, X_test, y_test, len_test (test ones None without test)."""
    variable = not dataset.equal_length

    def put(X, y, lengths):
        if X is None:
            return None, None, None
        return (torch.as_tensor(X, device=device).to(getattr(torch, dtype)), torch.as_tensor(y, device=device),
                torch.as_tensor(lengths, device=device) if variable else None)

    return (*put(dataset.X_train, dataset.y_train, dataset.len_train),
            *put(dataset.X_test, dataset.y_test, dataset.len_test))


@dataclass
class RunSetup:
    """What every training loop starts from (training.fit, fused.fit_fused): the seeded random state, the
    data on the device, the batch size."""

    device: torch.device
    amp: bool
    shuffler: torch.Generator  # the batch order: depends on the seed only
    X: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None
    X_test: torch.Tensor | None
    y_test: torch.Tensor | None
    len_test: torch.Tensor | None
    batch_size: int
    threads: object  # cpus.ThreadGovernor or FixedThreads: update() after every epoch, close() at the end


def prepare_run(dataset: Dataset, config: TrainConfig) -> RunSetup:
    device = resolve_device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(config.seed)
    shuffler = torch.Generator().manual_seed(config.seed)
    arrays = device_arrays(dataset, device, config.dtype)
    return RunSetup(device, check_amp(config), shuffler, *arrays,
                    batch_size(config, len(dataset.y_train)), thread_governor(config.threads, device))


def history_row(epoch: int, train_loss: float, train_acc: float, test_loss: float, test_acc: float, lr: float,
                seconds: float) -> dict:
    """One epoch of a run's history (HISTORY_COLUMNS); test values are NaN on epochs that do not log them."""
    return {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
            "test_acc": test_acc, "lr": lr, "seconds": seconds}


def run_result(history: list[dict], best_epoch: int, test_loss, test_acc, started: float,
               device: torch.device) -> TrainResult:
    """The outcome of a run from its history: the best epoch's training numbers, the kept weights' test ones."""
    best = history[best_epoch - 1]
    return TrainResult(best_epoch, best["train_loss"], best["train_acc"], test_loss, test_acc, len(history),
                       time.perf_counter() - started, str(device), history)


def fit(network: nn.Module, dataset: Dataset, config: TrainConfig, progress: bool = True,
        desc: str | None = None) -> TrainResult:
    """Train `network` on the dataset's training split with the recipe; loads the best epoch's weights."""
    if dataset.n_classes != network.config["num_classes"]:
        raise TSTransferError(f"{dataset.name}: {dataset.n_classes} classes, the network has "
                              f"{network.config['num_classes']} outputs")
    if dataset.in_channels != network.config["in_channels"]:
        raise TSTransferError(f"{dataset.name}: {dataset.in_channels} input channel(s), the network expects "
                              f"{network.config['in_channels']}")
    run = prepare_run(dataset, config)
    device, amp, X, y = run.device, run.amp, run.X, run.y
    has_test = run.X_test is not None
    network.to(device=device, dtype=getattr(torch, config.dtype))
    # foreach: one kernel per step for all parameters instead of ~6 per tensor (the CPU default is per tensor)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr, betas=(0.9, 0.999), eps=config.adam_eps,
                                 foreach=True)
    scheduler = make_scheduler(optimizer, config)

    history: list[dict] = []
    best_loss, best_epoch = float("inf"), 0
    improved_loss, improved_epoch = float("inf"), 0  # the last improvement by min_delta (early stopping)
    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}  # refreshed in place
    started = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=desc or dataset.name, unit="epoch", disable=not progress,
               leave=False, dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        network.train()
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for xb, yb, lb in shuffled_batches(X, y, run.lengths, run.batch_size, run.shuffler):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = network(xb, lb)
                logits = logits.float() if amp else logits  # bf16 logits: take the loss in float32
                loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # Keras logs the epoch loss as the sample-weighted mean of its batch losses.
            loss_sum += loss.detach() * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
        train_loss = loss_sum.item() / len(y)
        train_acc = correct.item() / len(y)
        check_finite(train_loss, epoch, desc or dataset.name)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step(train_loss)
        if train_loss < best_loss:  # Keras ModelCheckpoint(monitor="loss", save_best_only=True)
            best_loss, best_epoch = train_loss, epoch
            for key, value in network.state_dict().items():
                best_state[key].copy_(value)
        if train_loss < improved_loss - config.min_delta:
            improved_loss, improved_epoch = train_loss, epoch
        test_loss = test_acc = float("nan")
        if has_test and logs_test(config, epoch):
            test_loss, test_acc = evaluate_arrays(network, run.X_test, run.y_test, run.len_test, amp=amp)
        history.append(history_row(epoch, train_loss, train_acc, test_loss, test_acc, lr, time.perf_counter() - t0))
        bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{train_acc:.3f}", best=best_epoch)
        if should_stop(config, optimizer.param_groups[0]["lr"], epoch, improved_epoch) or out_of_time(config, started):
            break
        run.threads.update()
    bar.close()

    network.load_state_dict(best_state)
    if config.precise_bn:
        recompute_batchnorm(network, X, run.lengths)
    test_loss = test_acc = None
    if has_test:
        test_loss, test_acc = evaluate_arrays(network, run.X_test, run.y_test, run.len_test, amp=amp)
    run.threads.close()
    return run_result(history, best_epoch, test_loss, test_acc, started, device)


HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"]


def history_csv(history: list[dict]) -> str:
    """The per-epoch history as CSV text (an ensemble's: its members' one after the other, with a `member` column)."""
    buffer = io.StringIO()
    columns = (["member"] if history and "member" in history[0] else []) + HISTORY_COLUMNS
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


def model_recipe_record(config: TrainConfig) -> dict:
    """A model file's record of its recipe: `TrainConfig.to_record` once, without the architecture (the header's
    `architecture` names it) and without the speed settings."""
    record = config.to_record()
    record["fields"].pop("arch")
    return record


def run_metadata(dataset: Dataset, config: TrainConfig, result: TrainResult, **extra) -> dict:
    """The training record stored in a model file: the recipe once (`model_recipe_record`), the outcome, the data."""
    return {"dataset": dataset.name, "recipe": model_recipe_record(config),
            **result.summary(), "n_train": len(dataset.y_train), "length": int(dataset.X_train.shape[-1]),
            "environment": environment(), **extra}


def trained_model(network: nn.Module, dataset: Dataset, config: TrainConfig, result: TrainResult,
                  **extra) -> TrainedModel:
    """A trained network as a model file holds it: on the CPU in float32, with the dataset's classes, the
    preprocessing and the training record (`extra`: kind, source ...)."""
    return TrainedModel(network.cpu().float().eval(), list(dataset.classes), dict(PREPROCESSING),
                        run_metadata(dataset, config, result, **extra))


def train(dataset: Dataset, config: TrainConfig | None = None,
          progress: bool = True) -> tuple[TrainedModel, TrainResult]:
    """Train the config's architecture from scratch on a dataset with the paper's recipe (or `config`)."""
    config = config or TrainConfig()
    torch.manual_seed(config.seed)  # the initial weights depend on the seed only
    network = create_model(config.arch, in_channels=dataset.in_channels, num_classes=dataset.n_classes)
    result = fit(network, dataset, config, progress=progress)
    return trained_model(network, dataset, config, result, kind="pretrain"), result


def ensemble_model(members: list[TrainedModel], dataset: Dataset, config: TrainConfig,
                   results: list[TrainResult], **extra) -> TrainedModel:
    """One model whose probabilities are the mean of the members' (fine-tunings of several sources, or networks
    trained from scratch with several seeds)."""
    if len(members) == 1:
        members[0].metadata.update(extra)
        return members[0]
    metadata = run_metadata(dataset, config, results[0], kind="ensemble", **extra)
    metadata["members"] = [{"source": m.metadata.get("source"), "seed": m.metadata["recipe"]["fields"]["seed"],
                            **r.summary()} for m, r in zip(members, results)]
    for key in ("best_epoch", "train_loss", "train_acc", "test_loss", "test_acc", "epochs", "device"):
        metadata.pop(key, None)  # per member, above
    metadata["seconds"] = sum(r.seconds for r in results)
    return TrainedModel(Ensemble.of([m.network for m in members]), list(members[0].classes),
                        dict(members[0].preprocessing), metadata)


def check_ensemble(members) -> int:
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise TSTransferError(f"--ensemble {members}: must be an integer of at least 1")
    return members


def train_ensemble(dataset: Dataset, config: TrainConfig, members: int = 1,
                   progress: bool = True) -> tuple[TrainedModel, list[TrainResult]]:
    """`members` networks trained from scratch with the seeds seed, seed + 1, ..., one model averaging their
    probabilities: LITETime is 5 LITEs (Ismail-Fawaz et al. 2023, after InceptionTime's ensemble of 5). The test
    split is logged per member; the ensemble's own accuracy is its model's (`evaluate`)."""
    check_ensemble(members)
    trained = [train(dataset, replace(config, seed=config.seed + i), progress=progress) for i in range(members)]
    results = [result for _, result in trained]
    model = ensemble_model([m for m, _ in trained], dataset, config, results)
    if members > 1:
        model.metadata["kind"] = "pretrain-ensemble"
    return model, results


def train_to_files(dataset: Dataset, out_dir, config: TrainConfig | None = None, progress: bool = True,
                   force: bool = False, ensemble: int = 1) -> tuple[Path, Path, list[TrainResult]]:
    """Train from scratch (`ensemble` > 1: that many seeds, one averaging model) and write
    `<out_dir>/<Name>.safetensors` and `<Name>.history.csv`; an existing model file is only overwritten with `force`
    (checked before training)."""
    check_output(out_dir, dataset.name, force)
    trained, results = train_ensemble(dataset, config or TrainConfig(), ensemble, progress=progress)
    history = results[0].history if len(results) == 1 else [
        {"member": i + 1, **row} for i, result in enumerate(results) for row in result.history]
    model_path, history_path = run_paths(out_dir, dataset.name)
    write_run(trained, history, model_path, history_path, exclusive=not force)
    return model_path, history_path, results


def check_output(out_dir, name: str, force: bool) -> Path:
    """Before any work: `<out_dir>/<name>.safetensors` can be written (and does not exist, unless `force`)."""
    check_writable_dir(out_dir, "--out")
    return check_writable_file(run_paths(out_dir, name)[0], "--out", force)


def run_paths(out_dir, name: str) -> tuple[Path, Path]:
    """The model file and history of a run named `name` in `out_dir`: `<name>.safetensors`, `<name>.history.csv`."""
    out_dir = Path(out_dir)
    return out_dir / f"{safe_name(name, 'model name')}.safetensors", out_dir / f"{name}.history.csv"


def save_run(trained: TrainedModel, result: TrainResult, model_path, history_path,
             exclusive: bool = False) -> tuple[Path, Path, TrainResult]:
    """Write the model file and its history CSV as one: both complete, or neither; `exclusive`: refused if the model
    file appeared meanwhile (without --force)."""
    write_run(trained, result.history, model_path, history_path, exclusive)
    return Path(model_path), Path(history_path), result


def write_run(trained: TrainedModel, history: list[dict], model_path, history_path, exclusive: bool = False) -> None:
    """The model file and its history CSV, both complete or neither (`save_run`)."""
    with atomic_paths(Path(model_path), Path(history_path), exclusive=exclusive) as (model_tmp, history_tmp):
        history_tmp.write_text(history_csv(history))
        trained.write(model_tmp)


def class_indices(model: TrainedModel, labels, where: str) -> np.ndarray:
    """Original labels as indices of the model's classes; labels the model does not know are refused."""
    index = {c: i for i, c in enumerate(model.classes)}
    labels = list(labels)
    unknown = sorted({str(label) for label in labels if label not in index})
    if unknown:
        raise TSTransferError(f"{where}: labels [{', '.join(shown(u) for u in unknown[:10])}] are not classes of the "
                              f"model [{', '.join(shown(c) for c in model.classes[:20])}]")
    return np.array([index[label] for label in labels], dtype=np.int64)


def score(target: np.ndarray, proba: np.ndarray) -> dict:
    """Accuracy, cross-entropy and the majority-class rate of probabilities against class indices."""
    picked = np.clip(proba[np.arange(len(target)), target], 1e-12, None)
    return {"n": len(target), "accuracy": float((proba.argmax(1) == target).mean()),
            "loss": float(-np.log(picked).mean()), "majority": majority_rate(target)}


def evaluate(model: TrainedModel, dataset: Dataset, split: str = "test") -> dict:
    """Accuracy and cross-entropy of a model on a dataset split, matching labels by their original value."""
    if split == "test" and dataset.X_test is None:
        raise TSTransferError(f"{dataset.name}: the dataset has no test split; to score a labelled file, give the "
                              "file itself")
    X, y, lengths = ((dataset.X_test, dataset.y_test, dataset.len_test) if split == "test"
                     else (dataset.X_train, dataset.y_train, dataset.len_train))
    target = class_indices(model, [dataset.classes[i] for i in y], dataset.name)
    proba = model.proba(X, None if dataset.equal_length else lengths)
    return {"dataset": dataset.name, "split": split, **score(target, proba)}


def evaluate_file(model: TrainedModel, path: str | Path, label_column: str | int = "first",
                  header: str = "auto") -> dict:
    """Accuracy and cross-entropy of a model on a labelled file (its label column and header row: `data.Layout`),
    whatever its name; `length`: its longest series."""
    split = model.read_file(path, label_column, header)
    if split.labels is None:
        raise TSTransferError(f"{path}: --label-column none: evaluating needs the labels")
    target = class_indices(model, split.labels.tolist(), str(path))
    return {"dataset": Path(path).name, "split": "file", **score(target, model.predict_proba(split.series)),
            "length": max(s.shape[-1] for s in split.series)}


def confusion_csv(model: TrainedModel, truth, predicted) -> str:
    """The confusion matrix as CSV: one row per true class, one column per predicted class, counts."""
    n = len(model.classes)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (class_indices(model, truth, "labels"), class_indices(model, predicted, "labels")), 1)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true \\ predicted", *model.classes])
    for label, row in zip(model.classes, counts):
        writer.writerow([label, *row.tolist()])
    return buffer.getvalue()
