"""The `tstransfer` command line: a thin layer over the Python API (each command names its function)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd

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
    p.add_argument("--early-stopping", type=int, default=None, metavar="P",
                   help="stop after P epochs without improvement once the lr is at its floor (off: the paper)")


def _config(args):
    from .training import TrainConfig

    if args.epochs < 1:
        raise TSTransferError(f"--epochs {args.epochs}: must be at least 1")
    if args.test_every < 1:
        raise TSTransferError(f"--test-every {args.test_every}: must be at least 1")
    if args.early_stopping is not None and args.early_stopping < 1:
        raise TSTransferError(f"--early-stopping {args.early_stopping}: must be at least 1")
    return TrainConfig(epochs=args.epochs, seed=args.seed, device=args.device, amp=args.amp,
                       threads=args.threads, test_every=args.test_every, early_stopping=args.early_stopping)


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


def _grid_runs(args, transfers: bool):
    from .data import list_archive
    from .experiments import plan_runs

    datasets = args.datasets or (None if getattr(args, "sources", None) or getattr(args, "targets", None)
                                 else list_archive(args.archive))
    return plan_runs(datasets, getattr(args, "sources", None), getattr(args, "targets", None), transfers=transfers)


def _run_study(args, transfers: bool) -> None:
    from .experiments import run_grid

    config = _config(args)
    runs = _grid_runs(args, transfers)
    if args.workers < 1:
        raise TSTransferError(f"--workers {args.workers}: must be at least 1")
    _print_deviations(config)
    n_pre = sum(r.kind == "pretrain" for r in runs)
    print(f"study {args.study}: {len(runs)} runs planned ({n_pre} pre-trainings, {len(runs) - n_pre} transfers), "
          f"engine {args.engine}")
    report = run_grid(args.archive, args.study, runs, config, engine=args.engine, workers=args.workers,
                      address=getattr(args, "address", None), gpus_per_run=getattr(args, "gpus_per_run", 0),
                      retry_failed=args.retry_failed, progress=not args.quiet, fuse=getattr(args, "fuse", None))
    print(f"{report.done} runs done, {report.failed} failed, {report.skipped} already finished "
          f"({report.seconds:.0f}s)")
    if report.failed:
        print("failed runs are recorded with their error in the store; rerun with --retry-failed")


def cmd_pretrain(args) -> None:
    """experiments.run_grid with pre-trainings only"""
    _run_study(args, transfers=False)


def cmd_grid(args) -> None:
    """experiments.plan_runs + experiments.run_grid"""
    _run_study(args, transfers=True)


def cmd_transfer(args) -> None:
    """transfer.transfer_to_files"""
    from .experiments import RunSpec, run_grid
    from .transfer import transfer_to_files

    config = _config(args)
    _print_deviations(config)
    if Path(args.source).is_file():  # a model file: fine-tune it on TARGET, write to --out
        dataset = _dataset(args.target, args.archive)
        model_path, history_path, result = transfer_to_files(args.source, dataset, args.out, config,
                                                             progress=not args.quiet)
        print(f"{args.source} -> {dataset.name}: best epoch {result.best_epoch}, test accuracy "
              f"{'n/a' if result.test_acc is None else f'{result.test_acc:.4f}'}\nmodel: {model_path}")
        return
    if not args.study:
        raise TSTransferError(f"SOURCE {args.source!r} is not a model file; give --study with its pre-trained model")
    spec = RunSpec("transfer", args.source, args.target)
    if not (Path(args.study) / RunSpec("pretrain", "", args.source).model_path).is_file():
        raise TSTransferError(f"--study {args.study}: no pre-trained model of {args.source}; "
                              f"run `tstransfer pretrain --datasets {args.source}` first")
    report = run_grid(args.archive, args.study, [spec], config, retry_failed=True, progress=not args.quiet)
    from .store import Store

    store = Store(args.study)
    row = store.get("transfer", args.source, args.target, config.seed, config.epochs)
    store.close()
    if row["status"] != "done":
        raise TSTransferError(f"{spec} failed: {row['error']}")
    print(f"{spec}: best epoch {row['best_epoch']}, test accuracy {row['test_acc']:.4f}"
          f"{' (already finished)' if report.skipped else ''}\nmodel: {Path(args.study) / row['model_path']}")


def cmd_results(args) -> None:
    """report.write_results"""
    from .report import write_results

    paths, s = write_results(args.study, args.out)
    for name, path in paths.items():
        print(f"{name:<12}{path}")
    if s["pairs"]:
        print(f"{s['pairs']} source->target pairs: {s['improved']} improved, {s['unchanged']} unchanged, "
              f"{s['degraded']} degraded; mean change {s['mean_change_points']:+.2f} accuracy points, "
              f"median variation {s['median_variation_pct']:+.2f}%")
    else:
        print("no finished transfer pairs yet")


def cmd_similarity(args) -> None:
    """similarity.compute_similarity (+ similarity.plot_prototypes)"""
    from .data import load_dataset
    from .similarity import compute_similarity, plot_prototypes

    result = compute_similarity(args.archive, args.study, args.datasets, jobs=args.jobs, progress=not args.quiet)
    if args.plots:
        for name, protos in result.prototypes.items():
            plot_prototypes(load_dataset(name, args.archive), protos,
                            result.paths["prototypes"] / f"{name}.png")
    print(f"distances   {result.paths['distances']}\nneighbours  {result.paths['neighbours']}\n"
          f"prototypes  {result.paths['prototypes']}")
    for target, row in result.neighbours.head(args.show).iterrows():
        print(f"{target:<28} K_1..K_3: {', '.join(row.iloc[:3])}")


def cmd_recommend(args) -> None:
    """similarity.recommend"""
    from .similarity import recommend

    table = recommend(_dataset(args.target, args.archive), args.study, top=args.top)
    print(f"sources for {args.target}, most similar first (Algorithm 1: min DTW between DBA prototypes)")
    for row in table.itertuples():
        print(f"{row.rank:>4}  {row.source:<28}{row.distance:>10.4f}")


def _report_inputs(args):
    from .report import inputs_from_files, inputs_from_study

    if args.study:
        return inputs_from_study(args.study)
    if not (args.matrix and args.baseline):
        raise TSTransferError("give --study STUDY_DIR, or --matrix ACC.csv and --baseline NO_TRANSFER.csv")
    return inputs_from_files(args.matrix, args.baseline, args.similarity)


def cmd_report(args) -> None:
    """report.write_report"""
    from .report import write_report

    index = write_report(_report_inputs(args), args.out, progress=not args.quiet)
    print(f"report: {index.resolve()}")


def cmd_plot_loss(args) -> None:
    """report.plot_loss"""
    from .report import inputs_from_study, plot_loss

    out = args.out or str(Path(args.study) / "figures" / f"{args.target}_loss.png")
    path = plot_loss(inputs_from_study(args.study), args.target, args.source, out)
    print(f"loss curves: {path}")


def cmd_zoo(args) -> None:
    """zoo.Zoo.table"""
    from .zoo import Zoo

    zoo = Zoo(args.zoo)
    table = zoo.table()
    if args.action == "show":
        if args.name not in zoo.entries:
            raise TSTransferError(f"--zoo {args.zoo}: no model of {args.name!r}")
        model = zoo.model(args.name)
        print(json.dumps({"file": str(zoo.entries[args.name].path), "classes": model.classes,
                          "architecture": model.network.config, "preprocessing": model.preprocessing,
                          "prototypes": str(zoo.entries[args.name].prototypes), **model.metadata},
                         indent=2, default=str))
        return
    print(f"{'dataset':<28}{'classes':>8}{'length':>8}{'n_train':>8}{'accuracy':>10}  prototypes  file")
    for r in table.itertuples():
        acc = "" if r.accuracy is None or pd.isna(r.accuracy) else f"{r.accuracy:.4f}"
        print(f"{r.dataset:<28}{r.classes:>8}{r.length or '':>8}{r.n_train or '':>8}{acc:>10}  "
              f"{'yes' if r.prototypes else 'no':<10}  {r.file}")


def cmd_fit(args) -> None:
    """zoo.fit_from_zoo"""
    from .data import load_files
    from .training import evaluate
    from .zoo import fit_from_zoo

    config = _config(args)
    dataset = load_files(args.train, args.test)
    _print_deviations(config)
    report = fit_from_zoo(dataset, args.zoo, select=args.select, config=config, top_k=args.top_k,
                          validate_epochs=args.validate_epochs, compare_scratch=args.compare_scratch,
                          progress=not args.quiet)
    path = report.model.save(args.out)
    rank = f", similarity rank {report.similarity_rank}" if report.similarity_rank else ""
    print(f"chosen source: {report.source} (--select {report.select}{rank})")
    print(report.ranking.head(5).to_string(index=False))
    if dataset.X_test is not None:
        print(f"test accuracy: {evaluate(report.model, dataset)['accuracy']:.4f}")
        if report.scratch is not None:
            print(f"from scratch:  {report.scratch.test_acc:.4f}")
    print(f"model: {path}")


def cmd_evaluate_selection(args) -> None:
    """zoo.evaluate_selection"""
    from .files import atomic_write_text
    from .zoo import evaluate_selection

    summary, per_target = evaluate_selection(args.study, args.archive, top_k=args.top_k,
                                             validate_epochs=args.validate_epochs, progress=not args.quiet)
    out = Path(args.study) / "selection_strategies.csv"
    atomic_write_text(out, summary.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(out.with_name("selection_strategies_per_target.csv"), per_target.to_csv(float_format="%.6g"))
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"written: {out}")
    report = Path(args.study) / "report"
    if (report / "index.html").is_file():  # the report of this study exists: add the table to it
        from .report import inputs_from_study, write_report

        write_report(inputs_from_study(args.study), report, progress=False)
        print(f"report updated: {report / 'index.html'}")


def cmd_import_keras(args) -> None:
    """keras_import.import_keras / import_for_dataset / import_tree"""
    from .data import load_dataset
    from .keras_import import find_models, import_for_dataset, import_keras, import_tree, locate, model_file

    source = Path(args.model)
    tree = source.is_dir() and model_file(source) is None and find_models(source)
    if tree:
        if args.classes or args.dataset or args.weights:
            raise TSTransferError(f"{source}: a folder of model folders; --classes, --dataset and --weights apply "
                                  "to one model (each folder name is taken as its dataset)")
        if Path(args.out).is_file():
            raise TSTransferError(f"--out {args.out}: a file; importing a tree of models writes a folder")
        rows = import_tree(source, args.out, args.archive, progress=not args.quiet)
        accuracies = [r["test_acc"] for r in rows if r["test_acc"] is not None]
        for r in rows:
            if r["status"] not in ("kept", "imported"):
                print(f"{r['dataset']}: {r['status']}")
        print(f"{len(rows)} models in {args.out} ({sum(r['status'] != 'kept' for r in rows)} imported now)"
              + (f"; mean test accuracy {sum(accuracies) / len(accuracies):.4f} over {len(accuracies)}"
                 if accuracies else ""))
        return
    if args.out.endswith(os.sep) or Path(args.out).is_dir():
        raise TSTransferError(f"--out {args.out}: a folder; give the model file to write (.safetensors)")
    if args.classes and args.dataset:
        raise TSTransferError("give --classes or --dataset, not both")
    locate(source, args.weights)  # bad paths fail before a dataset is loaded
    if args.dataset:
        model = import_for_dataset(source, load_dataset(args.dataset, args.archive), args.weights)
    else:
        classes = None
        if args.classes:
            from .data import parse_labels

            classes = parse_labels(args.classes.split(",")).tolist()
        model = import_keras(source, args.weights, classes=classes)
    path = model.save(args.out)
    config = model.network.config
    print(f"imported {model.metadata['imported_from']}: FCN {config['in_channels']} channel(s), filters "
          f"{config['filters']}, kernels {config['kernels']}, {config['num_classes']} classes {model.classes}")
    if not (args.classes or args.dataset):
        print("NOTE: Keras files carry no labels; the classes are the output indices 0..C-1 "
              "(give --dataset NAME or --classes a,b,c for the real labels)")
    if "test_acc" in model.metadata:
        print(f"{model.metadata['dataset']} test accuracy: {model.metadata['test_acc']:.4f}")
    print(f"model: {path}")


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

    for name, func, help_text in (
        ("pretrain", cmd_pretrain, "pre-train one FCN per dataset into a study folder (finished ones are skipped)"),
        ("grid", cmd_grid, "the full study: pre-train every dataset, fine-tune every source on every target"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--archive", default=_default_archive(), help=archive_help)
        p.add_argument("--study", required=True, help="study folder (results store, models, histories)")
        p.add_argument("--datasets", nargs="+", help="datasets of the study (default: every archive dataset)")
        if name == "grid":
            p.add_argument("--sources", nargs="+", help="source datasets (instead of --datasets)")
            p.add_argument("--targets", nargs="+", help="target datasets (instead of --datasets)")
            p.add_argument("--engine", choices=["local", "ray"], default="local")
            p.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
            p.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs per run with Ray (fractions share)")
            p.add_argument("--fuse", type=int, default=None, help="fine-tunings of one target trained together "
                           "(default: 8 on CUDA, 1 = no fusing on CPU); fixed for a study")
        else:
            p.set_defaults(engine="local")
        p.add_argument("--workers", type=int, default=1, help="parallel runs (local: processes; CPU threads are "
                       "split between them)")
        p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        _add_recipe_options(p)
        p.set_defaults(func=func)

    p = sub.add_parser("transfer", help="fine-tune a pre-trained source model on a target dataset")
    p.add_argument("source", help="source dataset (its model in --study) or a model file")
    p.add_argument("target", help="target dataset name in --archive, or a path to a file / dataset folder")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--study", help="study folder holding pretrained/<SOURCE>.safetensors; the run is recorded")
    p.add_argument("--out", default="runs", help="output folder when SOURCE is a model file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("similarity", help="Algorithm 1: DBA prototypes, DTW dataset distances, neighbour table")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--study", required=True, help="study folder (writes STUDY/similarity/)")
    p.add_argument("--datasets", nargs="+", help="datasets (default: every archive dataset)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes / numba threads")
    p.add_argument("--plots", action="store_true", help="also plot each dataset's prototypes (PNG)")
    p.add_argument("--show", type=int, default=10, help="print the top neighbours of this many targets")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("recommend", help="rank source datasets for a target (an archive dataset or your own file)")
    p.add_argument("target", help="dataset name in --archive, or a path to your train file / dataset folder")
    p.add_argument("--study", required=True, help="study folder where `tstransfer similarity` ran")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--top", type=int, default=5, help="how many sources to list (0: all)")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("report", help="HTML report with the paper's figures and the source-selection study")
    p.add_argument("--study", help="study folder (results store, histories, similarity)")
    p.add_argument("--matrix", help="accuracy matrix CSV made elsewhere (rows = source, columns = target)")
    p.add_argument("--baseline", help="no-transfer accuracies CSV (dataset,accuracy)")
    p.add_argument("--similarity", help="neighbours CSV (index = target, columns K_1 ...)")
    p.add_argument("--out", required=True, help="output folder (index.html, figures/, targets/, selection.csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot-loss", help="loss curves of a target with and without transfer (the paper's Fig. 1)")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--target", required=True, help="target dataset")
    p.add_argument("--source", nargs="+", help="sources (default: the most and the least similar)")
    p.add_argument("--out", help="PNG file (default: STUDY/figures/<TARGET>_loss.png)")
    p.set_defaults(func=cmd_plot_loss)

    p = sub.add_parser("zoo", help="list the pre-trained models of a zoo, or show one")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("name", nargs="?", help="dataset name (for show)")
    p.add_argument("--zoo", required=True, help="zoo folder: a study folder or *.safetensors + prototypes/")
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("fit", help="choose a source in a zoo for your data and fine-tune it")
    p.add_argument("--train", required=True, help="your training file (.tsv/.csv/.ts, labels of any kind)")
    p.add_argument("--test", help="a test file: reports the accuracy (never used to choose)")
    p.add_argument("--zoo", required=True, help="zoo folder (see `tstransfer zoo`)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors)")
    p.add_argument("--select", choices=["similarity", "validate", "transferability"], default="similarity",
                   help="similarity: Algorithm 1's K_1 (paper); validate: brief fine-tunes of the top-k on a "
                   "validation split; transferability: LogME of frozen features")
    p.add_argument("--top-k", type=int, default=3, help="candidates for --select validate")
    p.add_argument("--validate-epochs", type=int, help="epochs of each brief fine-tune (default: epochs/10)")
    p.add_argument("--compare-scratch", action="store_true", help="also train from scratch and report it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("evaluate-selection", help="every source-selection strategy, leave-one-target-out, "
                       "on a finished grid")
    p.add_argument("--study", required=True, help="study folder with a finished grid and `similarity`")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--top-k", type=int, default=3, help="candidates for the validate strategy")
    p.add_argument("--validate-epochs", type=int, help="epochs of each brief fine-tune (default: study epochs/10)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_evaluate_selection)

    p = sub.add_parser("import-keras", help="convert a Keras FCN (the paper's released models) into a tstransfer "
                       "model file")
    p.add_argument("model", help="best_model.hdf5 (architecture + weights), architecture.txt (+ its weights), a "
                   ".keras file, a folder holding one, or a tree of such folders (the authors' archives)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors); a folder for a tree")
    p.add_argument("--weights", help="weights for architecture.txt (default: best_model_weights.hdf5 beside it)")
    p.add_argument("--dataset", help="the dataset the model was trained on (in --archive): its sorted labels are "
                   "the classes and its test accuracy is recorded")
    p.add_argument("--classes", help="comma-separated labels of the outputs, in order (default: 0..C-1)")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import_keras)

    p = sub.add_parser("results", help="accuracy and accuracy-variation matrices of a study (CSV) and a summary")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--out", help="output folder (default: STUDY/results)")
    p.set_defaults(func=cmd_results)
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
