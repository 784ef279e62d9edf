"""The `tstransfer` command line: parsing only. What each command does is in commands.py (the function named
by `handler`), over the library it calls."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from . import __version__
from .architectures import ARCHITECTURES, DEFAULT_ARCH  # light: no torch
from .errors import TSTransferError, warning_notes
from .recipe import DEFAULTS as _RECIPE  # light: no torch; --help shows the recipe's own defaults
from .recipe import FIT_ENSEMBLE, RECIPES

DESCRIPTION = ("Transfer learning for time series classification (Ismail Fawaz et al., 2018): pre-train networks on "
               "the UCR archive, fine-tune them on your data, choose the source by similarity, and rerun the paper's "
               "study. Start with `tstransfer fit --train YOUR_TRAIN.tsv --out model.safetensors`, or `tstransfer "
               "COMMAND --help`.")
MAX_TIME_HELP = ("a time budget: 30s, 5m, 1h; training stops there with the best weights so far (recorded as a "
                 "deviation from the recipe)")
DATASET_RULE = ("a bare name (GunPoint) is a dataset of --archive; a path (with a '/', e.g. ./Mine or "
                "data/Mine_TRAIN.tsv, or a .tsv/.csv/.ts/.txt file name) is your own data")


# option values argparse's types cannot rule out, refused in the command line's words: option -> (ok, rule)
RANGES = {
    "workers": (lambda v: v >= 1, "must be at least 1"),
    "top": (lambda v: v >= 0, "must be 0 (all) or more"),
    "show": (lambda v: v >= 0, "must be 0 or more"),
    "top_k": (lambda v: v >= 1, "must be at least 1"),
    "validate_epochs": (lambda v: v >= 1, "must be at least 1"),
    "ensemble": (lambda v: v >= 1, "must be at least 1"),
    "fuse": (lambda v: v >= 1, "must be at least 1 (1: no fusing)"),
    "jobs": (lambda v: v >= 1, "must be at least 1"),
    "gpus_per_run": (lambda v: 0 <= v < 1e6, "must be 0 (CPU) or more"),
    "timeout": (lambda v: 0 < v < float("inf"), "must be a finite number of seconds above 0"),
    "tie_band": (lambda v: 0 <= v < 100, "accuracy points from 0 (exact equality) below 100"),
}


def check_ranges(args) -> None:
    for name, (ok, rule) in RANGES.items():
        value = getattr(args, name, None)
        if value is not None and not ok(value):
            raise TSTransferError(f"--{name.replace('_', '-')} {value:g}: {rule}")


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
        import torch  # torch and training (seconds): only --version asks for the device

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


def _parents() -> dict[str, argparse.ArgumentParser]:
    """The option blocks several commands share (argparse parent parsers), each declared once."""

    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    blocks = {name: parent() for name in ("archive", "study_archive", "quiet", "format", "recipe", "seeds",
                                          "study_datasets", "grid", "tie_band", "layout")}
    blocks["layout"].add_argument("--label-column", default="first", metavar="first|last|N",
                                  help="where your files' label is: the first column (UCR's layout), the last, or "
                                  "column N (from 1)")
    blocks["layout"].add_argument("--header", choices=["auto", "yes", "no"], default="auto",
                                  help="a first row of names in your files: auto (skipped when all its values are "
                                  "not numbers), yes or no")
    blocks["archive"].add_argument("--archive", help="archive folder (UCR 2018/2015 or .ts layout); default: "
                                   "$TSTRANSFER_ARCHIVE or the mini archive")
    blocks["study_archive"].add_argument("--archive", default=None, help="archive folder; default: the one the "
                                         "study recorded at its first run, else $TSTRANSFER_ARCHIVE or the mini "
                                         "archive")
    blocks["study_archive"].set_defaults(archive_from_study=True)  # None stays None: the study's own archive
    blocks["quiet"].add_argument("--quiet", action="store_true", help="no progress bar")
    blocks["format"].add_argument("--format", choices=["table", "csv", "json"], default="table",
                                  help="table for people, csv or json for scripts")
    r = blocks["recipe"]
    r.add_argument("--arch", choices=list(ARCHITECTURES), default=None, help="the network: " + "; ".join(
                   f"{a.name}: {a.summary}" for a in ARCHITECTURES.values()) + f" (default: {DEFAULT_ARCH}; a study's "
                   "or a source model's own when it has one)")
    r.add_argument("--recipe", choices=list(RECIPES), help="the named training recipe: paper (the paper's FCN recipe, "
                   "exactly), resnet and lite (those architectures' published recipes), or practical (small data: "
                   "batch >= 4, at most 1000 epochs with early stopping, BatchNorm statistics recomputed); default: "
                   "practical for fit, the architecture's published one for the other commands")
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's; paper: 2000, "
                   "resnet and lite: 1500, practical: at most 1000)")
    r.add_argument("--seed", type=int, default=None, help="random seed: fixes weights init and batch order "
                   f"(default: {_RECIPE.seed})")
    r.add_argument("--device", default=_RECIPE.device, help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    r.add_argument("--amp", action="store_true", help="bf16 mixed precision where native: CUDA, "
                   "CPUs with AMX or AVX512-BF16 (about 2x faster on long series; not the paper's recipe)")
    r.add_argument("--threads", type=int, default=_RECIPE.threads, help="CPU threads (default: one per CPU not busy "
                   "with other work, re-measured while training; with --workers, split between them)")
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
    g.add_argument("--workers", type=int, default=1, help="parallel runs (local: processes; CPU threads "
                   "are split between them)")
    g.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    blocks["tie_band"].add_argument("--tie-band", type=float, default=0.0, metavar="POINTS",
                                    help="a draw against no transfer: within this many accuracy points (0: equal "
                                    "accuracy, the paper's rule)")
    return blocks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tstransfer", allow_abbrev=False, description=DESCRIPTION,
                                     epilog="DATASET arguments: " + DATASET_RULE + ". Exit codes: 0 success, 1 "
                                     "a failure while working (failed runs, an interrupted download, a full disk, a "
                                     "zoo failing verification), 2 bad input (an argument or a file).")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = _parents()

    def command(name: str, handler: str, help_text: str, *blocks: str, under=sub) -> argparse.ArgumentParser:
        """A command: its parser, the shared option blocks it takes, and the name of its function in commands.py."""
        p = under.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                             parents=[b[k] for k in blocks], allow_abbrev=False)
        p.set_defaults(handler=handler)
        if "recipe" in blocks:
            # not `recipe=`: set_defaults would change the shared parent action's default for every command
            p.set_defaults(default_recipe="practical" if name == "fit" else None)
            if "seeds" not in blocks:
                p.set_defaults(seeds=None)
        return p

    p = command("datasets", "cmd_datasets", "list the datasets of an archive, or download one", "archive", "format")
    p.add_argument("--download", metavar="NAME", help="download dataset NAME into --archive (needs internet)")
    p.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds for --download")

    p = command("train", "cmd_train", "train a network (--arch) from scratch with its published recipe", "archive",
                "quiet", "recipe", "layout")
    p.add_argument("dataset", help=DATASET_RULE)
    p.add_argument("--max-time", metavar="DURATION", help=MAX_TIME_HELP + "; shared by the --ensemble members")
    p.add_argument("--ensemble", type=int, default=1, metavar="K", help="train K networks with the seeds seed.."
                   "seed+K-1 and save one model averaging their probabilities (--arch lite --ensemble 5: LITETime)")
    p.add_argument("--out", default="runs", help="output folder for the model file and history CSV")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")

    p = command("evaluate", "cmd_evaluate", "accuracy and loss of a model file on a labelled file, or on a dataset's "
                "test split", "archive", "format", "layout")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("dataset", help="a labelled file (label first; all its series are scored), or a dataset: "
                   + DATASET_RULE)
    p.add_argument("--split", choices=["test", "train"], default="test", help="the split of a dataset to score")

    p = command("predict", "cmd_predict", "predict the labels of the series in a file (CSV: label, probabilities)")
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("file", help="UCR-format (.tsv, .csv, 2015) or .ts file")
    p.add_argument("--labels", "--label-column", dest="labels", default="auto", metavar="auto|first|last|N|none",
                   help="first, last or N: that column is a label (scored, not a value); none: every column is a "
                   "value; auto: decided only when certain (rows one value longer than the model's training length "
                   "and starting with its classes, or exactly that length and not), else an error")
    p.add_argument("--header", choices=["auto", "yes", "no"], default="auto", help="a first row of names: auto "
                   "(skipped when all its values are not numbers), yes or no")
    p.add_argument("--out", help="write the predictions to this CSV file instead of printing them (index, "
                   "predicted, the file's own label when it has one, p_<class>...); a labelled file also gets its "
                   "confusion matrix beside it, named OUT without its suffix + .confusion.csv (preds.csv -> "
                   "preds.confusion.csv)")

    p = command("pretrain", "cmd_pretrain", "pre-train one network per dataset into a study folder (finished ones are "
                "skipped)", "study_archive", "study_datasets", "grid", "quiet", "recipe", "seeds")
    p.set_defaults(engine="local", sources=None, targets=None, address=None, gpus_per_run=0.0, fuse=None)

    p = command("grid", "cmd_grid", "the full study: pre-train every dataset, fine-tune every source on every target",
                "study_archive", "study_datasets", "grid", "quiet", "recipe", "seeds")
    p.add_argument("--sources", nargs="+", help="source datasets (instead of --datasets)")
    p.add_argument("--targets", nargs="+", help="target datasets (instead of --datasets)")
    p.add_argument("--engine", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    p.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs per run with Ray (fractions share)")
    p.add_argument("--fuse", type=int, default=None, help="fine-tunings of one target trained together "
                   "(default: 8 on CUDA, 1 = no fusing on CPU); fixed for a study")

    p = command("transfer", "cmd_transfer", "fine-tune a pre-trained source model on a target dataset", "archive",
                "quiet", "recipe", "seeds", "layout")
    p.add_argument("source", help="source dataset (its model in --study) or a model file")
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--study", help="study folder holding pretrained/<SOURCE>.safetensors; the run is recorded")
    p.add_argument("--out", default="runs", help="output folder when SOURCE is a model file (writes "
                   "<Source>-to-<Target>.safetensors)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")

    p = command("similarity", "cmd_similarity", "Algorithm 1: DBA prototypes, DTW dataset distances, neighbour "
                "table", "study_archive", "study_datasets", "quiet")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes / numba threads (default: every CPU this "
                   "process may use)")
    p.add_argument("--plots", action="store_true", help="also plot each dataset's prototypes (PNG)")
    p.add_argument("--show", type=int, default=10, help="print the top neighbours of this many targets")

    p = command("recommend", "cmd_recommend", "rank source datasets for a target (an archive dataset or your own "
                "file)", "study_archive", "format", "layout")
    p.add_argument("target", help=DATASET_RULE)
    p.add_argument("--study", help="study folder where `tstransfer similarity` ran (its pre-trained models)")
    p.add_argument("--zoo", help="zoo folder (default, without --study: the shipped zoo of --arch)")
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=None, help="without --zoo and --study: the shipped "
                   "zoo of this architecture (default: lite, the one fit uses; fcn: the paper's)")
    p.add_argument("--top", type=int, default=5, help="how many sources to list (0: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = command("report", "cmd_report", "HTML report with the paper's figures and the source-selection study",
                "quiet", "tie_band")
    p.add_argument("--study", help="study folder (results store, histories, similarity)")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S", help="report these seeds of the study (default: "
                   "all it has; several: mean and std over them)")
    p.add_argument("--matrix", help="accuracy matrix CSV made elsewhere (rows = source, columns = target)")
    p.add_argument("--baseline", help="no-transfer accuracies CSV (dataset,accuracy)")
    p.add_argument("--similarity", help="neighbours CSV (index = target, columns K_1 ...)")
    p.add_argument("--out", required=True, help="output folder (index.html, figures/, targets/, selection.csv)")

    p = command("plot-loss", "cmd_plot_loss", "loss curves of a target with and without transfer (the paper's "
                "Fig. 1)")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--target", required=True, help="target dataset")
    p.add_argument("--source", nargs="+", help="sources (default: the most and the least similar)")
    p.add_argument("--out", help="PNG file (default: STUDY/figures/<TARGET>_loss.png)")

    zoo_help = "zoo folder (default: the shipped zoo of --arch); a study folder or *.safetensors + prototypes/"
    shipped_help = ("without --zoo: the shipped zoo of this architecture (default: lite, the one fit uses; fcn: the "
                    "paper's)")
    zoo = sub.add_parser("zoo", help="pre-trained model zoos: list, show, build, verify, pull", allow_abbrev=False,
                         description="Pre-trained model zoos: list, show, build, verify, pull.")
    zoo_sub = zoo.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command("list", "cmd_zoo_list", "the models of a zoo", "format", under=zoo_sub)
    p.add_argument("--zoo", default=None, help=zoo_help)
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=None, help=shipped_help)
    p = command("show", "cmd_zoo_show", "one model of a zoo: header, training record, manifest entry", under=zoo_sub)
    p.add_argument("name", help="dataset name")
    p.add_argument("--zoo", default=None, help=zoo_help)
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=None, help=shipped_help)
    p = command("build", "cmd_zoo_build", "pre-train datasets into a publishable zoo (manifest, checksums, "
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
    p = command("verify", "cmd_zoo_verify", "check every file of a zoo against its sha256 and manifest", under=zoo_sub)
    p.add_argument("zoo", help="zoo folder with a zoo.json")
    p = command("pull", "cmd_zoo_pull", "download a published zoo (URL or folder), verifying every sha256", "quiet",
                under=zoo_sub)
    p.add_argument("source", help="http(s) URL of the zoo folder (holding zoo.json) or a local folder")
    p.add_argument("--to", required=True, help="new folder for the zoo")
    p.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds")

    backbone = sub.add_parser("backbone", help="one network pre-trained on many datasets at once", allow_abbrev=False,
                              description="One network pre-trained on many datasets at once (the pretext task: "
                              "which dataset a series comes from, or every dataset's classes with one head each; "
                              "BatchNorm statistics per dataset).")
    backbone_sub = backbone.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command("build", "cmd_backbone_build", "pre-train one backbone on the training splits of many datasets; "
                "resumable", "quiet", under=backbone_sub)
    p.add_argument("--archive", action="append", required=True, help="archive folder; repeat for several (e.g. "
                   "--archive ../shared/ucr --archive data/ucr-extra)")
    p.add_argument("--datasets", nargs="+", help="the datasets (default: every dataset of the archives)")
    p.add_argument("--domain", help="only the datasets of this UCR type (ECG, SENSOR, IMAGE, ...: the official "
                   "summary's Type column): a backbone per domain")
    p.add_argument("--exclude", nargs="+", default=[], help="datasets to leave out (e.g. the targets to evaluate on)")
    p.add_argument("--arch", choices=list(ARCHITECTURES), default="lite", help="the network (default: lite, the "
                   "cheapest)")
    p.add_argument("--epochs", type=int, default=300, help="batches each dataset gives on average (steps = epochs x "
                   "datasets)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sampling", choices=["balanced", "proportional"], default="balanced", help="balanced: every "
                   "dataset equally often (default); proportional: in proportion to its training series")
    p.add_argument("--objective", choices=["multihead", "pretext"], default="multihead", help="multihead: every "
                   "dataset's own classes, one head per dataset (default: better in benchmarks/backbone.py); "
                   "pretext: which dataset a series comes from (the paper's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the free CPUs)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--checkpoint-every", type=int, default=500, metavar="STEPS", help="steps between checkpoints "
                   "(beside --out; the same command continues from the last)")
    p.add_argument("--out", required=True, help="the backbone's model file (.safetensors)")
    p.add_argument("--zoo", help="also add it to this published zoo (models/backbone-<arch>.safetensors, listed in "
                   "its zoo.json with the datasets it saw)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
    p.add_argument("--dry-run", action="store_true", help="print the datasets, the steps and the estimated time, "
                   "then stop")

    p = command("fit", "cmd_fit", "choose a source in a zoo for your data and fine-tune it", "quiet", "recipe",
                "layout")
    p.add_argument("--train", required=True, help="your training file (.tsv/.csv/.ts, labels of any kind)")
    p.add_argument("--test", help="a test file: reports the accuracy (never used to choose)")
    p.add_argument("--zoo", default=None, help="zoo folder (default: the zoo shipped with tstransfer; see "
                   "`tstransfer zoo`)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
    p.add_argument("--no-backbone", dest="backbones", action="store_false", help="rank the single sources only "
                   "(the paper's way; by default the zoo's backbone is ranked beside them, after the nearest single "
                   "source on a tie: benchmarks/backbone.py)")
    p.add_argument("--source", metavar="backbone|FILE|NAME", help="fine-tune this source instead of choosing one: "
                   "backbone (the zoo's, one network pre-trained on many datasets), a model file (a backbone from "
                   "`tstransfer backbone build` included) or a dataset of the zoo; a target a backbone was "
                   "pre-trained on is refused")
    p.add_argument("--select", choices=["similarity", "validate", "transferability"], default="similarity",
                   help="similarity: Algorithm 1's K_1 (paper); validate: brief fine-tunes of the top-k on a "
                   "validation split; transferability: LogME of frozen features")
    p.add_argument("--top-k", type=int, default=3, help="candidates for --select validate")
    p.add_argument("--validate-epochs", type=int, help="epochs of each brief fine-tune (default: epochs/10)")
    p.add_argument("--ensemble", type=int, default=FIT_ENSEMBLE, metavar="K", help="fine-tune the K best "
                   "candidates and average their probabilities (one model file)")
    p.add_argument("--compare", "--compare-scratch", dest="compare", action="store_true", help="also train the "
                   "network from scratch and aeon's MiniRocket on the same split and print one table (needs --test)")
    p.add_argument("--dry-run", action="store_true", help="print the ranking, the chosen sources and the time "
                   "estimate, then stop")
    p.add_argument("--max-time", metavar="DURATION", help=MAX_TIME_HELP + "; shared by the fine-tunings and, with "
                   "--compare, the training from scratch")

    p = command("evaluate-selection", "cmd_evaluate_selection", "every source-selection strategy, leave-one-target-"
                "out, on a finished grid", "archive", "quiet")
    p.add_argument("--study", required=True, help="study folder with a finished grid and `similarity`")
    p.add_argument("--top-k", type=int, default=3, help="candidates for the validate strategy")
    p.add_argument("--validate-epochs", type=int, help="epochs of each brief fine-tune (default: study epochs/10)")

    p = command("import-keras", "cmd_import_keras", "convert a Keras FCN (the paper's released models) into a "
                "tstransfer model file", "archive", "quiet")
    p.add_argument("model", help="best_model.hdf5 (architecture + weights), architecture.txt (+ its weights), a "
                   ".keras file, a folder holding one, or a tree of such folders (the authors' archives)")
    p.add_argument("--out", required=True, help="model file to write (.safetensors); a folder for a tree")
    p.add_argument("--weights", help="weights for architecture.txt (default: best_model_weights.hdf5 beside it)")
    p.add_argument("--dataset", help="the dataset the model was trained on (in --archive): its sorted labels are "
                   "the classes and its test accuracy is recorded")
    p.add_argument("--classes", help="comma-separated labels of the outputs, in order (default: 0..C-1)")

    p = command("results", "cmd_results", "accuracy and accuracy-variation matrices of a study (CSV) and a summary",
                "format", "tie_band")
    p.add_argument("--study", required=True, help="study folder")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S", help="these seeds of the study (default: all it has; "
                   "several: mean and std over them)")
    p.add_argument("--out", help="output folder (default: STUDY/results)")
    _set_formatter(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else map(str, argv))  # what the user typed (report footer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check_ranges(args)
            from . import commands  # torch, pandas: loaded once a command runs, so --help answers at once

            commands.run(args)
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
            for note in warning_notes(caught):
                print(f"tstransfer: note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
