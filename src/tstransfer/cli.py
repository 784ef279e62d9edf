"""The `tstransfer` command line: a thin layer over the Python API (each command names its function)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import TSTransferError
from .files import check_writable_dir, check_writable_file


def _default_archive() -> str:
    # the mini archive's path without importing .data (numpy, pandas): --help must answer at once
    return os.environ.get("TSTRANSFER_ARCHIVE", str(Path(__file__).parent / "mini_archive"))


def _add_recipe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=2000, help="training epochs (paper: 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed: fixes weights init and batch order")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--amp", action="store_true", help="bf16 mixed precision on CUDA (not the paper's recipe)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice; with --workers, "
                   "split between them)")
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
    if args.threads is not None and args.threads < 1:
        raise TSTransferError(f"--threads {args.threads}: must be at least 1")
    from .training import resolve_device

    resolve_device(args.device)  # an unknown or absent device is refused before any work
    return TrainConfig(epochs=args.epochs, seed=args.seed, device=args.device, amp=args.amp,
                       threads=args.threads, test_every=args.test_every, early_stopping=args.early_stopping)


DATASET_RULE = ("a bare name (GunPoint) is a dataset of --archive; a path (with a '/', e.g. ./Mine or "
                "data/Mine_TRAIN.tsv, or a .tsv/.csv/.ts/.txt file name) is your own data")


def _dataset(spec: str, archive: str):
    """A dataset named in the archive, or a path to the user's own file/folder: see DATASET_RULE."""
    from .data import is_path, load_dataset, load_files

    if is_path(spec):
        return load_files(spec)
    try:
        return load_dataset(spec, archive)
    except TSTransferError as err:
        if Path(spec).exists():
            raise TSTransferError(f"{err}; to use the folder {spec!r} of the current directory, write ./{spec}") \
                from None
        raise


def _print_records(records: list[dict], fmt: str) -> None:
    """--format csv|json: the rows a command shows, for scripts (the table is for people)."""
    if fmt == "json":
        print(json.dumps(records, indent=1, default=str))
        return
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table for people, csv or json for scripts")


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
    problems: dict[str, str] = {}
    infos = describe_archive(args.archive, problems, progress=sys.stderr.isatty())
    records = [vars(i) for i in infos]
    if args.format != "table":
        _print_records(records, args.format)
    else:
        print(f"archive: {args.archive}")
        print(f"{'name':<28}{'layout':<9}{'n_train':>8}{'n_test':>8}{'length':>10}{'classes':>8}{'channels':>9}")
        for i in infos:
            print(f"{i.name:<28}{i.layout:<9}{i.n_train:>8}{i.n_test:>8}{i.length:>10}{i.classes:>8}"
                  f"{i.channels:>9}")
        print(f"{len(infos)} datasets")
    for name, reason in problems.items():
        print(f"UNREADABLE {name}: {reason}", file=sys.stderr)
    if problems:
        raise TSTransferError(f"--archive {args.archive}: {len(problems)} dataset(s) could not be read (listed "
                              "above); the others are listed", exit_code=1)


def cmd_train(args) -> None:
    """training.train_to_files"""
    from .training import train_to_files

    config = _config(args)
    dataset = _dataset(args.dataset, args.archive)
    _print_deviations(config)
    model_path, history_path, result = train_to_files(dataset, args.out, config, progress=not args.quiet,
                                                      force=args.force)
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
    if args.format != "table":
        _print_records([report], args.format)
        return
    print(f"{report['dataset']} ({report['split']}, n={report['n']}): accuracy {report['accuracy']:.4f}, "
          f"loss {report['loss']:.4f}")


def cmd_predict(args) -> None:
    """TrainedModel.predict_file"""
    import csv
    import io

    from .data import label_column
    from .files import atomic_write_text
    from .models import load_model

    model = load_model(args.model)
    labels = args.labels
    if labels == "auto":
        labels = label_column(args.file, model.classes, model.metadata.get("length"))
        if labels is None:
            raise TSTransferError(f"{args.file}: cannot tell whether the first column is a label (the model was "
                                  f"trained on series of length {model.metadata.get('length', '?')}); give "
                                  "--labels first or --labels none")
    if args.out:
        check_writable_file(args.out, "--out")
    labels, proba = model.predict_file(args.file, labels=labels)
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


def _study_archive(args) -> str:
    """--archive, else the archive the study recorded, else $TSTRANSFER_ARCHIVE or the mini archive."""
    from .store import study_scope

    return args.archive or study_scope(args.study).get("archive") or _default_archive()


