"""What each command of the command line does: call the library, print for people (or csv/json for scripts).

`cli.py` parses; it imports this module once a command runs, so `tstransfer --help` loads no torch.
"""

from __future__ import annotations

import csv
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from . import usercache
from .cpus import check_threads
from .data import (
    archive_datasets,
    dataset_from_spec,
    default_archive,
    describe_archive,
    download_dataset,
    is_path,
    load_dataset,
    load_files,
    resolve_names,
    ucr_summary,
)
from .errors import TSTransferError
from .files import atomic_paths, check_writable_dir, check_writable_file
from .grid import (
    check_local_threads,
    estimate_cost,
    estimate_fit,
    format_cost,
    format_duration,
    run_grid,
    transfer_in_study,
)
from .guardrails import (
    accuracy_note,
    at_or_below_majority,
    label_column_note,
    length_note,
    majority_rate,
    training_gap_note,
)
from .keras_import import import_path
from .models import architecture_of, load_model
from .recipe import FIT_ARCH, TrainConfig, parse_duration, run_seeds
from .selection import (
    compare_baselines,
    evaluate_selection,
    fit_from_zoo,
    given_source,
    rank_by_similarity,
    recommend,
    source_is_file,
    usable_backbones,
    with_backbones,
)
from .similarity import compute_similarity
from .study import (
    StudyPaths,
    check_data_unchanged,
    extend_scope,
    plan_runs,
    study_archive,
    study_config,
    study_datasets,
    study_settings,
    write_results,
)
from .training import (
    check_amp,
    check_ensemble,
    class_indices,
    confusion_csv,
    evaluate,
    evaluate_file,
    resolve_device,
    score,
    train_to_files,
)
from .transfer import transfer_to_files
from .zoo import (
    Zoo,
    ZooPaths,
    add_backbone,
    build_zoo,
    fit_arch,
    open_zoo,
    pull_zoo,
    read_manifest,
    recorded_arch,
    verify_zoo,
)


def run(args) -> None:
    """Run the command the parser chose (`args.handler`, a function of this module)."""
    if getattr(args, "archive", "") is None and not getattr(args, "archive_from_study", False):
        args.archive = default_archive()  # computed here: the parser must not load the data module
    handler = globals()[args.handler]  # cmd_<command>, named in cli.build_parser
    handler(args)


def _config(args, arch: str | None = None, trainings: int = 1):
    """The named recipe (--recipe; default: the command's, else the architecture's published one) for --arch (else
    `arch`, what the study or the source already is, else the default architecture) with the command line's
    settings (checked by TrainConfig), the device checked before any work. --max-time is shared by the command's
    `trainings`."""
    seed = run_seeds(args.seed, args.seeds)[0]
    check_threads(args.threads)
    budget = getattr(args, "max_time", None)
    config = TrainConfig.named(args.recipe or args.default_recipe, arch=args.arch or arch, epochs=args.epochs,
                               seed=seed, max_time=parse_duration(budget) / trainings if budget else None,
                               device=args.device, amp=args.amp or None, threads=args.threads,
                               test_every=args.test_every, early_stopping=args.early_stopping)
    resolve_device(args.device)  # an unknown or absent device is refused before any work
    check_amp(config)
    return config


def _print_records(records: list[dict], fmt: str) -> None:
    """--format csv|json: the rows a command shows, for scripts (the table is for people)."""
    if fmt == "json":
        print(json.dumps(records, indent=1, default=str))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def _print_deviations(config) -> None:
    deviations = config.deviations()
    if deviations:
        whose = "the paper's recipe" if config.published().recipe_name == "paper" else \
            f"the published {config.arch} recipe ({config.published().recipe_name})"
        print(f"NOTE: this run ({config.arch}, {config.recipe_name} recipe) deviates from {whose}: "
              + "; ".join(deviations))


def _study_arch(study) -> str | None:
    """The architecture a study was run with (None: no run yet)."""
    config = study_config(study_settings(study)) if study and Path(study).is_dir() else None
    return config.arch if config else None


# ----------------------------------------------------------------------------- commands


def cmd_datasets(args) -> None:
    """data.describe_archive / data.download_dataset"""
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


