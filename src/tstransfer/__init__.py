"""tstransfer: transfer learning for time series classification (Ismail Fawaz et al., 2018).

The public names below are imported on first use, so `import tstransfer` (and `tstransfer --help`) does not
pay for torch, pandas or scikit-learn until they are needed."""

__version__ = "0.1.0"

_EXPORTS = {
    "MINI_ARCHIVE": "data", "Dataset": "data", "load_dataset": "data", "load_files": "data",
    "TSTransferError": "errors",
    "FCNClassifier": "estimators", "TransferClassifier": "estimators",
    "import_keras": "keras_import",
    "FCN": "models", "TrainedModel": "models", "create_model": "models", "list_models": "models",
    "load_model": "models",
    "TrainConfig": "recipe", "TrainResult": "training", "train": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tstransfer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
