"""The `tstransfer` command line: a thin layer over the Python API (each command names its function)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import TSTransferError
from .files import check_writable_dir, check_writable_file
from .recipe import DEFAULTS as _RECIPE  # light: no torch; --help shows the recipe's own defaults
from .recipe import FIT_ENSEMBLE, RECIPES


def _default_archive() -> str:
    # the mini archive's path without importing .data (numpy, pandas): --help must answer at once
    return os.environ.get("TSTRANSFER_ARCHIVE", str(Path(__file__).parent / "mini_archive"))


def _config(args):
    """The named recipe (--recipe) with the command line's settings (checked by TrainConfig), the device checked
    before any work."""
    from .recipe import TrainConfig
    from .training import resolve_device

    config = TrainConfig.named(args.recipe or args.default_recipe, epochs=args.epochs, seed=_seeds(args)[0],
                               device=args.device, amp=args.amp or None, threads=args.threads,
                               test_every=args.test_every, early_stopping=args.early_stopping)
    resolve_device(args.device)  # an unknown or absent device is refused before any work
    return config


def _seeds(args) -> list[int]:
    """--seeds S1 S2 ..., else the one --seed."""
    if not args.seeds:
        return [_RECIPE.seed if args.seed is None else args.seed]
    if args.seed is not None:
        raise TSTransferError("give --seed or --seeds, not both")
    bad = [s for s in args.seeds if s < 0]
    if bad:
        raise TSTransferError(f"--seeds {bad[0]}: must be at least 0")
    return list(dict.fromkeys(args.seeds))


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


def _print_deviations(config) -> None:
    deviations = config.deviations()
    if deviations:
        print(f"NOTE: this run ({config.recipe_name} recipe) deviates from the paper's recipe: "
              + "; ".join(deviations))


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
    if args.format != "table":
        _print_records([vars(i) for i in infos], args.format)
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


def _print_run(what: str, result, model_path) -> None:
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.4f}"
    print(f"{what}: best epoch {result.best_epoch}/{result.epochs}, train loss {result.train_loss:.4f}, "
          f"test accuracy {test} ({result.seconds:.0f}s on {result.device})\nmodel: {model_path}")


def _print_guardrails(model_path, dataset, result) -> None:
    """The saved model against the majority class, and against the training accuracy its history logged."""
    from .guardrails import accuracy_note, majority_rate, training_gap_note
    from .models import load_model
    from .training import evaluate

    saved = evaluate(load_model(model_path), dataset, "train")["accuracy"]
    for note in (accuracy_note(result.test_acc, majority_rate(dataset.y_test)) if result.test_acc is not None
                 else None, training_gap_note(saved, result.train_acc)):
        if note and ("WARNING" in note or note.startswith("test")):
            print(note)


def _data_notes(dataset, where: str) -> None:
    from .guardrails import label_column_note

    note = label_column_note(len(dataset.y_train), dataset.n_classes, where)
    if note:
        print(note)


def cmd_train(args) -> None:
    """training.train_to_files"""
    from .training import train_to_files

    config = _config(args)
    dataset = _dataset(args.dataset, args.archive)
    _data_notes(dataset, args.dataset)
    _print_deviations(config)
    model_path, history_path, result = train_to_files(dataset, args.out, config, progress=not args.quiet,
                                                      force=args.force)
    _print_run(dataset.name, result, model_path)
    _print_guardrails(model_path, dataset, result)
    print(f"history: {history_path}")


def cmd_evaluate(args) -> None:
    """training.evaluate (a dataset's split) / training.evaluate_file (a labelled file)"""
    from .data import is_path
    from .guardrails import at_or_below_majority
    from .models import load_model
    from .training import evaluate, evaluate_file

    model = load_model(args.model)
    if is_path(args.dataset) and Path(args.dataset).is_file():  # a labelled file: all of it, under its own name
        scores = evaluate_file(model, args.dataset)
    else:
        scores = evaluate(model, _dataset(args.dataset, args.archive), split=args.split)
    if args.format != "table":
        _print_records([scores], args.format)
        return
    print(f"{scores['dataset']} ({scores['split']}, n={scores['n']}): accuracy {scores['accuracy']:.4f}, loss "
          f"{scores['loss']:.4f}, majority class {scores['majority']:.4f}")
    if at_or_below_majority(scores["accuracy"], scores["majority"]):
        print("WARNING: not above always answering the majority class; the model has collapsed")


def cmd_predict(args) -> None:
    """TrainedModel.read_file + predict_proba (+ training.score and confusion_csv on a labelled file)"""
    from .files import atomic_paths
    from .guardrails import length_note
    from .models import load_model
    from .training import class_indices, confusion_csv, score

    model = load_model(args.model)
    if args.out:
        check_writable_file(args.out, "--out")
    split = model.read_file(args.file, args.labels)
    note = length_note(model.metadata.get("length"), max(s.shape[-1] for s in split.series), args.file)
    if note:
        print(f"tstransfer: {note}", file=sys.stderr)
    proba = model.predict_proba(split.series)
    predicted = model.labels_of(proba)
    text = model.predictions_csv(predicted, proba)
    truth = split.labels.tolist() if split.labels is not None else None
    if truth is not None:  # a labelled file: how good were the predictions?
        try:
            s = score(class_indices(model, truth, args.file), proba)
            print(f"accuracy {s['accuracy']:.4f} on {s['n']} labelled series (majority class {s['majority']:.4f})",
                  file=sys.stderr)
        except TSTransferError as err:  # another labelling: the predictions stand, an accuracy would not
            print(f"tstransfer: note: no accuracy: {err}", file=sys.stderr)
            truth = None
    if not args.out:
        sys.stdout.write(text)
        return
    out = Path(args.out)
    confusion = out.with_name(out.stem + ".confusion.csv")
    paths = [out, confusion] if truth is not None else [out]
    with atomic_paths(*paths) as tmps:
        tmps[0].write_text(text)
        if truth is not None:
            tmps[1].write_text(confusion_csv(model, truth, predicted.tolist()))
    print(f"{len(predicted)} predictions written to {out}" + (f"; confusion matrix: {confusion}" if truth else ""))


def _study_archive(args) -> str:
    """--archive, else the archive the study recorded, else $TSTRANSFER_ARCHIVE or the mini archive."""
    from .study import study_scope

    return args.archive or study_scope(args.study).get("archive") or _default_archive()


def _study_datasets(args, archive: str) -> list[str]:
    """The datasets named on the command line, else every dataset of the archive with --all, else the
    study's recorded scope; a new study must be told which."""
    from .data import list_archive, resolve_names
    from .study import study_scope

    if args.datasets:
        return resolve_names(args.datasets, archive)
    if args.all:
        return list_archive(archive)
    scope = study_scope(args.study).get("datasets")
    if scope:
        return scope
    raise TSTransferError(f"--study {args.study} has no datasets yet: name them (--datasets A B ...) or give --all "
                          f"for every dataset of {archive} ({len(list_archive(archive))} datasets)")


def _run_study(args, transfers: bool) -> None:
    """study.plan_runs + grid.run_grid (or grid.estimate_cost with --dry-run)"""
    from .data import resolve_names
    from .grid import estimate_cost, format_cost, run_grid
    from .study import plan_runs

    config, seeds = _config(args), _seeds(args)
    if args.workers < 1:
        raise TSTransferError(f"--workers {args.workers}: must be at least 1")
    check_writable_dir(args.study, "--study")
    archive = _study_archive(args)
    sources = resolve_names(args.sources, archive) if args.sources else None
    targets = resolve_names(args.targets, archive) if args.targets else None
    datasets = None if (sources or targets) and not args.datasets else _study_datasets(args, archive)
    runs = plan_runs(datasets, sources, targets, transfers=transfers, seeds=seeds)
    if args.dry_run:
        print(format_cost(estimate_cost(runs, archive, config), args.workers))
        return
    _print_deviations(config)
    n_pre = sum(r.kind == "pretrain" for r in runs)
    print(f"study {args.study}: {len(runs)} runs planned ({n_pre} pre-trainings, {len(runs) - n_pre} transfers"
          f"{f'; seeds {seeds}' if len(seeds) > 1 else ''}), engine {args.engine}, archive {archive}")
    counts = run_grid(archive, args.study, runs, config, engine=args.engine, workers=args.workers,
                      address=args.address, gpus_per_run=args.gpus_per_run, retry_failed=args.retry_failed,
                      progress=not args.quiet, fuse=args.fuse)
    print(f"{counts.done} runs done, {counts.failed} failed, {counts.skipped} already finished "
          f"({counts.seconds:.0f}s)")
    if counts.failed:
        raise TSTransferError(f"{counts.failed} run(s) failed; their errors are in `tstransfer results --study "
                              f"{args.study}` (runs.csv); rerun the same command with --retry-failed", exit_code=1)


def cmd_pretrain(args) -> None:
    """grid.run_grid with pre-trainings only"""
    _run_study(args, transfers=False)


def cmd_grid(args) -> None:
    """study.plan_runs + grid.run_grid"""
    _run_study(args, transfers=True)


def cmd_transfer(args) -> None:
    """transfer.transfer_to_files (SOURCE a model file) / grid.transfer_in_study (SOURCE a dataset of --study)"""
    from .grid import transfer_in_study
    from .transfer import transfer_to_files

    config, seeds = _config(args), _seeds(args)
    _print_deviations(config)
    if Path(args.source).is_file():  # a model file: fine-tune it on TARGET, write to --out
        if len(seeds) > 1:
            raise TSTransferError("--seeds: several seeds need --study (a model file is fine-tuned once, to --out)")
        dataset = _dataset(args.target, args.archive)
        model_path, _, result = transfer_to_files(args.source, dataset, args.out, config, progress=not args.quiet,
                                                  force=args.force)
        _print_run(f"{args.source} -> {dataset.name}", result, model_path)
        return
    if not args.study:
        raise TSTransferError(f"SOURCE {args.source!r} is not a model file; give --study with its pre-trained model")
    for row in transfer_in_study(args.archive, args.study, args.source, args.target, config, seeds,
                                 progress=not args.quiet):
        seed = f" (seed {row['seed']})" if len(seeds) > 1 else ""
        print(f"{args.source}->{args.target}{seed}: best epoch {row['best_epoch']}, test accuracy "
              f"{row['test_acc']:.4f}{' (already finished)' if row['already_finished'] else ''}\n"
              f"model: {Path(args.study) / row['model_path']}")


def _check_tie_band(args) -> None:
    if not 0 <= args.tie_band < 100:
        raise TSTransferError(f"--tie-band {args.tie_band}: accuracy points from 0 (exact equality) below 100")


def cmd_results(args) -> None:
    """study.write_results"""
    import pandas as pd

    from .study import write_results

    _check_tie_band(args)
    if args.out:
        check_writable_dir(args.out, "--out")
    paths, s = write_results(args.study, args.out, seeds=args.seeds, tie_band=args.tie_band)
    if args.format != "table":
        _print_records([{**s, **{f"{name}_file": str(path) for name, path in paths.items()}}], args.format)
        return
    accuracy = pd.read_csv(paths["accuracy"], index_col=0)
    if 0 < accuracy.shape[1] <= 12:  # small enough to read here; the CSV has it whatever its size
        print("accuracy after transfer (rows: source, columns: target):")
        print(accuracy.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))
    for name, path in paths.items():
        print(f"{name:<21}{path}")
    if s["pairs"]:
        draws = f"within {args.tie_band:g} points" if args.tie_band else "unchanged"
        print(f"{s['pairs']} source->target pairs: {s['improved']} improved, {s['unchanged']} {draws}, "
              f"{s['degraded']} degraded; mean change {s['mean_change_points']:+.2f} accuracy points, "
              f"median variation {s['median_variation_pct']:+.2f}%")
    else:
        print("no finished transfer pairs yet")
    if s["baselines_at_or_below_majority"]:
        print(f"WARNING: no-transfer baselines at or below the majority class (collapsed models; the variation "
              f"against them means little): {', '.join(s['baselines_at_or_below_majority'])} (see "
              f"{paths['majority']})")
    if s["pairs_at_or_below_majority"]:
        print(f"WARNING: {s['pairs_at_or_below_majority']} fine-tuned pair(s) at or below their target's majority "
              "class")