def _print_run(what: str, result, model_path, config=None) -> None:
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.4f}"
    print(f"{what}: best epoch {result.best_epoch}/{result.epochs}, train loss {result.train_loss:.4f}, "
          f"test accuracy {test} ({result.seconds:.0f}s on {result.device})")
    if model_path is not None:
        print(f"model: {model_path}")
    _print_budget_stop(result, config)


def _print_budget_stop(result, config) -> None:
    """Say when --max-time, not the recipe, ended a training."""
    if config is not None and config.max_time and result.epochs < config.epochs \
            and result.seconds >= config.max_time:
        print(f"NOTE: stopped by --max-time after {result.epochs} of {config.epochs} epochs; the best weights so far "
              "were kept")


def _print_guardrails(model_path, dataset, result) -> None:
    """The saved model against the majority class, and against the training accuracy its history logged."""
    saved = evaluate(load_model(model_path), dataset, "train")["accuracy"]
    for note in (accuracy_note(result.test_acc, majority_rate(dataset.y_test)) if result.test_acc is not None
                 else None, training_gap_note(saved, result.train_acc)):
        if note and ("WARNING" in note or note.startswith("test")):
            print(note)


def _data_notes(dataset, where: str) -> None:
    note = label_column_note(len(dataset.y_train), dataset.n_classes, where)
    if note:
        print(note)


def cmd_train(args) -> None:
    """training.train_to_files"""
    config = _config(args, trainings=check_ensemble(args.ensemble))
    dataset = dataset_from_spec(args.dataset, args.archive, args.label_column, args.header)
    _data_notes(dataset, args.dataset)
    _print_deviations(config)
    model_path, history_path, results = train_to_files(dataset, args.out, config, progress=not args.quiet,
                                                       force=args.force, ensemble=args.ensemble)
    if len(results) == 1:
        _print_run(dataset.name, results[0], model_path, config)
        _print_guardrails(model_path, dataset, results[0])
    else:
        for i, result in enumerate(results):
            _print_run(f"{dataset.name} member {i + 1} (seed {config.seed + i})", result, None, config)
        if dataset.X_test is not None:
            test_acc = evaluate(load_model(model_path), dataset)["accuracy"]
            print(accuracy_note(test_acc, majority_rate(dataset.y_test), f"ensemble of {len(results)}: test "
                                "accuracy"))
        print(f"model: {model_path}")
    print(f"history: {history_path}")


def cmd_evaluate(args) -> None:
    """training.evaluate (a dataset's split) / training.evaluate_file (a labelled file)"""
    model = load_model(args.model)
    if is_path(args.dataset) and Path(args.dataset).is_file():  # a labelled file: all of it, under its own name
        scores = evaluate_file(model, args.dataset, args.label_column, args.header)
    else:
        dataset = dataset_from_spec(args.dataset, args.archive)
        scores = evaluate(model, dataset, split=args.split)
        scores["length"] = int((dataset.X_test if args.split == "test" else dataset.X_train).shape[-1])
    note = length_note(model.metadata.get("length"), scores.pop("length"), args.dataset)
    if note:
        print(f"tstransfer: {note}", file=sys.stderr)
    if args.format != "table":
        _print_records([scores], args.format)
        return
    print(f"{scores['dataset']} ({scores['split']}, n={scores['n']}): accuracy {scores['accuracy']:.4f}, loss "
          f"{scores['loss']:.4f}, majority class {scores['majority']:.4f}")
    if at_or_below_majority(scores["accuracy"], scores["majority"]):
        print("WARNING: not above always answering the majority class; the model has collapsed")


