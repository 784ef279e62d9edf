"""Guardrails: one-line warnings for results that look good and are wrong, or inputs that look fine and are not.

- an accuracy at or below the majority-class rate (a collapsed model: always the same class);
- a saved model far worse on its own training split than the training accuracy its history logged (the
  BatchNorm running statistics lag the weights at short budgets; the practical recipe recomputes them);
- about as many classes as series (is the label really in the first column?);
- a model applied to series of another length than it was trained on.
"""

from __future__ import annotations

import numpy as np

# a saved model this far (accuracy points / 100) below the training accuracy it logged is flagged
TRAIN_GAP = 0.2


def majority_rate(labels) -> float:
    """The accuracy of always answering the most frequent label."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    _, counts = np.unique(labels, return_counts=True)
    return float(counts.max() / labels.size)


def at_or_below_majority(accuracy: float | None, majority: float) -> bool:
    return accuracy is not None and np.isfinite(majority) and round(accuracy, 6) <= round(majority, 6)


def accuracy_note(accuracy: float | None, majority: float, what: str = "test accuracy") -> str:
    """`accuracy` with the majority-class rate (see `majority_rate`) beside it, flagged when it is not above it."""
    if accuracy is None:
        return f"{what}: n/a"
    text = f"{what}: {accuracy:.4f} (majority class {majority:.4f})"
    if at_or_below_majority(accuracy, majority):
        text += " -- WARNING: not above always answering the majority class; the model has collapsed"
    return text


def training_gap_note(saved_train_acc: float, logged_train_acc: float) -> str | None:
    """A warning when the saved model scores far below, on its own training split, the accuracy its history
    logged at the kept epoch."""
    if logged_train_acc - saved_train_acc > TRAIN_GAP:
        return (f"WARNING: the saved model scores {saved_train_acc:.2f} on its own training split, while its history "
                f"logged {logged_train_acc:.2f} at the kept epoch: its BatchNorm statistics lag its weights (too few "
                "epochs?); the practical recipe (--recipe practical) recomputes them")
    return None


def label_column_note(n_series: int, n_classes: int, where: str) -> str | None:
    """A warning when nearly every series has a class of its own (the label is likely not the first column)."""
    if n_series >= 10 and n_classes > n_series / 2:
        return (f"WARNING: {where}: {n_classes} classes for {n_series} series; is the label in the first column? "
                "(UCR files put it there)")
    return None


def length_note(model_length: int | None, data_length: int, where: str) -> str | None:
    """A warning when series are of another length than the model was trained on (the FCN accepts any length,
    but what it learned about scale and position may not carry over)."""
    if model_length and data_length != model_length:
        return (f"WARNING: {where}: series of length {data_length}, the model was trained on length {model_length}; "
                "its predictions may not mean much")
    return None