def cmd_similarity(args) -> None:
    """similarity.compute_similarity (+ figures.prototypes)"""
    from . import figures
    from .data import load_dataset
    from .similarity import compute_similarity
    from .study import StudyPaths, check_data_unchanged, extend_scope

    archive = _study_archive(args)
    names = _study_datasets(args, archive)
    check_writable_dir(args.study, "--study")
    check_data_unchanged(args.study, archive, names)
    result = compute_similarity(archive, StudyPaths(args.study).similarity, names, jobs=args.jobs,
                                progress=not args.quiet)
    extend_scope(args.study, archive, names)
    if args.plots:
        for name, protos in result.prototypes.items():
            figures.prototypes(load_dataset(name, archive), protos, result.paths["prototypes"] / f"{name}.png")
    print(f"distances   {result.paths['distances']}\nneighbours  {result.paths['neighbours']}\n"
          f"prototypes  {result.paths['prototypes']}")
    for target, row in result.neighbours.head(args.show).iterrows():
        shown = [str(n) for n in row.dropna().iloc[:3]]
        print(f"{target:<28} K_1..K_{len(shown)}: {', '.join(shown)}")


def cmd_recommend(args) -> None:
    """selection.recommend (a study's sources) / selection.rank_by_similarity (a zoo's)"""
    from .data import is_path
    from .selection import rank_by_similarity, recommend
    from .zoo import Zoo

    if args.top < 0:
        raise TSTransferError(f"--top {args.top}: must be 0 (all) or more")
    if args.study and args.zoo:
        raise TSTransferError("give --study (its pre-trained models) or --zoo (a zoo's), not both")
    target = _dataset(args.target, _study_archive(args) if args.study else (args.archive or _default_archive()))
    # an archive dataset is not its own source; a file of the user's is never one of the archive's
    exclude = () if is_path(args.target) else [target.name]
    if args.study:
        from .study import check_data_unchanged

        if exclude:  # an archive dataset: the study may have run on other data of that name
            check_data_unchanged(args.study, _study_archive(args), exclude)
        table = recommend(target, args.study, top=args.top, exclude=exclude)
    else:
        table = rank_by_similarity(Zoo(args.zoo), target, exclude, progress=not args.quiet)
        table = table.head(args.top) if args.top else table
    if args.format != "table":
        _print_records(table.to_dict("records"), args.format)
        return
    print(f"sources for {args.target}, most similar first (Algorithm 1: min DTW between DBA prototypes)")
    for row in table.itertuples():
        print(f"{row.rank:>4}  {row.source:<28}{row.distance:>10.4f}")