def cmd_predict(args) -> None:
    """TrainedModel.read_file + predict_proba (+ training.score and confusion_csv on a labelled file)"""
    model = load_model(args.model)
    if args.out:
        check_writable_file(args.out, "--out")
    split = model.read_file(args.file, args.labels, args.header)
    note = length_note(model.metadata.get("length"), max(s.shape[-1] for s in split.series), args.file)
    if note:
        print(f"tstransfer: {note}", file=sys.stderr)
    proba = model.predict_proba(split.series)
    predicted = model.labels_of(proba)
    truth = split.labels.tolist() if split.labels is not None else None
    scored = False
    if truth is not None:  # a labelled file: how good were the predictions?
        try:
            s = score(class_indices(model, truth, args.file), proba)
            print(f"accuracy {s['accuracy']:.4f} on {s['n']} labelled series (majority class {s['majority']:.4f})",
                  file=sys.stderr)
            scored = True
        except TSTransferError as err:  # another labelling: the predictions stand, an accuracy would not
            print(f"tstransfer: note: no accuracy: {err}", file=sys.stderr)
    text = model.predictions_csv(predicted, proba, truth)
    if not args.out:
        sys.stdout.write(text)
        return
    out = Path(args.out)
    confusion = confusion_path(out)
    paths = [out, confusion] if scored else [out]
    with atomic_paths(*paths) as tmps:
        tmps[0].write_text(text)
        if scored:
            tmps[1].write_text(confusion_csv(model, truth, predicted.tolist()))
    print(f"{len(predicted)} predictions written to {out}" + (f"; confusion matrix: {confusion}" if scored else ""))


def confusion_path(out: Path) -> Path:
    """Where `predict --out OUT` writes the confusion matrix of a labelled file: OUT without its suffix, then
    .confusion.csv (preds.csv -> preds.confusion.csv)."""
    return out.with_name(out.stem + ".confusion.csv")


def _run_study(args, transfers: bool) -> None:
    """study.plan_runs + grid.run_grid (or grid.estimate_cost with --dry-run)"""
    config, seeds = _config(args, _study_arch(args.study)), run_seeds(args.seed, args.seeds)
    if args.engine == "local":
        check_local_threads(args.threads, args.workers)
    check_writable_dir(args.study, "--study")
    archive = study_archive(args.study, args.archive)
    sources = resolve_names(args.sources, archive) if args.sources else None
    targets = resolve_names(args.targets, archive) if args.targets else None
    named_pairs = (sources or targets) and not args.datasets
    datasets = None if named_pairs else study_datasets(args.study, archive, args.datasets, args.all)
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
    source_file = Path(args.source).is_file()
    arch = load_model(args.source).network.config["name"] if source_file else _study_arch(args.study)
    config, seeds = _config(args, arch if arch != "ensemble" else None), run_seeds(args.seed, args.seeds)
    _print_deviations(config)
    if source_file:  # a model file: fine-tune it on TARGET, write to --out
        if len(seeds) > 1:
            raise TSTransferError("--seeds: several seeds need --study (a model file is fine-tuned once, to --out)")
        dataset = dataset_from_spec(args.target, args.archive, args.label_column, args.header)
        model_path, _, result = transfer_to_files(args.source, dataset, args.out, config, progress=not args.quiet,
                                                  force=args.force)
        _print_run(f"{args.source} -> {dataset.name}", result, model_path, config)
        return
    if not args.study:
        raise TSTransferError(f"SOURCE {args.source!r} is not a model file; give --study with its pre-trained model")
    for row in transfer_in_study(args.archive, args.study, args.source, args.target, config, seeds,
                                 progress=not args.quiet):
        seed = f" (seed {row['seed']})" if len(seeds) > 1 else ""
        print(f"{args.source}->{args.target}{seed}: best epoch {row['best_epoch']}, test accuracy "
              f"{row['test_acc']:.4f}{' (already finished)' if row['already_finished'] else ''}\n"
              f"model: {Path(args.study) / row['model_path']}")


def cmd_results(args) -> None:
    """study.write_results"""
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
    archive = study_archive(args.study, args.archive)
    names = study_datasets(args.study, archive, args.datasets, args.all)
    check_writable_dir(args.study, "--study")
    check_data_unchanged(args.study, archive, names)
    result = compute_similarity(archive, StudyPaths(args.study).similarity, names, jobs=args.jobs,
                                progress=not args.quiet)
    extend_scope(args.study, archive, names)
    if args.plots:
        from . import figures  # matplotlib: the drawing commands only

        for name, protos in result.prototypes.items():
            figures.prototypes(load_dataset(name, archive), protos, result.paths["prototypes"] / f"{name}.png")
    print(f"distances   {result.paths['distances']}\nneighbours  {result.paths['neighbours']}\n"
          f"prototypes  {result.paths['prototypes']}")
    for target, row in result.neighbours.head(args.show).iterrows():
        shown = [str(n) for n in row.dropna().iloc[:3]]
        print(f"{target:<28} K_1..K_{len(shown)}: {', '.join(shown)}")


