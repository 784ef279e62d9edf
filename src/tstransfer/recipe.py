"""The training recipes, declared once: every hyper-parameter of a run, its defaults, its checks, and the one
record shape a model file, a zoo manifest and a study's settings store.

Light on purpose (no torch): the command line reads its defaults from here before anything heavy loads.

The named recipes, one per published architecture (architectures.py says which is whose) and one for small data:
- `paper` (the FCN's, METHOD.md, identical for pre-training and fine-tuning; the default of every study command):
  cross-entropy; Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7); batch int(min(n_train/10, 16)) >= 1,
  reshuffled every epoch, last partial batch kept; 2000 epochs; ReduceLROnPlateau on the epoch's training
  loss (factor 0.5, patience 50, min lr 1e-4, Keras' absolute min_delta 1e-4); the weights of the epoch
  with the lowest training loss are kept. The test split is only logged, never used to choose.
- `practical` (the default of `fit` and the estimators, for small labelled datasets): the paper's recipe
  with a batch of at least 4 (the paper's rule gives 1 below 20 series, where the FCN ends near chance),
  at most 1000 epochs with early stopping (50 epochs without a min_delta improvement once the lr is at
  its floor), and the kept weights' BatchNorm statistics recomputed over the training set (the running
  averages lag the weights at small budgets). Chosen by benchmarks/practitioner.py. It starts from the published
  recipe of the architecture it trains (with LITE: batches of 64).
- `resnet` (dl-4-tsc's classifiers/resnet.py, Ismail Fawaz et al. 2019): the paper's with 1500 epochs and batches
  of int(min(n_train/10, 64)).
- `lite` (aeon's IndividualLITEClassifier, the LITE paper's code): the paper's with 1500 epochs and batches of 64.

A config also names its architecture (`arch`): what a study or a zoo records and refuses to mix, like the recipe.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .architectures import ARCHITECTURES, DEFAULT_ARCH, architecture
from .errors import TSTransferError, shown

PAPER_EPOCHS = 2000
# settings that change how fast a run goes, not what it computes
SPEED_SETTINGS = ("device", "threads", "test_every")
# the recipe's hyper-parameters compared with the paper's by `deviations`
RECIPE_FIELDS = ("epochs", "lr", "adam_eps", "lr_factor", "lr_patience", "min_lr", "min_delta", "batch_size",
                 "min_batch_size", "max_batch_size")
# the named recipes, as their departures from the paper's (TrainConfig's defaults)
RECIPES: dict[str, dict] = {
    "paper": {},
    "practical": {"epochs": 1000, "min_batch_size": 4, "early_stopping": 50, "precise_bn": True},
    "resnet": {"epochs": 1500, "max_batch_size": 64},
    "lite": {"epochs": 1500, "batch_size": 64},
}
# recipes made for any architecture: they start from the architecture's published one
GENERIC_RECIPES = ("practical",)


class InvalidSetting(TSTransferError):
    """A setting of the recipe out of its range. Said in the command line's words (`--epochs 0: ...`); the
    estimators say it in theirs from `setting`, `value` and `rule`."""

    def __init__(self, setting: str, value, rule: str):
        super().__init__(f"--{setting.replace('_', '-')} {value}: {rule}")
        self.setting, self.value, self.rule = setting, value, rule


def check_integer(setting: str, value, low: int) -> None:
    """An integer setting of at least `low` (a bool is not one), else InvalidSetting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidSetting(setting, value, f"must be at least {low}" if isinstance(value, int)
                             and not isinstance(value, bool) else f"must be an integer of at least {low}")