def _study_datasets(args, archive: str, option: str = "--datasets") -> list[str]:
    """The datasets named on the command line, else every dataset of the archive with --all, else the
    study's recorded scope; a new study must be told which."""
    from .data import list_archive, resolve_names
    from .store import study_scope

    if args.datasets:
        return resolve_names(args.datasets, archive)
    if args.all:
        return list_archive(archive)
    scope = study_scope(args.study).get("datasets")
    if scope:
        return scope
    raise TSTransferError(f"--study {args.study} has no datasets yet: name them ({option} A B ...) or give --all "
                          f"for every dataset of {archive} ({len(list_archive(archive))} datasets)")


def _grid_runs(args, archive: str, transfers: bool):
    from .data import resolve_names
    from .experiments import plan_runs

    sources = resolve_names(args.sources, archive) if getattr(args, "sources", None) else None
    targets = resolve_names(args.targets, archive) if getattr(args, "targets", None) else None
    datasets = None if (sources or targets) and not args.datasets else _study_datasets(args, archive)
    return plan_runs(datasets, sources, targets, transfers=transfers)


def _run_study(args, transfers: bool) -> None:
    from .experiments import estimate_cost, format_cost, run_grid

    config = _config(args)
    if args.workers < 1:
        raise TSTransferError(f"--workers {args.workers}: must be at least 1")
    check_writable_dir(args.study, "--study")
    archive = _study_archive(args)
    runs = _grid_runs(args, archive, transfers)
    if args.dry_run:
        print(format_cost(estimate_cost(runs, archive, config), args.workers))
        return
    _print_deviations(config)
    n_pre = sum(r.kind == "pretrain" for r in runs)
    print(f"study {args.study}: {len(runs)} runs planned ({n_pre} pre-trainings, {len(runs) - n_pre} transfers), "
          f"engine {args.engine}, archive {archive}")
    report = run_grid(archive, args.study, runs, config, engine=args.engine, workers=args.workers,
                      address=getattr(args, "address", None), gpus_per_run=getattr(args, "gpus_per_run", 0),
                      retry_failed=args.retry_failed, progress=not args.quiet, fuse=getattr(args, "fuse", None))
    print(f"{report.done} runs done, {report.failed} failed, {report.skipped} already finished "
          f"({report.seconds:.0f}s)")
    if report.failed:
        raise TSTransferError(f"{report.failed} run(s) failed; their errors are in `tstransfer results --study "
                              f"{args.study}` (runs.csv); rerun the same command with --retry-failed", exit_code=1)


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
                                                             progress=not args.quiet, force=args.force)
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

    if args.out:
        check_writable_dir(args.out, "--out")
    paths, s = write_results(args.study, args.out)
    if args.format != "table":
        _print_records([{**s, **{f"{name}_file": str(path) for name, path in paths.items()}}], args.format)
        return
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
    from .store import Store

    archive = _study_archive(args)
    names = _study_datasets(args, archive)
    check_writable_dir(args.study, "--study")
    result = compute_similarity(archive, args.study, names, jobs=args.jobs, progress=not args.quiet)
    store = Store(args.study)
    store.extend_scope(str(Path(archive).resolve()), names)
    store.close()
    if args.plots:
        for name, protos in result.prototypes.items():
            plot_prototypes(load_dataset(name, archive), protos,
                            result.paths["prototypes"] / f"{name}.png")
    print(f"distances   {result.paths['distances']}\nneighbours  {result.paths['neighbours']}\n"
          f"prototypes  {result.paths['prototypes']}")
    for target, row in result.neighbours.head(args.show).iterrows():
        print(f"{target:<28} K_1..K_3: {', '.join(row.iloc[:3])}")


def cmd_recommend(args) -> None:
    """similarity.recommend"""
    from .data import is_path
    from .similarity import recommend

    if args.top < 0:
        raise TSTransferError(f"--top {args.top}: must be 0 (all) or more")
    target = _dataset(args.target, _study_archive(args))
    # an archive dataset is not its own source; a file of the user's is never one of the archive's
    table = recommend(target, args.study, top=args.top, exclude=() if is_path(args.target) else [target.name])
    if args.format != "table":
        _print_records(table.to_dict("records"), args.format)
        return
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

    inputs = _report_inputs(args)
    check_writable_dir(args.out, "--out")
    index = write_report(inputs, args.out, progress=not args.quiet)
    print(f"report: {index.resolve()}")


