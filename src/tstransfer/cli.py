"""The `tstransfer` command line: a thin layer over the Python API (each command names its function)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import TSTransferError


def _default_archive() -> str:
    from .data import MINI_ARCHIVE

    return os.environ.get("TSTRANSFER_ARCHIVE", str(MINI_ARCHIVE))


def _add_recipe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=2000, help="training epochs (paper: 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed: fixes weights init and batch order")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--amp", action="store_true", help="bf16 mixed precision on CUDA (not the paper's recipe)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    p.add_argument("--test-every", type=int, default=1, help="log test loss/accuracy every N epochs (paper: 1)")


def _config(args):
    from .training import TrainConfig

    if args.epochs < 1:
        raise TSTransferError(f"--epochs {args.epochs}: must be at least 1")
    if args.test_every < 1:
        raise TSTransferError(f"--test-every {args.test_every}: must be at least 1")
    return TrainConfig(epochs=args.epochs, seed=args.seed, device=args.device, amp=args.amp,
                       threads=args.threads, test_every=args.test_every)


def _dataset(spec: str, archive: str):
    """A dataset named in the archive, or a path to the user's own file/folder."""
    from .data import load_dataset, load_files

    path = Path(spec)
    if path.exists():
        return load_files(path)
    return load_dataset(spec, archive)


def _print_deviations(config) -> None:
    deviations = config.deviations()
    if deviations:
        print("NOTE: this run deviates from the paper's recipe: " + "; ".join(deviations))


# ----------------------------------------------------------------------------- commands


def cmd_datasets(args) -> None:
    """data.describe_archive / data.download_dataset"""
    from .data import describe_archive, download_dataset

    if args.download:
        target = download_dataset(args.download, args.archive, timeout=args.timeout)
        print(f"downloaded {args.download} to {target}")
        return
    infos = describe_archive(args.archive)
    print(f"archive: {args.archive}")
    print(f"{'name':<28}{'layout':<9}{'n_train':>8}{'n_test':>8}{'length':>10}{'classes':>8}{'channels':>9}")
    for i in infos:
        print(f"{i.name:<28}{i.layout:<9}{i.n_train:>8}{i.n_test:>8}{i.length:>10}{i.classes:>8}{i.channels:>9}")
    print(f"{len(infos)} datasets")


def cmd_train(args) -> None:
    """training.train_to_files"""
    from .training import train_to_files

    config = _config(args)
    dataset = _dataset(args.dataset, args.archive)
    _print_deviations(config)
    model_path, history_path, result = train_to_files(dataset, args.out, config, progress=not args.quiet)
    print(f"{dataset.name}: best epoch {result.best_epoch}/{result.epochs}, train loss {result.train_loss:.4f}, "
          f"test accuracy {'n/a' if result.test_acc is None else f'{result.test_acc:.4f}'} "
          f"({result.seconds:.0f}s on {result.device})")
    print(f"model: {model_path}\nhistory: {history_path}")


def cmd_evaluate(args) -> None:
    """training.evaluate"""
    from .models import load_model
    from .training import evaluate

    model = load_model(args.model)
    report = evaluate(model, _dataset(args.dataset, args.archive), split=args.split)
    print(f"{report['dataset']} ({report['split']}, n={report['n']}): accuracy {report['accuracy']:.4f}, "
          f"loss {report['loss']:.4f}")


def cmd_predict(args) -> None:
    """TrainedModel.predict_file"""
    import csv
    import io

    from .files import atomic_write_text
    from .models import load_model

    model = load_model(args.model)
    labels, proba = model.predict_file(args.file)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "label", *[f"p_{c}" for c in model.classes]])
    for i, (label, p) in enumerate(zip(labels, proba)):
        writer.writerow([i, label, *[f"{v:.6f}" for v in p]])
    if args.out:
        atomic_write_text(args.out, buffer.getvalue())
        print(f"{len(labels)} predictions written to {args.out}")
    else:
        sys.stdout.write(buffer.getvalue())


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tstransfer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    archive_help = "archive folder (UCR 2018/2015 or .ts layout); default: $TSTRANSFER_ARCHIVE or the mini archive"

    p = sub.add_parser("datasets", help="list the datasets of an archive, or download one")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--download", metavar="NAME", help="download dataset NAME into --archive (needs internet)")
    p.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds for --download")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", help="train an FCN from scratch with the paper's recipe")
    p.add_argument("dataset", help="dataset name in --archive, or a path to a train file / dataset folder")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--out", default="runs", help="output folder for the model file and history CSV")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy and loss of a model file on a dataset's test split")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("dataset", help="dataset name in --archive, or a path to a file / dataset folder")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict the labels of the series in a file (CSV: label, probabilities)")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("file", help="UCR-format (.tsv, .csv, 2015) or .ts file; its label column is ignored")
    p.add_argument("--out", help="write the predictions to this CSV file instead of printing them")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except TSTransferError as err:
        print(f"tstransfer: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tstransfer: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