def cmd_recommend(args) -> None:
    """selection.recommend (a study's sources) / selection.rank_by_similarity (a zoo's)"""
    if args.study and args.zoo:
        raise TSTransferError("give --study (its pre-trained models) or --zoo (a zoo's), not both")
    archive = study_archive(args.study, args.archive) if args.study else (args.archive or default_archive())
    target = dataset_from_spec(args.target, archive, args.label_column, args.header)
    # an archive dataset is not its own source; a file of the user's is never one of the archive's
    exclude = () if is_path(args.target) else [target.name]
    zoo_backbones = {}
    if args.study:
        if exclude:  # an archive dataset: the study may have run on other data of that name
            check_data_unchanged(args.study, study_archive(args.study, args.archive), exclude)
        table = recommend(target, args.study, top=args.top, exclude=exclude)
    else:
        zoo = Zoo(args.zoo, args.arch or FIT_ARCH)
        notes = []
        for arch in zoo.architectures():  # the backbones ranked beside the single sources, as fit does
            usable, said = usable_backbones(zoo, target, arch)
            zoo_backbones.update(usable)
            notes += said
        table = rank_by_similarity(zoo, target, exclude, progress=not args.quiet)
        _print_cache_note(table, sys.stderr)
        for note in notes:
            print(f"NOTE: {note}", file=sys.stderr)
        table = with_backbones(table, zoo, zoo_backbones)
        table = table.head(args.top) if args.top else table
    if args.format != "table":
        _print_records(table.to_dict("records"), args.format)
        return
    print(f"sources for {args.target}, most similar first (Algorithm 1: min DTW between DBA prototypes)")
    for row in table.itertuples():
        seen = " (a backbone: distance to the nearest dataset it saw)" if row.source in zoo_backbones else ""
        print(f"{row.rank:>4}  {row.source:<28}{row.distance:>10.4f}{seen}")


def _print_cache_note(table, stream) -> None:
    """Say when the selection came from the user's cache (usercache.py): the same file, a second time."""
    cached = table.attrs.get("cached")
    if cached:
        what = "the ranking" if cached == "ranking" else "your training set's class prototypes"
        print(f"selection: {what} reused from the cache (same data; {usercache.cache_dir()})", file=stream)


def cmd_report(args) -> None:
    """report.inputs_from_study / report.inputs_from_files + report.write_report"""
    from .report import inputs_from_files, inputs_from_study, write_report  # matplotlib: the drawing commands only
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
    """report.plot_loss (the study's first seed: loss curves are one run's)"""
    from .report import inputs_from_study, plot_loss  # matplotlib: the drawing commands only
    paths = StudyPaths.of(args.study)
    out = args.out or paths.loss_figure(args.target)
    path = plot_loss(inputs_from_study(args.study, seeds=[paths.primary_seed]), args.target, args.source, out)
    print(f"loss curves: {path}")


def cmd_zoo_list(args) -> None:
    """zoo.Zoo.table"""
    zoo = Zoo(args.zoo, args.arch or FIT_ARCH)
    if args.format != "table":
        _print_records([{k: (None if v != v else v) if isinstance(v, float) else v for k, v in row.items()}
                        for row in zoo.table().to_dict("records")], args.format)
        return
    if zoo.manifest is not None:
        m = zoo.manifest
        recipe = m.get("recipe") or {}
        deviations = recipe.get("deviations") or []
        print(f"zoo {m.get('name')} {m.get('version')}: {len(zoo.entries)} models "
              f"({', '.join(f'{n} {a}' for a, n in zoo.architectures().items())}), {recipe.get('name', 'paper')} "
              f"recipe{' (deviations: ' + '; '.join(map(str, deviations)) + ')' if deviations else ', as published'}"
              f", {m.get('storage')} weights ({zoo.root})")
    print(f"{'dataset':<24}{'arch':<8}{'classes':>8}{'length':>7}{'n_train':>8}{'accuracy':>9}  {'quality':<14}"
          f"{'recipe':<10}protos  file")
    for r in zoo.table().itertuples():
        acc = "" if r.accuracy is None or r.accuracy != r.accuracy else f"{r.accuracy:.4f}"
        print(f"{r.dataset[:23]:<24}{r.arch[:7]:<8}{r.classes:>8}{r.length or '':>7}{r.n_train or '':>8}{acc:>9}  "
              f"{r.quality:<14}{r.recipe:<10}{'yes' if r.prototypes else 'no':<8}{r.file}")
    for name, entry in zoo.backbones.items():
        seen = entry["datasets"]
        print(f"{name[:23]:<24}{entry['arch'][:7]:<8}  backbone pre-trained on {len(seen)} datasets "
              f"({', '.join(seen[:4])}{', ...' if len(seen) > 4 else ''}; `zoo show {name}` lists them): "
              f"fit --source backbone; {entry['file']}")