def cmd_report(args) -> None:
    """report.inputs_from_study / report.inputs_from_files + report.write_report"""
    import shlex

    from .report import inputs_from_files, inputs_from_study, write_report

    _check_tie_band(args)
    if args.study:
        inputs = inputs_from_study(args.study, seeds=args.seeds)
    elif args.matrix and args.baseline:
        if args.seeds:
            raise TSTransferError("--seeds selects the seeds of a --study; --matrix gives one matrix")
        inputs = inputs_from_files(args.matrix, args.baseline, args.similarity)
    else:
        raise TSTransferError("give --study STUDY_DIR, or --matrix ACC.csv and --baseline NO_TRANSFER.csv")
    check_writable_dir(args.out, "--out")
    index = write_report(inputs, args.out, progress=not args.quiet, tie_band=args.tie_band,
                         command=shlex.join(["tstransfer", *args.argv]))
    print(f"report: {index.resolve()}")


def cmd_plot_loss(args) -> None:
    """report.plot_loss"""
    from .files import file_stem
    from .report import inputs_from_study, plot_loss
    from .study import StudyPaths

    out = args.out or str(Path(args.study) / "figures" / f"{file_stem(args.target)}_loss.png")
    # loss curves are one run's: the study's first seed
    path = plot_loss(inputs_from_study(args.study, seeds=[StudyPaths(args.study).primary_seed]), args.target,
                     args.source, out)
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
    print(f"{'dataset':<24}{'classes':>8}{'length':>7}{'n_train':>8}{'accuracy':>9}  {'quality':<12}{'recipe':<10}"
          "protos  file")
    for r in zoo.table().itertuples():
        acc = "" if r.accuracy is None or r.accuracy != r.accuracy else f"{r.accuracy:.4f}"
        print(f"{r.dataset[:23]:<24}{r.classes:>8}{r.length or '':>7}{r.n_train or '':>8}{acc:>9}  {r.quality:<12}"
              f"{r.recipe:<10}{'yes' if r.prototypes else 'no':<8}{r.file}")


