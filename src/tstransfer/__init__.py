"""tstransfer: transfer learning for time series classification (Ismail Fawaz et al., 2018)."""

__version__ = "0.1.0"

from .data import MINI_ARCHIVE, Dataset, load_dataset, load_files  # noqa: E402
from .errors import TSTransferError  # noqa: E402
from .estimators import FCNClassifier, TransferClassifier  # noqa: E402
from .keras_import import import_keras  # noqa: E402
from .models import FCN, TrainedModel, create_model, list_models, load_model  # noqa: E402
from .training import TrainConfig, TrainResult, fit, train  # noqa: E402

__all__ = [
    "FCN", "FCNClassifier", "MINI_ARCHIVE", "TransferClassifier", "Dataset", "TSTransferError", "TrainConfig",
    "TrainResult", "TrainedModel",
    "create_model", "fit", "import_keras", "list_models", "load_dataset", "load_files", "load_model", "train",
]