def cmd_zoo_show(args) -> None:
    """zoo.Zoo.model"""
    from .backbone import readable_record

    zoo = Zoo(args.zoo, args.arch or FIT_ARCH)
    if args.name in zoo.backbones:
        entry = zoo.backbones[args.name]
        model = load_model(zoo.root / entry["file"])
        print(json.dumps({"file": str(zoo.root / entry["file"]), "architecture": model.network.config,
                          "manifest": entry, **readable_record(model.metadata)}, indent=2, default=str))
        return
    name = zoo.resolve(args.name)
    model, entry = zoo.model(name), zoo.entries[name]
    print(json.dumps({"file": str(entry.path), "classes": model.classes, "architecture": model.network.config,
                      "preprocessing": model.preprocessing, "prototypes": str(entry.prototypes),
                      **({"manifest": entry.record} if entry.record else {}), **model.metadata},
                     indent=2, default=str))


def cmd_zoo_build(args) -> None:
    """zoo.build_zoo"""
    existing = ZooPaths(args.out).manifest
    config = _config(args, recorded_arch(read_manifest(args.out).get("recipe")) if existing.is_file() else None)
    check_local_threads(args.threads, args.workers)
    if args.dry_run:

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
    checked, problems = verify_zoo(args.zoo)
    for line in problems:
        print(f"FAILED {line}")
    if problems:
        raise TSTransferError(f"{args.zoo}: {len(problems)} of {checked} files failed verification", exit_code=1)
    print(f"{args.zoo}: all {checked} files match their sha256 and every model header its manifest entry")


def cmd_zoo_pull(args) -> None:
    """zoo.pull_zoo"""
    path = pull_zoo(args.source, args.to, timeout=args.timeout, progress=not args.quiet)
    print(f"zoo pulled to {path}: {len(Zoo(path).entries)} models, every sha256 verified")