def check_number(setting: str, value, ok, rule: str) -> None:
    """A finite number setting for which `ok(value)` holds (`rule` says it: "above 0"), else InvalidSetting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
        raise InvalidSetting(setting, value, f"must be a finite number {rule}")


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run. The defaults are the paper's recipe (`TrainConfig.named("practical")` for
    the other); invalid values are refused here, whoever builds the config (the command line, the estimators,
    a zoo build)."""

    epochs: int = PAPER_EPOCHS
    lr: float = 1e-3
    adam_eps: float = 1e-7
    lr_factor: float = 0.5
    lr_patience: int = 50
    min_lr: float = 1e-4
    min_delta: float = 1e-4  # Keras ReduceLROnPlateau default, an absolute threshold
    batch_size: int | None = None  # None: the paper's rule with the floor min_batch_size, see batch_size_rule
    min_batch_size: int = 1  # the floor of the batch rule (the paper's: 1)
    max_batch_size: int = 16  # the cap of the batch rule (the paper's: 16; dl-4-tsc's ResNet: 64)
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when present, else CPU
    amp: bool = False  # bf16 autocast where native: CUDA, AMX/AVX512-BF16 CPUs (not part of the paper's recipe)
    threads: int | None = None  # CPU threads for this process; None leaves torch's default
    test_every: int | None = 1  # log the test split every N epochs (the paper: 1); None: once, at the end
    dtype: str = "float32"  # "float64" for numerical checks (e.g. fused == sequential to 1e-9)
    early_stopping: int | None = None  # stop after this many epochs without a min_delta improvement at the lr floor
    precise_bn: bool = False  # recompute the kept weights' BatchNorm statistics over the training set
    max_time: float | None = None  # seconds a training may take (--max-time): then it stops with its best weights
    recipe_name: str = "paper"  # the named recipe this config starts from (RECIPES)
    arch: str = DEFAULT_ARCH  # the network it trains (architectures.ARCHITECTURES)

    def __post_init__(self):
        for name, low, optional in (("epochs", 1, False), ("test_every", 1, True), ("early_stopping", 1, True),
                                    ("threads", 1, True), ("batch_size", 1, True), ("lr_patience", 1, False),
                                    ("seed", 0, False), ("min_batch_size", 1, False), ("max_batch_size", 1, False)):
            if not (optional and getattr(self, name) is None):
                check_integer(name, getattr(self, name), low)
        for name, ok, rule in (("lr", lambda v: v > 0, "above 0"), ("adam_eps", lambda v: v > 0, "above 0"),
                               ("lr_factor", lambda v: 0 < v < 1, "between 0 and 1"),
                               ("min_lr", lambda v: v >= 0, "of at least 0"),
                               ("min_delta", lambda v: v >= 0, "of at least 0")):
            check_number(name, getattr(self, name), ok, rule)
        if self.max_time is not None and (isinstance(self.max_time, bool) or not isinstance(self.max_time, (int, float))
                                          or not math.isfinite(self.max_time) or self.max_time <= 0):
            raise InvalidSetting("max_time", self.max_time, "must be a duration above 0 (30s, 5m, 1h)")
        if self.dtype not in ("float32", "float64"):
            raise InvalidSetting("dtype", self.dtype, "float32 or float64")
        if self.recipe_name not in RECIPES:
            raise InvalidSetting("recipe", self.recipe_name, f"choose one of {', '.join(RECIPES)}")
        if self.arch not in ARCHITECTURES:
            raise InvalidSetting("arch", self.arch, f"choose one of {', '.join(ARCHITECTURES)}")
        published = {a.recipe: a.name for a in ARCHITECTURES.values()}
        if self.recipe_name in published and published[self.recipe_name] != self.arch:
            raise InvalidSetting("recipe", self.recipe_name, f"it is the published recipe of "
                                 f"{published[self.recipe_name]}, not of {self.arch}: use --recipe "
                                 f"{architecture(self.arch).recipe} or practical")

    @classmethod
    def named(cls, name: str | None = None, arch: str | None = None, **overrides) -> TrainConfig:
        """The named recipe (RECIPES; None: the architecture's published one) for `arch` (None: the default
        architecture), with `overrides` (None values keep the recipe's own). A generic recipe (practical) starts
        from the architecture's published one; an unknown name is refused by the config's own checks."""
        arch = arch or DEFAULT_ARCH
        base = RECIPES.get(architecture(arch).recipe, {})
        name = name or architecture(arch).recipe
        given = {k: v for k, v in overrides.items() if v is not None}
        start = {**base, **RECIPES[name]} if name in GENERIC_RECIPES else RECIPES.get(name, {})
        return cls(**{**start, **given, "recipe_name": name, "arch": arch})

    def published(self) -> TrainConfig:
        """The published recipe of this config's architecture: what `deviations` compares with."""
        return TrainConfig(**{**RECIPES[architecture(self.arch).recipe], "arch": self.arch,
                              "recipe_name": architecture(self.arch).recipe})

    def deviations(self) -> list[str]:
        """How this config departs from its architecture's published recipe (for the FCN: the paper's), in words
        (empty: it is the recipe)."""
        paper = self.published()
        label = paper.recipe_name
        out = [f"{name}={getattr(self, name)} ({label}: {getattr(paper, name)})" for name in RECIPE_FIELDS
               if getattr(self, name) != getattr(paper, name)]
        if self.amp:
            out.append(f"mixed precision ({label}: float32)")
        if self.dtype != "float32":
            out.append(f"{self.dtype} ({label}: float32)")
        if self.early_stopping:
            out.append(f"early stopping after {self.early_stopping} epochs at the lr floor ({label}: none)")
        if self.precise_bn:
            out.append(f"BatchNorm statistics recomputed over the training set for the kept weights ({label}: the "
                       "running averages)")
        if self.max_time is not None:
            out.append(f"a time budget of {format_seconds(self.max_time)} per training, stopping with the best weights "
                       f"so far ({label}: none)")
        return out

    def recipe(self) -> dict:
        """What the run computes (every field but the speed settings): what a study or a zoo records and
        refuses to mix."""
        return {k: v for k, v in asdict(self).items() if k not in SPEED_SETTINGS}

    def to_record(self) -> dict:
        """The one shape every file records a recipe in: its name, every field that decides the results, and its
        deviations from the paper in words."""
        fields_ = self.recipe()
        return {"name": fields_.pop("recipe_name"), "fields": fields_, "deviations": self.deviations()}

    @classmethod
    def from_record(cls, record: dict, where: str = "", **overrides) -> TrainConfig:
        """A config from any recipe record tstransfer wrote: `to_record`'s shape, a zoo manifest's older
        {"config": ...}, a model file's config, or a study's older flat field dict. Fields it does not know are
        refused; missing ones take the paper's values (older files predate them). `where` (the file) starts any
        error: the values are the file's, not the user's flags."""
        where = f"{where}: " if where else ""
        if not isinstance(record, dict):
            raise TSTransferError(f"{where}a recipe record must be an object, not {type(record).__name__}")
        values = record.get("fields") or record.get("config") or \
            {k: v for k, v in record.items() if k not in ("name", "deviations", "paper_recipe")}
        if not isinstance(values, dict):
            raise TSTransferError(f"{where}the recipe's fields must be an object, not {shown(values)}")
        values = dict(values)
        if "name" in record and "recipe_name" not in values:
            values["recipe_name"] = record["name"]
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(values) - known)
        if unknown:
            raise TSTransferError(f"{where}a recipe record with fields this version does not know: "
                                  f"{', '.join(u[:40] if u.isprintable() else shown(u) for u in unknown[:5])}")
        try:
            return cls(**{**values, **overrides})
        except InvalidSetting as err:  # a recorded value, not the user's flag: said as what it is
            raise TSTransferError(f"{where}the recorded recipe's {err.setting} {shown(err.value)}: {err.rule}") \
                from None
        except TypeError as err:  # a value of a type no check expects (a list for the device...)
            raise TSTransferError(f"{where}the recorded recipe is malformed ({err})") from None

    def study_record(self) -> dict:
        """`to_record` without the seed: a study records its seeds apart (it may run several)."""
        record = self.to_record()
        record["fields"].pop("seed")
        return record

    def check_same(self, record: dict, where: str, ignore=("seed",)) -> None:
        """Refuse to mix runs of another recipe into what `record` (any shape `from_record` reads) describes."""
        recorded = TrainConfig.from_record(record, where, seed=self.seed)
        if not self.same_recipe(recorded, ignore):
            changed = [f"{k} {recorded.recipe()[k]!r} there, {v!r} now" for k, v in self.recipe().items()
                       if k not in ignore and recorded.recipe()[k] != v]
            raise TSTransferError(f"{where} was made with the {recorded.recipe_name} recipe and another setting "
                                  f"({'; '.join(changed[:4])}); results of two recipes would mix: use another folder")

    def same_recipe(self, other: TrainConfig, ignore=("seed",)) -> bool:
        """Whether two configs compute the same thing (speed settings and `ignore` aside)."""
        def key(config):
            return {k: v for k, v in config.recipe().items() if k not in ignore}
        return key(self) == key(other)


