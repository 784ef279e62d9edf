"""The paper's training recipe, declared once: every hyper-parameter of a run, its defaults, its checks.

Light on purpose (no torch): the command line reads its defaults from here before anything heavy loads.

Recipe (METHOD.md, identical for pre-training and fine-tuning):
  cross-entropy; Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7); batch int(min(n_train/10, 16)) >= 1,
  reshuffled every epoch, last partial batch kept; 2000 epochs; ReduceLROnPlateau on the epoch's
  training loss (factor 0.5, patience 50, min lr 1e-4, Keras' absolute min_delta 1e-4); the weights of
  the epoch with the lowest training loss are kept. The test split is only logged, never used to choose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import TSTransferError

PAPER_EPOCHS = 2000
# settings that change how fast a run goes, not what it computes
SPEED_SETTINGS = ("device", "threads", "test_every")
# the recipe's hyper-parameters compared with the paper's by `deviations`
RECIPE_FIELDS = ("epochs", "lr", "adam_eps", "lr_factor", "lr_patience", "min_lr", "min_delta", "batch_size")


class InvalidSetting(TSTransferError):
    """A setting of the recipe out of its range. Said in the command line's words (`--epochs 0: ...`); the
    estimators say it in theirs from `setting`, `value` and `rule`."""

    def __init__(self, setting: str, value, rule: str):
        super().__init__(f"--{setting.replace('_', '-')} {value}: {rule}")
        self.setting, self.value, self.rule = setting, value, rule


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run. The defaults are the paper's recipe; invalid values are refused here,
    whoever builds the config (the command line, the estimators, a zoo build)."""

    epochs: int = PAPER_EPOCHS
    lr: float = 1e-3
    adam_eps: float = 1e-7
    lr_factor: float = 0.5
    lr_patience: int = 50
    min_lr: float = 1e-4
    min_delta: float = 1e-4  # Keras ReduceLROnPlateau default, an absolute threshold
    batch_size: int | None = None  # None: the paper's rule, see batch_size_rule
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when present, else CPU
    amp: bool = False  # bf16 autocast on CUDA (not part of the paper's recipe)
    threads: int | None = None  # CPU threads for this process; None leaves torch's default
    test_every: int = 1  # log the test split every N epochs (the paper logs it every epoch)
    dtype: str = "float32"  # "float64" for numerical checks (e.g. fused == sequential to 1e-9)
    early_stopping: int | None = None  # stop after this many epochs without a new best once lr is at its floor

    def __post_init__(self):
        for name, low, optional in (("epochs", 1, False), ("test_every", 1, False), ("early_stopping", 1, True),
                                    ("threads", 1, True), ("batch_size", 1, True), ("lr_patience", 1, False),
                                    ("seed", 0, False)):
            value = getattr(self, name)
            if optional and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidSetting(name, value, f"must be at least {low}" if isinstance(value, int)
                                     and not isinstance(value, bool) else f"must be an integer of at least {low}")
        if self.dtype not in ("float32", "float64"):
            raise InvalidSetting("dtype", self.dtype, "float32 or float64")

    def deviations(self) -> list[str]:
        """How this config departs from the paper's recipe, in words (empty: it is the recipe)."""
        paper = TrainConfig()
        out = [f"{name}={getattr(self, name)} (paper: {getattr(paper, name)})" for name in RECIPE_FIELDS
               if getattr(self, name) != getattr(paper, name)]
        if self.amp:
            out.append("mixed precision (paper: float32)")
        if self.dtype != "float32":
            out.append(f"{self.dtype} (paper: float32)")
        if self.early_stopping:
            out.append(f"early stopping after {self.early_stopping} epochs at the lr floor (paper: none)")
        return out

    def recipe(self) -> dict:
        """What the run computes (every field but the speed settings): what a study or a zoo records and
        refuses to mix."""
        return {k: v for k, v in asdict(self).items() if k not in SPEED_SETTINGS}


DEFAULTS = TrainConfig()


def batch_size_rule(n_train: int) -> int:
    """The paper's batch size: int(min(n_train / 10, 16)), at least 1."""
    return max(1, int(min(n_train / 10, 16)))