def cmd_fit(args) -> None:
    """selection.fit_from_zoo (+ selection.compare_baselines with --compare)"""
    # without --arch: a source file's own architecture (its header names it), else the zoo's (zoo.fit_arch)
    source_file = load_model(args.source) if args.source and source_is_file(args.source) else None
    zoo = Zoo(args.zoo) if args.zoo else None  # read once (None: the shipped zoo of the architecture)
    arch = args.arch or (architecture_of(source_file.network) if source_file is not None else fit_arch(zoo))
    if not args.source:
        zoo = open_zoo(zoo, arch)  # read once: the choice reuses it
    # --compare's extra trainings: from scratch, and the zoo's backbones of the architecture (when not the source)
    backbones = 0 if args.source or not args.compare or not args.backbones else sum(
        e["arch"] == arch for e in zoo.backbones.values())
    config = replace(_config(args, arch=arch, trainings=args.ensemble + (1 + backbones if args.compare else 0)),
                     test_every=args.test_every)  # None: the test split once, at the end
    if not args.dry_run:
        check_writable_file(args.out, "--out", force=args.force)
    dataset = load_files(args.train, args.test, label_column=args.label_column, header=args.header)
    if args.compare and dataset.X_test is None:
        raise TSTransferError("--compare needs --test: the methods are compared on your test file")
    _data_notes(dataset, args.train)
    _print_deviations(config)

    def on_choice(choice, sources) -> bool:
        if choice.similarity is not None:
            _print_cache_note(choice.similarity, sys.stdout)
        for note in choice.notes:
            print(f"NOTE: {note}")
        if args.source:
            print(f"source: {sources[0]} (given with --source: nothing ranked)")
        else:
            shown = choice.ranking.head(max(5, len(sources)))
            print(f"ranking (--select {args.select}, your training set only):\n{shown.to_string(index=False)}")
            if choice.ranking.attrs.get("note"):
                print(f"NOTE: {choice.ranking.attrs['note']}")
            what = f"ensemble of {len(sources)}: {', '.join(sources)}" if len(sources) > 1 else sources[0]
            rank = choice.similarity_rank(sources[0])
            print(f"chosen source: {what}" + (f" (similarity rank {rank})" if rank and len(sources) == 1 else ""))
        others = [n for n in choice.backbones if n not in sources] if args.compare else []
        runs = len(sources) + len(others) + (1 if args.compare else 0)
        cost = estimate_fit(dataset, config, runs)
        typical = f"typically {format_duration(cost.typical)}, " if cost.typical < cost.bound else ""
        notes = [f"{cost.steps_per_epoch} steps an epoch at {cost.step * 1e3:.0f} ms, timed now"]
        if cost.typical_epochs < config.epochs:
            notes.append(f"early stopping usually ends between epochs 300 and {config.epochs}: typically taken as "
                         f"{cost.typical_epochs}")
        if config.max_time:
            notes.append(f"--max-time {format_duration(config.max_time * runs)}")
        print(f"estimated time: {typical}at most {format_duration(cost.bound)} ({len(sources)} fine-tuning(s)"
              f"{f' + {len(others)} of a backbone' if others else ''}{' + 1 from scratch' if args.compare else ''} "
              f"of at most {config.epochs} epochs; {'; '.join(notes)})",
              flush=True)
        return not args.dry_run

    given = None
    if args.source:  # checked against the whole target (a backbone must not have seen its test split either)
        name, model, warning = given_source(args.source, dataset, zoo, config.arch, loaded=source_file)
        if warning:
            print(warning)
        given = (name, model)
    # the fine-tuning never sees the test file: it is scored once, below, on the model that is saved
    train_only = replace(dataset, X_test=None, y_test=None, len_test=None)
    fitted = fit_from_zoo(train_only, zoo, select=args.select, config=config, top_k=args.top_k,
                          validate_epochs=args.validate_epochs, ensemble=args.ensemble, progress=not args.quiet,
                          on_choice=on_choice, source=given, unseen=dataset, backbones=args.backbones)
    if args.dry_run:
        return
    saved_train = evaluate(fitted.model, dataset, "train")["accuracy"]
    print(accuracy_note(saved_train, majority_rate(dataset.y_train), "training accuracy"))
    for result in fitted.results:
        note = training_gap_note(saved_train, result.train_acc) if len(fitted.results) == 1 else None
        if note:
            print(note)
        _print_budget_stop(result, config)
    test_acc = None
    if dataset.X_test is not None:
        scores = evaluate(fitted.model, dataset)
        test_acc = scores["accuracy"]
        fitted.model.metadata.update(test_acc=test_acc, test_loss=scores["loss"])
        print(accuracy_note(test_acc, majority_rate(dataset.y_test)))
    path = fitted.model.save(args.out, exclusive=not args.force)
    if args.compare:
        rows = [{"method": f"fit: transfer from {', '.join(fitted.sources)}", "accuracy": test_acc,
                 "seconds": fitted.seconds - fitted.selection_seconds},
                {"method": f"  source selection (--select {args.select})", "accuracy": None,
                 "seconds": fitted.selection_seconds, "note": "included in no other row"},
                *compare_baselines(dataset, config, progress=not args.quiet, sources={
                    n: m for n, m in fitted.choice.backbones.items() if n not in fitted.sources})]
        print(f"{'method':<48}{'accuracy':>9}{'seconds':>9}  note")
        for row in rows:
            acc = "" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
            secs = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
            note = f"FAILED: {row['error']}" if row.get("error") else row.get("note", "")
            print(f"{row['method'][:47]:<48}{acc:>9}{secs:>9}  {note}")
    print(f"model: {path}")