def cmd_zoo_show(args) -> None:
    """zoo.Zoo.model"""
    from .zoo import Zoo

    zoo = Zoo(args.zoo)
    name = zoo.resolve(args.name)
    model, entry = zoo.model(name), zoo.entries[name]
    print(json.dumps({"file": str(entry.path), "classes": model.classes, "architecture": model.network.config,
                      "preprocessing": model.preprocessing, "prototypes": str(entry.prototypes),
                      **({"manifest": entry.record} if entry.record else {}), **model.metadata},
                     indent=2, default=str))


def cmd_zoo_build(args) -> None:
    """zoo.build_zoo"""
    from .grid import estimate_cost, format_cost
    from .study import plan_runs
    from .zoo import build_zoo

    config = _config(args)
    if args.workers < 1:
        raise TSTransferError(f"--workers {args.workers}: must be at least 1")
    if args.dry_run:
        from .data import resolve_names

        names = resolve_names(args.datasets, args.archive)  # canonical, once each: gunpoint GunPoint is one
        print(format_cost(estimate_cost(plan_runs(names, transfers=False, seeds=[config.seed]), args.archive,
                                        config), args.workers))
        return
    _print_deviations(config)
    built = build_zoo(args.archive, args.datasets, args.out, config, workers=args.workers, storage=args.storage,
                      name=args.name, version=args.version, progress=not args.quiet, replace=args.replace)
    print(f"zoo {args.out}: {len(built.built)} models built now, {len(built.kept)} kept from before, "
          f"{len(built.failed)} failed ({built.seconds:.0f}s); manifest {built.manifest}")
    if built.failed:
        for name, error in built.failed.items():
            print(f"  {name}: {error}")
        raise TSTransferError(f"{len(built.failed)} pre-training(s) failed; rerun the same command to retry them",
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
    """selection.fit_from_zoo (+ selection.compare_baselines with --compare)"""
    from dataclasses import replace

    from .data import load_files
    from .grid import estimate_fit, format_duration
    from .guardrails import accuracy_note, majority_rate, training_gap_note
    from .selection import compare_baselines, fit_from_zoo
    from .training import evaluate

    config = replace(_config(args), test_every=args.test_every)  # None: the test split once, at the end
    if not args.dry_run:
        check_writable_file(args.out, "--out", force=args.force)
    dataset = load_files(args.train, args.test)
    if args.compare and dataset.X_test is None:
        raise TSTransferError("--compare needs --test: the methods are compared on your test file")
    _data_notes(dataset, args.train)
    _print_deviations(config)

    def on_choice(choice, sources) -> bool:
        shown = choice.ranking.head(max(5, len(sources)))
        print(f"ranking (--select {args.select}, your training set only):\n{shown.to_string(index=False)}")
        if choice.ranking.attrs.get("note"):
            print(f"NOTE: {choice.ranking.attrs['note']}")
        what = f"ensemble of {len(sources)}: {', '.join(sources)}" if len(sources) > 1 else sources[0]
        rank = choice.similarity_rank(sources[0])
        print(f"chosen source: {what}" + (f" (similarity rank {rank})" if rank and len(sources) == 1 else ""))
        seconds = estimate_fit(dataset, config, len(sources) + (1 if args.compare else 0))
        print(f"estimated time: at most {format_duration(seconds)} ({len(sources)} fine-tuning(s)"
              f"{' + 1 from scratch' if args.compare else ''} of at most {config.epochs} epochs"
              f"{', early stopping usually ends sooner' if config.early_stopping else ''})", flush=True)
        return not args.dry_run

    fitted = fit_from_zoo(dataset, args.zoo, select=args.select, config=config, top_k=args.top_k,
                          validate_epochs=args.validate_epochs, ensemble=args.ensemble, progress=not args.quiet,
                          on_choice=on_choice)
    if args.dry_run:
        return
    path = fitted.model.save(args.out)
    saved_train = evaluate(fitted.model, dataset, "train")["accuracy"]
    print(accuracy_note(saved_train, majority_rate(dataset.y_train), "training accuracy"))
    for result in fitted.results:
        note = training_gap_note(saved_train, result.train_acc) if len(fitted.results) == 1 else None
        if note:
            print(note)
    test_acc = None
    if dataset.X_test is not None:
        test_acc = evaluate(fitted.model, dataset)["accuracy"]
        print(accuracy_note(test_acc, majority_rate(dataset.y_test)))
    if args.compare:
        rows = [{"method": f"fit: transfer from {', '.join(fitted.sources)}", "accuracy": test_acc,
                 "seconds": fitted.seconds}, *compare_baselines(dataset, config, progress=not args.quiet)]
        print(f"{'method':<58}{'accuracy':>9}{'seconds':>9}")
        for row in rows:
            print(f"{row['method'][:57]:<58}{row['accuracy']:>9.4f}{row['seconds']:>9.1f}")
    print(f"model: {path}")


def cmd_evaluate_selection(args) -> None:
    """selection.evaluate_selection (+ report.write_report when the study's report exists)"""
    from .selection import evaluate_selection
    from .study import StudyPaths

    summary, _ = evaluate_selection(args.study, args.archive, top_k=args.top_k,
                                    validate_epochs=args.validate_epochs, progress=not args.quiet)
    paths = StudyPaths(args.study)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"written: {paths.strategies}")
    if (paths.report / "index.html").is_file():  # the report of this study exists: add the table to it
        from .report import inputs_from_study, write_report

        write_report(inputs_from_study(args.study), paths.report, progress=False)
        print(f"report updated: {paths.report / 'index.html'}")