def cmd_plot_loss(args) -> None:
    """report.plot_loss"""
    from .files import file_stem
    from .report import inputs_from_study, plot_loss

    out = args.out or str(Path(args.study) / "figures" / f"{file_stem(args.target)}_loss.png")
    path = plot_loss(inputs_from_study(args.study), args.target, args.source, out)
    print(f"loss curves: {path}")


def cmd_zoo_list(args) -> None:
    """zoo.Zoo.table"""
    from .zoo import Zoo

    zoo = Zoo(args.zoo)
    if args.format != "table":
        _print_records([{k: (None if v != v else v) if isinstance(v, float) else v for k, v in row.items()}
                        for row in zoo.table().to_dict("records")], args.format)
        return
    if zoo.manifest is not None:
        m = zoo.manifest
        print(f"zoo {m.get('name')} {m.get('version')}: {len(zoo.entries)} models, recipe "
              f"{'of the paper' if m['recipe'].get('paper_recipe') else '; '.join(m['recipe'].get('deviations', []))}"
              f", {m.get('storage')} weights ({zoo.root})")
    print(f"{'dataset':<28}{'classes':>8}{'length':>8}{'n_train':>8}{'accuracy':>10}  prototypes  file")
    for r in zoo.table().itertuples():
        acc = "" if r.accuracy is None or r.accuracy != r.accuracy else f"{r.accuracy:.4f}"
        print(f"{r.dataset:<28}{r.classes:>8}{r.length or '':>8}{r.n_train or '':>8}{acc:>10}  "
              f"{'yes' if r.prototypes else 'no':<10}  {r.file}")


def cmd_zoo_show(args) -> None:
    """zoo.Zoo.model"""
    from .zoo import Zoo

    zoo = Zoo(args.zoo)
    model = zoo.model(args.name)
    entry = zoo.entries[args.name]
    print(json.dumps({"file": str(entry.path), "classes": model.classes, "architecture": model.network.config,
                      "preprocessing": model.preprocessing, "prototypes": str(entry.prototypes),
                      **({"manifest": entry.record} if entry.record else {}), **model.metadata},
                     indent=2, default=str))


def cmd_zoo_build(args) -> None:
    """zoo.build_zoo"""
    from .experiments import estimate_cost, format_cost, plan_runs
    from .zoo import build_zoo

    config = _config(args)
    if args.workers < 1:
        raise TSTransferError(f"--workers {args.workers}: must be at least 1")
    if args.dry_run:
        print(format_cost(estimate_cost(plan_runs(args.datasets, transfers=False), args.archive, config),
                          args.workers))
        return
    _print_deviations(config)
    report = build_zoo(args.archive, args.datasets, args.out, config, workers=args.workers, storage=args.storage,
                       name=args.name, version=args.version, progress=not args.quiet)
    print(f"zoo {args.out}: {len(report.built)} models built now, {len(report.kept)} kept from before, "
          f"{len(report.failed)} failed ({report.seconds:.0f}s); manifest {report.manifest}")
    if report.failed:
        for name, error in report.failed.items():
            print(f"  {name}: {error}")
        raise TSTransferError(f"{len(report.failed)} pre-training(s) failed; rerun the same command to retry them",
                              exit_code=1)


def cmd_zoo_verify(args) -> None:
    """zoo.verify_zoo"""
    from .zoo import verify_zoo

    checked, problems = verify_zoo(args.zoo)
    for line in problems:
        print(f"FAILED {line}")
    if problems:
        raise TSTransferError(f"{args.zoo}: {len(problems)} of {checked} files failed verification", exit_code=1)
    print(f"{args.zoo}: all {checked} files match their sha256 and every model header its manifest entry")


def cmd_zoo_pull(args) -> None:
    """zoo.pull_zoo"""
    from .zoo import Zoo, pull_zoo

    path = pull_zoo(args.source, args.to, timeout=args.timeout, progress=not args.quiet)
    print(f"zoo pulled to {path}: {len(Zoo(path).entries)} models, every sha256 verified")