def cmd_backbone_build(args) -> None:
    """backbone.estimate_backbone, then backbone.pretrain_backbone"""
    from .backbone import OBJECTIVE_WORDS, BackboneConfig, estimate_backbone, pretrain_backbone, remove_checkpoint

    config = BackboneConfig(arch=args.arch, epochs=args.epochs, batch_size=args.batch_size, sampling=args.sampling,
                            objective=args.objective, seed=args.seed, checkpoint_every=args.checkpoint_every,
                            threads=args.threads, device=args.device)
    resolve_device(args.device)
    if not args.dry_run:
        check_writable_file(args.out, "--out", force=args.force)
        if args.zoo:
            read_manifest(args.zoo)  # a zoo it cannot join is refused before hours of work
    chosen = archive_datasets(args.archive, args.datasets, args.exclude, args.domain)
    datasets = [load_dataset(name, archive) for name, archive in chosen]
    summary = ucr_summary()
    domains = {d.name: summary.at[d.name, "type"] for d in datasets if d.name in summary.index}
    seconds = estimate_backbone(datasets, config)
    steps = config.steps(len(datasets))
    print(f"backbone ({config.arch}): {len(datasets)} datasets{f' of domain {args.domain}' if args.domain else ''}, "
          f"{steps} steps of at most {config.batch_size} series ({config.sampling} sampling: about "
          f"{config.epochs} batches of each dataset), {OBJECTIVE_WORDS[config.objective]}")
    print(f"estimated time: {format_duration(seconds)} on this machine (two steps timed now)", flush=True)
    if args.dry_run:
        rows = [{"dataset": d.name, "domain": domains.get(d.name, ""), "n_train": len(d.y_train),
                 "length": int(d.X_train.shape[-1])} for d in datasets]
        print(pd.DataFrame(rows).to_string(index=False))
        return
    model, result = pretrain_backbone(datasets, config, args.out, progress=not args.quiet, domains=domains)
    if result.resumed_at:
        print(f"continued from the checkpoint at step {result.resumed_at}")
    last = result.history[-1]
    chance = f" (chance {1 / len(datasets):.4f})" if config.objective == "pretext" else ""
    print(f"{config.objective} objective over the last steps: loss {last['loss']:.4f}, accuracy "
          f"{last['accuracy']:.4f}{chance}; {result.seconds:.0f}s")
    path = model.save(args.out, exclusive=not args.force)
    remove_checkpoint(args.out)
    print(f"backbone: {path}")
    if args.zoo:
        print(f"added to the zoo {args.zoo} as {add_backbone(args.zoo, path)}")


def cmd_evaluate_selection(args) -> None:
    """selection.evaluate_selection (+ report.refresh_study_report)"""
    from .report import refresh_study_report  # matplotlib: the drawing commands only
    summary, _ = evaluate_selection(args.study, args.archive, top_k=args.top_k,
                                    validate_epochs=args.validate_epochs, progress=not args.quiet)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"written: {StudyPaths(args.study).strategies}")
    report = refresh_study_report(args.study)
    if report is not None:
        print(f"report updated: {report}")


def cmd_import_keras(args) -> None:
    """keras_import.import_path"""
    done = import_path(args.model, args.out, weights=args.weights, dataset=args.dataset, classes=args.classes,
                       archive=args.archive, progress=not args.quiet)
    if done.tree:
        for note in done.notes():
            print(note)
        print(done.summary(args.out))
        for r in done.failed:
            print(f"FAILED {r['model']}: {r['error']}", file=sys.stderr)
        if done.failed:
            raise TSTransferError(f"{len(done.failed)} of {len(done.rows)} models could not be imported (listed "
                                  "above); the others were", exit_code=1)
        return
    model, config = done.model, done.model.network.config
    print(f"imported {model.metadata['imported_from']}: {config['name']} {config['in_channels']} channel(s), filters "
          f"{config['filters']}, kernels {config['kernels']}, {config['num_classes']} classes {model.classes}")
    if not (args.classes or args.dataset):
        print("NOTE: Keras files carry no labels; the classes are the output indices 0..C-1 "
              "(give --dataset NAME or --classes a,b,c for the real labels)")
    if "test_acc" in model.metadata:
        print(f"{model.metadata['dataset']} test accuracy: {model.metadata['test_acc']:.4f}")
    print(f"model: {done.path}")