def cmd_import_keras(args) -> None:
    """keras_import.import_path"""
    from .keras_import import import_path

    done = import_path(args.model, args.out, weights=args.weights, dataset=args.dataset, classes=args.classes,
                       archive=args.archive, progress=not args.quiet)
    if done.tree:
        rows = done.rows
        accuracies = [r["test_acc"] for r in rows if r["test_acc"] is not None]
        failed = [r for r in rows if r["status"] == "failed"]
        for r in rows:
            if r["status"] not in ("kept", "imported", "failed"):
                print(f"{r['dataset']}: {r['status']}")
        imported = [r for r in rows if r["status"] != "failed"]
        print(f"{len(imported)} models in {args.out} ({sum(r['status'] != 'kept' for r in imported)} imported now)"
              + (f"; mean test accuracy {sum(accuracies) / len(accuracies):.4f} over {len(accuracies)}"
                 if accuracies else ""))
        for r in failed:
            print(f"FAILED {r['model']}: {r['error']}", file=sys.stderr)
        if failed:
            raise TSTransferError(f"{len(failed)} of {len(rows)} models could not be imported (listed above); the "
                                  "others were", exit_code=1)
        return
    model, config = done.model, done.model.network.config
    print(f"imported {model.metadata['imported_from']}: FCN {config['in_channels']} channel(s), filters "
          f"{config['filters']}, kernels {config['kernels']}, {config['num_classes']} classes {model.classes}")
    if not (args.classes or args.dataset):
        print("NOTE: Keras files carry no labels; the classes are the output indices 0..C-1 "
              "(give --dataset NAME or --classes a,b,c for the real labels)")
    if "test_acc" in model.metadata:
        print(f"{model.metadata['dataset']} test accuracy: {model.metadata['test_acc']:.4f}")
    print(f"model: {done.path}")


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