DEFAULTS = TrainConfig()
# `fit --ensemble` and TransferClassifier(n_ensemble=): how many of the best-ranked sources are fine-tuned and
# averaged by default. benchmarks/practitioner.py (12 small targets x 2 seeds): the mean of the top 3 is +0.1
# accuracy points over the single most similar source (7 wins, 8 draws, 9 losses) at 3.2x its time, the top 5
# -0.2 points: one source, the paper's K_1.
FIT_ENSEMBLE = 1
# fit's architecture when neither --arch, a source file nor a zoo of one architecture says: LITE. The practitioner
# benchmark's architecture axis (benchmarks/results/practitioner_arch/, UCR targets no zoo holds, the same wall-clock
# budget per training, two seeds): LITE from scratch and by transfer 2.6-3.3 points under MiniRocket's mean, the FCN
# 11-12 points under it (its epochs cost 2-4x more on a CPU: it reached fewer). Without the budget (fit's own recipe,
# benchmarks/results/practitioner_arch_unbudgeted/, 12 targets x 2 seeds) LITE transfer 0.888, MiniRocket 0.884,
# no target more than 6 points behind. On the zoo's 12 smallest datasets (16-30
# series, left out of the pool, one seed) the FCN led by about 1.6 points (mostly ShapeletSim); over all 24 targets
# LITE transfer 0.894, FCN 0.865. Trained to their published recipes on the zoo's own short datasets, the two are
# close (LITE 0.898, FCN 0.908 on 24 datasets, one run each).
FIT_ARCH = "lite"
# Whether a zoo's backbone (one network pre-trained on many datasets) ranks before the model of the nearest dataset
# it saw when Algorithm 1 ties them (the backbone's distance is that dataset's): fit's default source between the
# two. benchmarks/backbone.py (results/backbone/, LITE, 30 s a training, seeds 0 and 1): the multi-head backbone
# scored +1.3 points over the nearest single source (+/- 0.8) on 44 targets it never saw (32 shared datasets by
# folds, 12 outside the zoo), median 0, better on 19 targets and worse on 20 (a few large wins on long or hard
# targets). Not a win: the paper's single source stays first, the backbone a candidate (second on the tie, ranked
# by --select transferability and validate), a `fit --compare` row and `--source backbone`.
FIT_PREFERS_BACKBONE = False
PRACTICAL = TrainConfig.named("practical")