def cmd_fit(args) -> None:
    """selection.fit_from_zoo"""
    from .data import load_files
    from .selection import fit_from_zoo
    from .training import evaluate

    config = _config(args)
    check_writable_file(args.out, "--out", force=args.force)
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
    """selection.evaluate_selection"""
    from .files import atomic_write_text
    from .selection import evaluate_selection

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
        failed = [r for r in rows if r["status"] == "failed"]
        for r in rows:
            if r["status"] not in ("kept", "imported", "failed"):
                print(f"{r['dataset']}: {r['status']}")
        done = [r for r in rows if r["status"] != "failed"]
        print(f"{len(done)} models in {args.out} ({sum(r['status'] != 'kept' for r in done)} imported now)"
              + (f"; mean test accuracy {sum(accuracies) / len(accuracies):.4f} over {len(accuracies)}"
                 if accuracies else ""))
        for r in failed:
            print(f"FAILED {r['model']}: {r['error']}", file=sys.stderr)
        if failed:
            raise TSTransferError(f"{len(failed)} of {len(rows)} models could not be imported (listed above); the "
                                  "others were", exit_code=1)
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


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help, unless the help already says it or there is none to say."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or "default:" in text or default is None or default is False
                or default == argparse.SUPPRESS or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


class _VersionAction(argparse.Action):
    """--version: tstransfer's, torch's, and the device `--device auto` picks (torch imported only here)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the versions of tstransfer and torch and the device `auto` picks, then exit")

    def __call__(self, parser, namespace, values, option_string=None):
        import torch

        from . import __version__
        from .training import resolve_device

        device = resolve_device("auto")
        name = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        print(f"tstransfer {__version__}\ntorch {torch.__version__}\ndevice auto: {device}{name}")
        parser.exit()


def _set_formatter(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = _HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _set_formatter(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tstransfer", description=__doc__,
                                     epilog="DATASET arguments: " + DATASET_RULE + ". Exit codes: 0 success, 1 "
                                     "a failure while working (failed runs, an interrupted download, a full disk, a "
                                     "zoo failing verification), 2 bad input (an argument or a file).")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    archive_help = "archive folder (UCR 2018/2015 or .ts layout); default: $TSTRANSFER_ARCHIVE or the mini archive"
    study_archive_help = ("archive folder; default: the one the study recorded at its first run, else "
                          "$TSTRANSFER_ARCHIVE or the mini archive")

    p = sub.add_parser("datasets", help="list the datasets of an archive, or download one")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--download", metavar="NAME", help="download dataset NAME into --archive (needs internet)")
    p.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds for --download")
    _add_format(p)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", help="train an FCN from scratch with the paper's recipe")
    p.add_argument("dataset", help=DATASET_RULE)
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--out", default="runs", help="output folder for the model file and history CSV")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy and loss of a model file on a dataset's test split")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("dataset", help=DATASET_RULE)
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--split", choices=["test", "train"], default="test")
    _add_format(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict the labels of the series in a file (CSV: label, probabilities)")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("file", help="UCR-format (.tsv, .csv, 2015) or .ts file")
    p.add_argument("--labels", choices=["auto", "first", "none"], default="auto",
                   help="first: the first column is a label (ignored); none: every column is a value; auto: "
                   "decided only when certain (rows one value longer than the model's training length and "
                   "starting with its classes, or exactly that length and not), else an error")
    p.add_argument("--out", help="write the predictions to this CSV file instead of printing them")
    p.set_defaults(func=cmd_predict)

    for name, func, help_text in (
        ("pretrain", cmd_pretrain, "pre-train one FCN per dataset into a study folder (finished ones are skipped)"),
        ("grid", cmd_grid, "the full study: pre-train every dataset, fine-tune every source on every target"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--archive", default=None, help=study_archive_help)
        p.add_argument("--study", required=True, help="study folder (results store, models, histories)")
        p.add_argument("--datasets", nargs="+", help="datasets of the study (default: the study's own; a new "
                       "study must name them or give --all)")
        p.add_argument("--all", action="store_true", help="every dataset of the archive")
        p.add_argument("--dry-run", action="store_true", help="print the planned runs with their estimated cost "
                       "(FLOPs, time at the speed measured now) and exit")
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
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--study", help="study folder holding pretrained/<SOURCE>.safetensors; the run is recorded")
    p.add_argument("--out", default="runs", help="output folder when SOURCE is a model file (writes "
                   "<Source>-to-<Target>.safetensors)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("similarity", help="Algorithm 1: DBA prototypes, DTW dataset distances, neighbour table")
    p.add_argument("--archive", default=None, help=study_archive_help)
    p.add_argument("--study", required=True, help="study folder (writes STUDY/similarity/)")
    p.add_argument("--datasets", nargs="+", help="datasets (default: the study's own; a new study must name them "
                   "or give --all)")
    p.add_argument("--all", action="store_true", help="every dataset of the archive")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes / numba threads")
    p.add_argument("--plots", action="store_true", help="also plot each dataset's prototypes (PNG)")
    p.add_argument("--show", type=int, default=10, help="print the top neighbours of this many targets")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("recommend", help="rank source datasets for a target (an archive dataset or your own file)")
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--study", required=True, help="study folder where `tstransfer similarity` ran")
    p.add_argument("--archive", default=None, help=study_archive_help)
    p.add_argument("--top", type=int, default=5, help="how many sources to list (0: all)")
    _add_format(p)
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

    zoo_help = "zoo folder (default: the zoo shipped with tstransfer); a study folder or *.safetensors + prototypes/"
    zoo = sub.add_parser("zoo", help="pre-trained model zoos: list, show, build, verify, pull")
    zoo_sub = zoo.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = zoo_sub.add_parser("list", help="the models of a zoo")
    p.add_argument("--zoo", default=None, help=zoo_help)
    _add_format(p)
    p.set_defaults(func=cmd_zoo_list)
    p = zoo_sub.add_parser("show", help="one model of a zoo: header, training record, manifest entry")
    p.add_argument("name", help="dataset name")
    p.add_argument("--zoo", default=None, help=zoo_help)
    p.set_defaults(func=cmd_zoo_show)
    p = zoo_sub.add_parser("build", help="pre-train datasets into a publishable zoo (manifest, checksums, "
                           "prototypes); resumable")
    p.add_argument("--archive", default=_default_archive(), help=archive_help)
    p.add_argument("--datasets", nargs="+", required=True, help="datasets to pre-train, in this order")
    p.add_argument("--out", required=True, help="zoo folder (zoo.json, models/, prototypes/; build/ holds the "
                   "resumable state)")
    p.add_argument("--storage", choices=["float16", "float32"], default="float16",
                   help="weights stored as (float16: half the size; accuracies are measured with them)")
    p.add_argument("--name", help="the zoo's name (default: the folder name)")
    p.add_argument("--version", default="1", help="the zoo's version")
    p.add_argument("--workers", type=int, default=1, help="parallel pre-trainings")
    p.add_argument("--dry-run", action="store_true", help="print the runs with their estimated cost and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_recipe_options(p)
    p.set_defaults(func=cmd_zoo_build)
    p = zoo_sub.add_parser("verify", help="check every file of a zoo against its sha256 and manifest")
    p.add_argument("zoo", help="zoo folder with a zoo.json")
    p.set_defaults(func=cmd_zoo_verify)
    p = zoo_sub.add_parser("pull", help="download a published zoo (URL or folder), verifying every sha256")
    p.add_argument("source", help="http(s) URL of the zoo folder (holding zoo.json) or a local folder")
    p.add_argument("--to", required=True, help="new folder for the zoo")
    p.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_zoo_pull)

    p = sub.add_parser("fit", help="choose a source in a zoo for your data and fine-tune it")
    p.add_argument("--train", required=True, help="your training file (.tsv/.csv/.ts, labels of any kind)")
    p.add_argument("--test", help="a test file: reports the accuracy (never used to choose)")
    p.add_argument("--zoo", default=None, help="zoo folder (default: the zoo shipped with tstransfer; see "
                   "`tstransfer zoo`)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
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
    _add_format(p)
    p.set_defaults(func=cmd_results)
    _set_formatter(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args.func(args)
        except TSTransferError as err:
            print(f"tstransfer: error: {err}", file=sys.stderr)
            return err.exit_code
        except KeyboardInterrupt:
            print("tstransfer: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `tstransfer ... | head`: the reader left; say nothing more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        finally:
            _explain_warnings(caught)
    return 0


def _explain_warnings(caught) -> None:
    """Library warnings in tstransfer's words, once each; harmless ones are dropped."""
    said = set()
    for w in caught:
        text, module = str(w.message), getattr(w.category, "__module__", "")
        if module.startswith("numba") or "Glyph" in text or issubclass(w.category, (DeprecationWarning,
                                                                                    PendingDeprecationWarning)):
            continue  # numba's type-safety notes, missing font glyphs of odd names, deprecations: not the user's
        if "have the same performance" in text:
            text = ("some selection strategies tie on every target; the critical-difference diagram joins them "
                    "(more targets separate them)")
        else:
            text = f"{w.category.__name__} from {module.split('.')[0] or 'a library'}: {text.splitlines()[0][:200]}"
        if text not in said:
            said.add(text)
            print(f"tstransfer: note: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