def _parents(archive: str) -> dict[str, argparse.ArgumentParser]:
    """The option blocks several commands share (argparse parent parsers), each declared once.
    `archive`: the --archive default of commands that read one (a study's commands default to its own)."""

    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    blocks = {name: parent() for name in ("archive", "study_archive", "quiet", "format", "recipe", "seeds",
                                          "study_datasets", "grid", "tie_band")}
    blocks["archive"].add_argument("--archive", default=archive, help="archive folder (UCR 2018/2015 or .ts "
                                   "layout); default: $TSTRANSFER_ARCHIVE or the mini archive")
    blocks["study_archive"].add_argument("--archive", default=None, help="archive folder; default: the one the "
                                         "study recorded at its first run, else $TSTRANSFER_ARCHIVE or the mini "
                                         "archive")
    blocks["quiet"].add_argument("--quiet", action="store_true", help="no progress bar")
    blocks["format"].add_argument("--format", choices=["table", "csv", "json"], default="table",
                                  help="table for people, csv or json for scripts")
    r = blocks["recipe"]
    r.add_argument("--recipe", choices=list(RECIPES), help="the named training recipe: paper (the paper's, exactly) "
                   "or practical (small data: batch >= 4, at most 1000 epochs with early stopping, BatchNorm "
                   "statistics recomputed); default: practical for fit, paper for the study commands")
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's; paper: 2000, "
                   "practical: at most 1000)")
    r.add_argument("--seed", type=int, default=None, help="random seed: fixes weights init and batch order "
                   f"(default: {_RECIPE.seed})")
    r.add_argument("--device", default=_RECIPE.device, help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    r.add_argument("--amp", action="store_true", help="bf16 mixed precision on CUDA (not the paper's recipe)")
    r.add_argument("--threads", type=int, default=_RECIPE.threads, help="CPU threads (default: torch's choice; "
                   "with --workers, split between them)")
    r.add_argument("--test-every", type=int, default=None, help="log test loss/accuracy every N epochs (default: "
                   "1, the paper's logging; fit: only the final model, once)")
    r.add_argument("--early-stopping", type=int, default=None, metavar="P",
                   help="stop after P epochs without a min-delta improvement once the lr is at its floor (default: "
                   "the recipe's: paper none, practical 50)")
    blocks["seeds"].add_argument("--seeds", type=int, nargs="+", metavar="S", help="several seeds: every run once "
                                 "per seed, keyed by seed in the study (instead of --seed; results give mean and "
                                 "std over them)")
    d = blocks["study_datasets"]
    d.add_argument("--study", required=True, help="study folder (results store, models, histories)")
    d.add_argument("--datasets", nargs="+", help="datasets of the study (default: the study's own; a new study must "
                   "name them or give --all)")
    d.add_argument("--all", action="store_true", help="every dataset of the archive")
    g = blocks["grid"]
    g.add_argument("--dry-run", action="store_true", help="print the planned runs with their estimated cost "
                   "(FLOPs, time at the speed measured now) and exit")
    g.add_argument("--workers", type=int, default=1, help="parallel runs (local: processes; CPU threads are split "
                   "between them)")
    g.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    blocks["tie_band"].add_argument("--tie-band", type=float, default=0.0, metavar="POINTS",
                                    help="a draw against no transfer: within this many accuracy points (0: equal "
                                    "accuracy, the paper's rule)")
    return blocks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tstransfer", description=__doc__,
                                     epilog="DATASET arguments: " + DATASET_RULE + ". Exit codes: 0 success, 1 "
                                     "a failure while working (failed runs, an interrupted download, a full disk, a "
                                     "zoo failing verification), 2 bad input (an argument or a file).")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = _parents(_default_archive())

    def command(name: str, func, help_text: str, *blocks: str, under=sub) -> argparse.ArgumentParser:
        p = under.add_parser(name, help=help_text, parents=[b[k] for k in blocks])
        p.set_defaults(func=func)
        if "recipe" in blocks:
            # not `recipe=`: set_defaults would change the shared parent action's default for every command
            p.set_defaults(default_recipe="practical" if name == "fit" else "paper")
            if "seeds" not in blocks:
                p.set_defaults(seeds=None)
        return p

    p = command("datasets", cmd_datasets, "list the datasets of an archive, or download one", "archive", "format")
    p.add_argument("--download", metavar="NAME", help="download dataset NAME into --archive (needs internet)")
    p.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds for --download")

    p = command("train", cmd_train, "train an FCN from scratch with the paper's recipe", "archive", "quiet", "recipe")
    p.add_argument("dataset", help=DATASET_RULE)
    p.add_argument("--out", default="runs", help="output folder for the model file and history CSV")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")

    p = command("evaluate", cmd_evaluate, "accuracy and loss of a model file on a labelled file, or on a dataset's "
                "test split", "archive", "format")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("dataset", help="a labelled file (label first; all its series are scored), or a dataset: "
                   + DATASET_RULE)
    p.add_argument("--split", choices=["test", "train"], default="test", help="the split of a dataset to score")

    p = command("predict", cmd_predict, "predict the labels of the series in a file (CSV: label, probabilities)")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("file", help="UCR-format (.tsv, .csv, 2015) or .ts file")
    p.add_argument("--labels", choices=["auto", "first", "none"], default="auto",
                   help="first: the first column is a label (ignored); none: every column is a value; auto: "
                   "decided only when certain (rows one value longer than the model's training length and "
                   "starting with its classes, or exactly that length and not), else an error")
    p.add_argument("--out", help="write the predictions to this CSV file instead of printing them (a labelled "
                   "file also gets OUT.confusion.csv)")

    p = command("pretrain", cmd_pretrain, "pre-train one FCN per dataset into a study folder (finished ones are "
                "skipped)", "study_archive", "study_datasets", "grid", "quiet", "recipe", "seeds")
    p.set_defaults(engine="local", sources=None, targets=None, address=None, gpus_per_run=0.0, fuse=None)

    p = command("grid", cmd_grid, "the full study: pre-train every dataset, fine-tune every source on every target",
                "study_archive", "study_datasets", "grid", "quiet", "recipe", "seeds")
    p.add_argument("--sources", nargs="+", help="source datasets (instead of --datasets)")
    p.add_argument("--targets", nargs="+", help="target datasets (instead of --datasets)")
    p.add_argument("--engine", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    p.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs per run with Ray (fractions share)")
    p.add_argument("--fuse", type=int, default=None, help="fine-tunings of one target trained together "
                   "(default: 8 on CUDA, 1 = no fusing on CPU); fixed for a study")

    p = command("transfer", cmd_transfer, "fine-tune a pre-trained source model on a target dataset", "archive",
                "quiet", "recipe", "seeds")
    p.add_argument("source", help="source dataset (its model in --study) or a model file")
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--study", help="study folder holding pretrained/<SOURCE>.safetensors; the run is recorded")
    p.add_argument("--out", default="runs", help="output folder when SOURCE is a model file (writes "
                   "<Source>-to-<Target>.safetensors)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")

    p = command("similarity", cmd_similarity, "Algorithm 1: DBA prototypes, DTW dataset distances, neighbour "
                "table", "study_archive", "study_datasets", "quiet")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes / numba threads")
    p.add_argument("--plots", action="store_true", help="also plot each dataset's prototypes (PNG)")
    p.add_argument("--show", type=int, default=10, help="print the top neighbours of this many targets")

    p = command("recommend", cmd_recommend, "rank source datasets for a target (an archive dataset or your own "
                "file)", "study_archive", "format")
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--study", help="study folder where `tstransfer similarity` ran (its pre-trained models)")
    p.add_argument("--zoo", help="zoo folder (default, without --study: the zoo shipped with tstransfer)")
    p.add_argument("--top", type=int, default=5, help="how many sources to list (0: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = command("report", cmd_report, "HTML report with the paper's figures and the source-selection study",
                "quiet", "tie_band")
    p.add_argument("--study", help="study folder (results store, histories, similarity)")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S", help="report these seeds of the study (default: "
                   "all it has; several: mean and std over them)")
    p.add_argument("--matrix", help="accuracy matrix CSV made elsewhere (rows = source, columns = target)")
    p.add_argument("--baseline", help="no-transfer accuracies CSV (dataset,accuracy)")
    p.add_argument("--similarity", help="neighbours CSV (index = target, columns K_1 ...)")
    p.add_argument("--out", required=True, help="output folder (index.html, figures/, targets/, selection.csv)")

    p = command("plot-loss", cmd_plot_loss, "loss curves of a target with and without transfer (the paper's "
                "Fig. 1)")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--target", required=True, help="target dataset")
    p.add_argument("--source", nargs="+", help="sources (default: the most and the least similar)")
    p.add_argument("--out", help="PNG file (default: STUDY/figures/<TARGET>_loss.png)")

    zoo_help = "zoo folder (default: the zoo shipped with tstransfer); a study folder or *.safetensors + prototypes/"
    zoo = sub.add_parser("zoo", help="pre-trained model zoos: list, show, build, verify, pull")
    zoo_sub = zoo.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command("list", cmd_zoo_list, "the models of a zoo", "format", under=zoo_sub)
    p.add_argument("--zoo", default=None, help=zoo_help)
    p = command("show", cmd_zoo_show, "one model of a zoo: header, training record, manifest entry", under=zoo_sub)
    p.add_argument("name", help="dataset name")
    p.add_argument("--zoo", default=None, help=zoo_help)
    p = command("build", cmd_zoo_build, "pre-train datasets into a publishable zoo (manifest, checksums, "
                "prototypes); resumable", "archive", "quiet", "recipe", under=zoo_sub)
    p.add_argument("--datasets", nargs="+", required=True, help="datasets to pre-train, in this order")
    p.add_argument("--out", required=True, help="zoo folder (zoo.json, models/, prototypes/; build/ holds the "
                   "resumable state)")
    p.add_argument("--storage", choices=["float16", "float32"], default="float16",
                   help="weights stored as (float16: half the size; accuracies are measured with them)")
    p.add_argument("--name", help="the zoo's name (default: the folder name)")
    p.add_argument("--version", default="1", help="the zoo's version")
    p.add_argument("--workers", type=int, default=1, help="parallel pre-trainings")
    p.add_argument("--replace", action="store_true", help="rebuild these datasets with this --recipe although the "
                   "zoo's recipe is another (recorded per model in the manifest)")
    p.add_argument("--dry-run", action="store_true", help="print the runs with their estimated cost and exit")
    p = command("verify", cmd_zoo_verify, "check every file of a zoo against its sha256 and manifest", under=zoo_sub)
    p.add_argument("zoo", help="zoo folder with a zoo.json")
    p = command("pull", cmd_zoo_pull, "download a published zoo (URL or folder), verifying every sha256", "quiet",
                under=zoo_sub)
    p.add_argument("source", help="http(s) URL of the zoo folder (holding zoo.json) or a local folder")
    p.add_argument("--to", required=True, help="new folder for the zoo")
    p.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds")

    p = command("fit", cmd_fit, "choose a source in a zoo for your data and fine-tune it", "quiet", "recipe")
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
    p.add_argument("--ensemble", type=int, default=FIT_ENSEMBLE, metavar="K", help="fine-tune the K best "
                   "candidates and average their probabilities (one model file)")
    p.add_argument("--compare", "--compare-scratch", dest="compare", action="store_true", help="also train the "
                   "FCN from scratch and aeon's MiniRocket on the same split and print one table (needs --test)")
    p.add_argument("--dry-run", action="store_true", help="print the ranking, the chosen sources and the time "
                   "estimate, then stop")

    p = command("evaluate-selection", cmd_evaluate_selection, "every source-selection strategy, leave-one-target-"
                "out, on a finished grid", "archive", "quiet")
    p.add_argument("--study", required=True, help="study folder with a finished grid and `similarity`")
    p.add_argument("--top-k", type=int, default=3, help="candidates for the validate strategy")
    p.add_argument("--validate-epochs", type=int, help="epochs of each brief fine-tune (default: study epochs/10)")

    p = command("import-keras", cmd_import_keras, "convert a Keras FCN (the paper's released models) into a "
                "tstransfer model file", "archive", "quiet")
    p.add_argument("model", help="best_model.hdf5 (architecture + weights), architecture.txt (+ its weights), a "
                   ".keras file, a folder holding one, or a tree of such folders (the authors' archives)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors); a folder for a tree")
    p.add_argument("--weights", help="weights for architecture.txt (default: best_model_weights.hdf5 beside it)")
    p.add_argument("--dataset", help="the dataset the model was trained on (in --archive): its sorted labels are "
                   "the classes and its test accuracy is recorded")
    p.add_argument("--classes", help="comma-separated labels of the outputs, in order (default: 0..C-1)")

    p = command("results", cmd_results, "accuracy and accuracy-variation matrices of a study (CSV) and a summary",
                "format", "tie_band")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S", help="these seeds of the study (default: all it has; "
                   "several: mean and std over them)")
    p.add_argument("--out", help="output folder (default: STUDY/results)")
    _set_formatter(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else map(str, argv))  # what the user typed (report footer)
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