def parse_duration(text, what: str = "--max-time") -> float:
    """A duration as people write it: 90 or 90s (seconds), 5m, 1.5h; returns seconds."""
    raw = str(text).strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(raw[-1:], None)
    number = raw[:-1] if scale else raw
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise TSTransferError(f"{what} {str(text)[:40]}: give a duration such as 30s, 5m or 1h") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise TSTransferError(f"{what} {str(text)[:40]}: must be a duration above 0 (30s, 5m, 1h)")
    return seconds


def format_seconds(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 and seconds % 360 == 0 else \
        f"{seconds / 60:g}m" if seconds >= 60 and seconds % 6 == 0 else f"{seconds:g}s"


def run_seeds(seed: int | None, seeds: list[int] | None) -> list[int]:
    """--seeds S1 S2 ... (duplicates dropped), else the one --seed, else the recipe's."""
    if not seeds:
        return [DEFAULTS.seed if seed is None else seed]
    if seed is not None:
        raise TSTransferError("give --seed or --seeds, not both")
    bad = [s for s in seeds if s < 0]
    if bad:
        raise TSTransferError(f"--seeds {bad[0]}: must be at least 0")
    return list(dict.fromkeys(seeds))


def batch_size_rule(n_train: int, floor: int = 1, cap: int = 16) -> int:
    """The paper's batch size int(min(n_train / 10, cap)) (cap 16; dl-4-tsc's ResNet: 64), at least `floor` (the
    paper's: 1) and at most n_train."""
    return max(1, min(n_train, max(floor, int(min(n_train / 10, cap)))))


def batch_size(config: TrainConfig, n_train: int) -> int:
    """The batch size a run of `config` uses on `n_train` series (a fixed one at most n_train, as Keras makes it)."""
    if config.batch_size:
        return min(config.batch_size, n_train)
    return batch_size_rule(n_train, config.min_batch_size, config.max_batch_size)
