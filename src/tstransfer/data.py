"""Reading UCR archives: the 2018 `.tsv` layout, the 2015 comma layout and `.ts` files.

Every dataset goes through the same preprocessing, recorded in `PREPROCESSING`:

1. Variable length: trailing NaN of each series are trimmed; the series keeps its own length.
2. Missing values inside a series are linearly interpolated (leading ones take the first value).
3. Each series (each channel) is z-normalised by its own mean and std; std 0 counts as 1.
4. Series are stored right-padded with zeros to the longest one, with their `lengths` beside them;
   the FCN masks the padding after every layer, so a padded series gives exactly the output of
   the unpadded one (see `models.FCN`).

Labels are encoded 0..C-1 in sorted order of the training labels; `Dataset.classes` maps back.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import shutil
import socket
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .errors import TSTransferError, shown
from .files import check_writable_dir, safe_name, sha256_file

MINI_ARCHIVE = Path(__file__).parent / "mini_archive"
UCR_SUMMARY = Path(__file__).parent / "ucr2018_summary.csv"  # the official table of the 128-dataset archive

PREPROCESSING = {
    "variable_length": "trim-trailing-nan; zero-pad + mask",
    "missing_values": "linear-interpolation",
    "normalisation": "z-normalise each series and channel (std 0 -> 1)",
}

# UCR 2015 name -> UCR 2018 name (the renamed datasets among the paper's 85).
ALIASES_2015_TO_2018 = {
    "50words": "FiftyWords",
    "Cricket_X": "CricketX",
    "Cricket_Y": "CricketY",
    "Cricket_Z": "CricketZ",
    "CinC_ECG_torso": "CinCECGTorso",
    "FISH": "Fish",
    "Gun_Point": "GunPoint",
    "Lighting2": "Lightning2",
    "Lighting7": "Lightning7",
    "MALLAT": "Mallat",
    "NonInvasiveFatalECG_Thorax1": "NonInvasiveFetalECGThorax1",
    "NonInvasiveFatalECG_Thorax2": "NonInvasiveFetalECGThorax2",
    "SonyAIBORobotSurface": "SonyAIBORobotSurface1",
    "SonyAIBORobotSurfaceII": "SonyAIBORobotSurface2",
    "synthetic_control": "SyntheticControl",
    "Two_Patterns": "TwoPatterns",
    "uWaveGestureLibrary_X": "UWaveGestureLibraryX",
    "uWaveGestureLibrary_Y": "UWaveGestureLibraryY",
    "uWaveGestureLibrary_Z": "UWaveGestureLibraryZ",
    "wafer": "Wafer",
    "WordsSynonyms": "WordSynonyms",
    "yoga": "Yoga",
}
ALIASES_2018_TO_2015 = {v: k for k, v in ALIASES_2015_TO_2018.items()}


def name_candidates(name: str) -> list[str]:
    """The names a dataset may be stored under: itself, then its 2018 or 2015 alias."""
    names = [name]
    for table in (ALIASES_2015_TO_2018, ALIASES_2018_TO_2015):
        for key, value in table.items():
            if key.lower() == name.lower() and value not in names:
                names.append(value)
    return names


def canonical_name(name: str) -> str:
    """The UCR 2018 name of a dataset (2015 names are translated; unknown names pass through)."""
    for key, value in ALIASES_2015_TO_2018.items():
        if key.lower() == name.lower():
            return value
    return name


@dataclass
class Dataset:
    """One preprocessed dataset. X: float32 (n, channels, length), zero-padded; lengths: (n,)."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    len_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    len_test: np.ndarray | None
    classes: list = field(default_factory=list)
    train_file: str = ""  # the file its training split was read from

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return self.X_train.shape[1]

    @property
    def equal_length(self) -> bool:
        lengths = [self.len_train] + ([self.len_test] if self.len_test is not None else [])
        return all(np.all(ls == ls[0]) for ls in lengths) and len({int(ls[0]) for ls in lengths}) == 1

    def fingerprint(self) -> str:
        """A hash of the preprocessed training data and labels (for caches keyed by content)."""
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train, self.len_train):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(repr(self.classes).encode())
        return h.hexdigest()[:16]


@dataclass
class Split:
    """A split as read from disk, before preprocessing: one (channels, length) array per series.

    `labels` are parsed for this file alone; `label_tokens` keep the text so that a dataset types its
    labels once over train and test together (see `build_dataset`). A file read without labels has None."""

    series: list[np.ndarray]
    labels: np.ndarray | None
    path: Path
    label_tokens: list[str] | None = None


@dataclass(frozen=True)
class Layout:
    """How a delimited file of one's own is laid out (UCR's: the label first, no header row).

    `label`: "first", "last", "none" (no label column) or a column number from 1; `header`: "auto" (a first row
    whose values are all non-numbers is a header of names, skipped), "yes" (skip the first row) or "no"."""

    label: str | int = "first"
    header: str = "auto"

    @classmethod
    def parse(cls, label="first", header="auto") -> Layout:
        """The options as given (`--label-column first|last|N`, `--header auto|yes|no`), checked."""
        if isinstance(label, str) and label.strip().isdigit():
            label = int(label)
        if isinstance(label, bool) or not (label in ("first", "last", "none") or (isinstance(label, int)
                                                                                 and 1 <= label <= 1_000_000)):
            raise TSTransferError(f"--label-column {str(label)[:40]}: give first, last or a column number from 1")
        if header not in ("auto", "yes", "no"):
            raise TSTransferError(f"--header {str(header)[:40]}: give auto, yes or no")
        return cls(label, header)

    def column(self, width: int, path) -> int | None:
        """The label's 0-based column in rows of `width` fields (None: no label column)."""
        if self.label == "none":
            return None
        col = {"first": 0, "last": width - 1}.get(self.label, self.label - 1 if isinstance(self.label, int) else 0)
        if not 0 <= col < width:
            raise TSTransferError(f"{path}: --label-column {self.label}: its rows have {width} columns")
        return col


UCR = Layout()  # the archives' files: the label first (a header row of names is skipped when there is one)

# ----------------------------------------------------------------------------- file readers


def _parse_label(token: str):
    try:
        value = float(token)
    except ValueError:
        return token.strip()
    return int(value) if value.is_integer() else value


def parse_labels(tokens) -> np.ndarray:
    """Labels as numbers when they all are (1.0 -> 1), else as strings."""
    parsed = [_parse_label(str(t)) for t in tokens]
    if all(isinstance(p, (int, float)) for p in parsed):
        return np.asarray(parsed)
    return np.asarray([str(t).strip() for t in tokens], dtype=object)


def _separator(line: str) -> str | None:
    """The UCR layouts' separator, from one line: a tab (2018), a comma (2015, .csv), else whitespace."""
    return "\t" if "\t" in line else "," if "," in line else None


def _split_line(line: str, sep: str | None) -> list[str]:
    return line.strip().split(sep) if sep is None else line.rstrip("\r\n").split(sep)


def _open_text(path: Path, errors: str = "replace"):
    """A data file as text: UTF-8, a byte-order mark at its start dropped (Excel and Notepad write one; it must not
    become part of the first label)."""
    return open(path, encoding="utf-8-sig", errors=errors)


def _row_fields(line: str, sep: str | None) -> tuple[int, str, int]:
    """(fields, the first field, trailing missing fields: NaN or empty, the padding of a shorter series) of one row.
    With a separator the row is counted, not split: a row of millions of values never becomes millions of
    strings (2 rows of 2.5 M values cost 9x their file size that way)."""
    if sep is None:
        tokens = line.split()
        end = len(tokens)
        while end > 1 and tokens[end - 1].lower() == "nan":
            end -= 1
        return len(tokens), tokens[0] if tokens else "", len(tokens) - end
    body = line.rstrip("\r\n")
    width = body.count(sep) + 1
    trailing, end = 0, len(body)
    while trailing < width - 1:
        start = body.rfind(sep, 0, end)
        if body[start + 1:end].strip().lower() not in ("nan", ""):
            break
        trailing, end = trailing + 1, start
    return width, body.split(sep, 1)[0], trailing


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_header(line: str, sep: str | None) -> bool:
    """A row of names (t1, t2, ..., label): every field but at most one (the label's) is not a number. Judged on
    its first 64 fields (a row of millions of values is never split whole)."""
    head = line[:8192]
    tokens = [t.strip() for t in _split_line(head, sep)]
    if len(head) < len(line):
        tokens = tokens[:-1]  # the last one may be cut
    tokens = tokens[:64]
    names = sum(1 for t in tokens if t and not _is_number(t))
    return len(tokens) >= 3 and names >= len(tokens) - 1


def _label_field(line: str, sep: str | None, col: int, width: int) -> str:
    """Field `col` of a row, without splitting a wide row into all its fields when the label is first or last."""
    if col == 0:
        return line.strip().split(sep, 1)[0] if sep is None else line.split(sep, 1)[0]
    if col == width - 1:
        return line.rstrip("\r\n").rsplit(sep, 1)[-1]
    return _split_line(line, sep)[col]


def _values_text(line: str, sep: str | None, col: int | None, width: int) -> str:
    """A row without its label field, as text for the number parser."""
    if col is None:
        return line
    if col == 0:
        parts = line.strip().split(sep, 1) if sep is None else line.split(sep, 1)
        return parts[1] if len(parts) > 1 else ""
    if col == width - 1:
        return line.rstrip("\r\n").rsplit(sep, 1)[0]
    parts = _split_line(line, sep)
    return (sep or " ").join(parts[:col] + parts[col + 1:])


def _scan_rows(path: Path, layout: Layout) -> tuple[str | None, int, list[str], str, int]:
    """One streaming pass over a delimited file (a line at a time): its separator, its width (fields per row;
    ragged rows refused), the label field of every row (when it has one), its first line, and how many rows
    lead it as a header (0 or 1)."""
    sep, width, labels, first_line, skip, col = None, None, [], "", 0, None
    try:
        with _open_text(path, errors="strict") as f:
            for line in f:
                if not line.strip():
                    continue
                if not first_line:
                    sep, first_line = _separator(line), line.strip()[:200] or " "
                    if layout.header == "yes" or (layout.header == "auto" and _is_header(line, sep)):
                        skip = 1
                        continue
                fields = _row_fields(line, sep)[0]
                if width is None:
                    width = fields
                    col = layout.column(width, path)
                elif fields != width:
                    raise TSTransferError(
                        f"{path}: ragged rows: line {len(labels) + 1 + skip} has a different number of values than "
                        f"line {1 + skip} (variable-length series must be right-padded with NaN)")
                labels.append(_label_field(line, sep, col, width).strip() if col is not None else "")
    except (OSError, UnicodeDecodeError) as err:
        raise TSTransferError(f"{path}: cannot read file ({err})") from None
    if width is None:
        raise TSTransferError(f"{path}: the file has no rows" + (" below its header" if skip else ""))
    return sep, width, labels, first_line, skip


def _first_non_number(path: Path, sep: str | None, col: int | None, width: int, skip: int) -> TSTransferError:
    """The error for the first token of a file that is not a number (line and column), found a line at a time."""
    with _open_text(path) as f:
        rows = (line for line in f if line.strip())
        for i, line in enumerate(rows):
            if i < skip:
                continue
            for j, token in enumerate(_split_line(line, sep)):
                if j == col:
                    continue
                if not _is_number(token):
                    hint = ""
                    if i == 0 and _is_header(line, sep):
                        hint = " (line 1 looks like a header of names: give --header yes, or auto)"
                    elif col == 0 and j == len(_split_line(line, sep)) - 1:
                        hint = " (is the label in the last column? give --label-column last)"
                    return TSTransferError(f"{path}: line {i + 1}, column {j + 1}: {token[:40]!r} is not a "
                                           f"number{hint}")
    return TSTransferError(f"{path}: a value could not be read as a number")


def _parse_values(path: Path, sep: str | None, col: int | None, rows: int, width: int, skip: int) -> np.ndarray:
    """The values of a delimited file, a line at a time into one preallocated float64 array: 8 bytes a value and
    nothing else held (a 42 MB file no longer costs a gigabyte of token objects)."""
    n_values = width - (col is not None)
    values = np.empty((rows, n_values), dtype=np.float64)
    i, seen = 0, 0
    with _open_text(path) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fromstring's note on a token it cannot read
        for line in f:
            if not line.strip():
                continue
            seen += 1
            if seen <= skip:
                continue
            try:
                row = np.fromstring(_values_text(line, sep, col, width), dtype=np.float64, sep=sep or " ")
            except ValueError:
                row = None
            if row is None or row.size != n_values:  # a token that is not a number stops the parse
                raise _first_non_number(path, sep, col, width, skip)
            values[i] = row
            i += 1
    return values


def read_delimited(path: Path, labels: str = "first", layout: Layout | None = None) -> Split:
    """A UCR 2018 (.tsv), UCR 2015 (comma) or plain .csv file: one series per row, with a label column where
    `layout` says (default: first; `labels="none"`: no label column) and perhaps a header row. Two passes a line
    at a time: the shape and the labels, then the values straight into one float64 array."""
    layout = layout or (Layout("none") if labels == "none" else UCR)
    sep, width, tokens, first_line, skip = _scan_rows(path, layout)
    col = layout.column(width, path)
    if width < (col is not None) + 1:
        said = {"\t": "tabs", ",": "commas", None: "whitespace"}[sep]
        raise TSTransferError(f"{path}: each row needs a label and at least one value, separated by {said} (tabs: "
                              "UCR 2018, commas: UCR 2015/.csv); line 1 is one field: "
                              f"{first_line_preview(first_line)}")
    values = _parse_values(path, sep, col, len(tokens), width, skip)
    check_finite_values(values, path, column_offset=1 if col == 0 else 0, line_offset=skip)
    if col is None:
        return Split([row[None, :] for row in values], None, path)
    return Split([row[None, :] for row in values], parse_labels(tokens), path, tokens)


def check_finite_values(values: np.ndarray, where, column_offset: int = 0, line_offset: int = 0) -> None:
    """Refuse infinite values (NaN is allowed: missing values and the padding of shorter series)."""
    bad = np.isinf(values)
    if bad.any():
        i, j = np.argwhere(bad)[0][:2]
        raise TSTransferError(f"{where}: line {i + 1 + line_offset}, column {j + 1 + column_offset}: {values[i, j]} "
                              "is not a finite number (only NaN may mark a missing value)")


def read_ts(path: Path) -> Split:
    """A `.ts` file (sktime/aeon format), read with aeon's reader; multivariate allowed."""
    from aeon.datasets import load_from_ts_file  # aeon loads numba: seconds

    try:
        X, y = load_from_ts_file(str(path))
    except Exception as err:  # aeon raises IOError/ValueError/TypeError for malformed files
        raise TSTransferError(f"{path}: not a readable .ts file ({err})") from None
    if not len(X) or any(np.size(x) == 0 for x in X):
        raise TSTransferError(f"{path}: a .ts file whose series hold no values (are its header fields and @data "
                              "there?)")
    series = [np.asarray(x, dtype=np.float64).reshape(np.shape(x)[0], -1) for x in X]
    for i, x in enumerate(series):
        if np.isinf(x).any():
            raise TSTransferError(f"{path}: series {i + 1} holds an infinite value (only NaN may mark a missing "
                                  "value)")
    tokens = [str(t).strip() for t in y]
    declared = _declared_labels(path)
    undeclared = sorted({t for t in tokens if declared is not None and t not in declared})
    if undeclared:
        said = ", ".join(shown(t) for t in undeclared[:10])
        raise TSTransferError(f"{path}: labels [{said}] are not declared in its @classLabel line")
    return Split(series, parse_labels(tokens), path, tokens)


def _declared_labels(path: Path) -> set[str] | None:
    """The class labels a .ts header declares (`@classLabel true a b c`), None when it declares none."""
    with _open_text(path) as f:
        for line in f:
            words = line.strip().split()
            if words and words[0].lower() == "@data":
                return None
            if len(words) >= 2 and words[0].lower() == "@classlabel" and words[1].lower() == "true":
                return set(words[2:])
    return None


def read_split(path: str | Path, labels: str = "first", layout: Layout | None = None) -> Split:
    """Read one split file; the format is detected from the name and content. `labels`: "first" (the
    first column is the label, UCR's layout) or "none" (every column is a value; not for .ts files); `layout`
    (delimited files): another label column and header row (`Layout`)."""
    path = Path(path)
    if not path.exists():
        raise TSTransferError(f"{path}: no such file")
    if path.is_dir():
        raise TSTransferError(f"{path}: is a folder, expected a data file")
    split = read_ts(path) if path.suffix.lower() == ".ts" else read_delimited(path, labels, layout)
    if len(split.series) == 0:
        raise TSTransferError(f"{path}: the file has no rows")
    return split


# ----------------------------------------------------------------------------- preprocessing


def _clean_series(x: np.ndarray, where: str) -> np.ndarray:
    """Trim trailing NaN, interpolate inner gaps, z-normalise. x: (channels, length)."""
    valid = ~np.isnan(x).all(axis=0)
    if not valid.any():
        raise TSTransferError(f"{where}: the series is all missing (NaN)")
    x = x[:, : int(np.nonzero(valid)[0][-1]) + 1]
    out = np.empty_like(x)
    t = np.arange(x.shape[1])
    for c, row in enumerate(x):
        ok = ~np.isnan(row)
        if not ok.any():
            raise TSTransferError(f"{where}: channel {c} is all missing (NaN)")
        out[c] = np.interp(t, t[ok], row[ok]) if not ok.all() else row
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # handled just below
        mean = out.mean(axis=1, keepdims=True)
        std = out.std(axis=1, keepdims=True)
        scale = np.abs(out - mean).max(axis=1, keepdims=True)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()) or ((std < 1e-100) & (scale > 0)).any():
        # values near the float64 limits overflow (1e200) or underflow (1e-200) the square in the std:
        # z-normalisation does not depend on the scale, so divide by the largest magnitude first (only here: usual
        # data keep their exact bits)
        out = out / np.abs(out).max(axis=1, keepdims=True)
        mean, std = out.mean(axis=1, keepdims=True), out.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (out - mean) / std


def preprocess(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Apply PREPROCESSING to every series: returns X (n, C, L_max) float32 and lengths (n,)."""
    channels = {s.shape[0] for s in split.series}
    if len(channels) > 1:
        raise TSTransferError(f"{split.path}: series have different numbers of channels {sorted(channels)}")
    lengths = np.array([_length(s) for s in split.series], dtype=np.int64)
    if lengths.max() < 2:
        raise TSTransferError(f"{split.path}: every series has a single value; a time series needs at least 2 "
                              "(is the file transposed, one series per column?)")
    # one float32 array, filled a series at a time: no second copy of the data at any point
    X = np.zeros((len(split.series), channels.pop(), int(lengths.max())), dtype=np.float32)
    for i, s in enumerate(split.series):
        X[i, :, : lengths[i]] = _clean_series(s, f"{split.path}, series {i + 1}")
    return X, lengths


def _length(x: np.ndarray) -> int:
    """A series' length once its trailing NaN (the padding of shorter series) are trimmed."""
    valid = np.flatnonzero(~np.isnan(x).all(axis=0))
    return int(valid[-1]) + 1 if valid.size else 0


def _sort_key(label):
    return (0, label, "") if isinstance(label, (int, float, np.integer, np.floating)) else (1, 0, str(label))


def _to_python(label):
    return label.item() if isinstance(label, np.generic) else label


def encode_labels(train: Split, test: Split | None) -> tuple[list, np.ndarray, np.ndarray | None]:
    """Classes (sorted training labels), encoded train labels, encoded test labels."""
    for split in (train, test):
        if split is None:
            continue
        if split.labels is None:
            raise TSTransferError(f"{split.path}: read without labels; a dataset needs its label column")
        for i, v in enumerate(split.labels):
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                raise TSTransferError(f"{split.path}: line {i + 1}: the label {v} is not a class label "
                                      "(missing or infinite)")
            if isinstance(v, str) and not v:
                raise TSTransferError(f"{split.path}: line {i + 1}: the label is empty")
    classes = sorted({_to_python(v) for v in train.labels}, key=_sort_key)
    if len(classes) < 2:
        raise TSTransferError(f"{train.path}: a classification split needs at least 2 classes, found "
                              f"[{', '.join(shown(c) for c in classes)}]")
    index = {c: i for i, c in enumerate(classes)}
    y_train = np.array([index[_to_python(v)] for v in train.labels], dtype=np.int64)
    y_test = None
    if test is not None:
        unseen = sorted({_to_python(v) for v in test.labels} - set(classes), key=_sort_key)
        if unseen:
            said = ", ".join(shown(u) for u in unseen[:10])
            raise TSTransferError(f"{test.path}: test labels [{said}] do not occur in the training split")
        y_test = np.array([index[_to_python(v)] for v in test.labels], dtype=np.int64)
    return classes, y_train, y_test


def type_labels_together(train: Split, test: Split | None) -> tuple[Split, Split | None]:
    """Labels typed once per dataset: numbers only when every label of train and test is a number, so
    training labels {1, 2, x} and test labels {1, 2} are all strings, as they must be to match."""
    if test is None or train.label_tokens is None or test.label_tokens is None:
        return train, test
    both = parse_labels(train.label_tokens + test.label_tokens)
    n = len(train.label_tokens)
    return replace(train, labels=both[:n]), replace(test, labels=both[n:])


def build_dataset(name: str, train: Split, test: Split | None) -> Dataset:
    """Preprocess and label-encode a train (and optional test) split into a Dataset."""
    train, test = type_labels_together(train, test)
    classes, y_train, y_test = encode_labels(train, test)
    X_train, len_train = preprocess(train)
    X_test = len_test = None
    if test is not None:
        X_test, len_test = preprocess(test)
        if X_test.shape[1] != X_train.shape[1]:
            raise TSTransferError(
                f"{test.path}: {X_test.shape[1]} channels, but the training split has {X_train.shape[1]}"
            )
    return Dataset(name, X_train, y_train, len_train, X_test, y_test, len_test, classes, str(train.path))


# ----------------------------------------------------------------------------- archives

_LAYOUTS = (("ucr2018", ".tsv"), ("ts", ".ts"), ("ucr2015", ""), ("csv", ".csv"))


def data_fingerprint(train: Path, test: Path | None) -> str:
    """sha256 of a dataset's files (train, then test): what the model was trained on, byte for byte."""
    h = hashlib.sha256()
    for path in (train, test):
        if path is not None:
            h.update(bytes.fromhex(sha256_file(path)))
    return h.hexdigest()


def find_dataset(name: str, archive: str | Path) -> tuple[str, str, Path, Path | None]:
    """Locate a dataset in an archive folder: (stored name, layout, train file, test file or None)."""
    root = Path(archive)
    if not root.is_dir():
        raise TSTransferError(f"--archive {root}: no such folder")
    folders = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for candidate in name_candidates(name):
        folder = folders.get(candidate.lower())
        if folder is None:
            continue
        for layout, suffix in _LAYOUTS:
            for stem in (folder.name, candidate):
                train = folder / f"{stem}_TRAIN{suffix}"
                if train.is_file():
                    test = folder / f"{stem}_TEST{suffix}"
                    return folder.name, layout, train, test if test.is_file() else None
        raise TSTransferError(f"{folder}: no {folder.name}_TRAIN(.tsv|.ts|.csv) file in the dataset folder")
    raise TSTransferError(f"dataset {name!r} not found in archive {root}{did_you_mean(name, list_archive(root))}; "
                          f"`tstransfer datasets --archive {root}` lists them")


def test_labels(name: str, archive: str | Path) -> list[str] | None:
    """The labels of a dataset's test split as text, read without parsing its values (None without a test
    split): enough for the majority-class rate."""
    _, _, _, test = find_dataset(name, archive)
    if test is None:
        return None
    if test.suffix.lower() == ".ts":
        return [str(label) for label in read_split(test).labels.tolist()]
    return _scan_rows(test, UCR)[2]  # the first field of every row


def first_line_preview(line: str, limit: int = 60) -> str:
    return repr(line[:limit] + ("..." if len(line) > limit else ""))


def did_you_mean(name: str, known: list[str]) -> str:
    """", did you mean X?" for the closest known name (any case), else ""."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def load_dataset(name: str, archive: str | Path = MINI_ARCHIVE) -> Dataset:
    """Load and preprocess a dataset by name (UCR 2015 or 2018 name) from an archive folder."""
    stored, _, train_path, test_path = find_dataset(name, archive)
    train = read_split(train_path)
    test = read_split(test_path) if test_path is not None else None
    return build_dataset(canonical_name(stored), train, test)


def load_files(train: str | Path, test: str | Path | None = None, name: str | None = None,
               label_column: str | int = "first", header: str = "auto") -> Dataset:
    """Load a user's own dataset from a train file (and optional test file), or from a dataset folder.
    `label_column` (first, last, or a column number from 1) and `header` (auto, yes, no): the files' layout
    (`Layout`). Labels that cannot be classes (continuous values, one class per series) are refused, naming the
    option to try, before anything else is done with them."""
    layout = Layout.parse(label_column, header)
    if layout.label == "none":
        raise TSTransferError("--label-column none: a labelled file is needed here (its classes are learned)")
    train = Path(train)
    if train.is_dir():
        stored, _, train_path, test_path = find_dataset(train.name, train.parent)
        return load_files(train_path, test if test is not None else test_path, name or stored, label_column, header)
    name = name or train.name.split("_TRAIN")[0].split(".")[0]
    train_split = read_split(train, layout=layout)
    check_labels_are_classes(train_split, layout)
    return build_dataset(name, train_split, read_split(test, layout=layout) if test is not None else None)


# one class per series from this many series on is not a classification task (UCR's Fungi has 18 and 18)
MIN_SERIES_FOR_CLASS_CHECK = 20


def check_labels_are_classes(split: Split, layout: Layout) -> None:
    """Refuse labels that look like values: non-integer numbers, most of them distinct, or as many classes as
    series (from 20 series); the usual cause is a label in another column or a header row, so say which option
    to try. Cheap, and before anything expensive (a DBA over 500 "classes" took 35 minutes)."""
    labels = split.labels
    if labels is None or len(labels) == 0:
        return
    values = labels.tolist()
    if labels.dtype != object:  # NaN labels are refused where the labels are encoded, with their line
        values = [v for v in values if v == v]
    n, distinct = len(values), len(set(values))
    fractional = labels.dtype != object and any(v % 1 != 0 for v in values)
    if (fractional and distinct > n / 2) or (n >= MIN_SERIES_FOR_CLASS_CHECK and distinct == n):
        other = "--label-column last" if layout.label == "first" else "--label-column first"
        sample = ", ".join(shown(v, 16) for v in values[:3])
        raise TSTransferError(f"{split.path}: {distinct} classes for {n} series (labels {sample}, ...): these look "
                              f"like values, not classes. Is the label in another column? Try {other} (or a column "
                              "number), and --header yes if the first row holds names")


def list_archive(archive: str | Path) -> list[str]:
    """Names of the datasets in an archive folder (folders holding a *_TRAIN file), sorted."""
    root = Path(archive)
    if not root.is_dir():
        raise TSTransferError(f"--archive {root}: no such folder")
    names = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and any(p.name.startswith(f"{folder.name}_TRAIN") for p in folder.iterdir()):
            names.append(folder.name)
    return names


@dataclass
class DatasetInfo:
    name: str
    layout: str
    n_train: int
    n_test: int
    length: str
    classes: int
    channels: int


def _scan_delimited(path: Path) -> tuple[int, int, int, set]:
    """(rows, shortest, longest series, labels) of a delimited split without parsing its numbers: trailing
    NaN tokens are the padding of shorter series. Ragged rows or an empty file are a TSTransferError."""
    rows, lengths, labels, width = 0, [], set(), None
    try:
        with _open_text(path, errors="strict") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fields, first, missing = _row_fields(line, _separator(line))
                if width is None:
                    width = fields
                elif fields != width:
                    raise TSTransferError(f"{path}: ragged rows: line {number} has a different number of values "
                                          "than line 1")
                labels.add(first.strip())
                lengths.append(fields - missing - 1)
                rows += 1
    except (OSError, UnicodeDecodeError) as err:
        raise TSTransferError(f"{path}: cannot read file ({err})") from None
    if not rows or width < 2:
        raise TSTransferError(f"{path}: no rows with a label and values")
    return rows, min(lengths), max(lengths), labels


def describe_dataset(name: str, archive: str | Path) -> DatasetInfo:
    """A dataset's facts, cheaply: delimited files are scanned (labels, lengths), not parsed; `.ts` files
    are read."""
    stored, layout, train, test = find_dataset(name, archive)
    if layout != "ts":
        n_train, short, long, labels = _scan_delimited(train)
        n_test = 0
        if test is not None:
            n_test, short_test, long_test, _ = _scan_delimited(test)
            short, long = min(short, short_test), max(long, long_test)
        return DatasetInfo(stored, layout, n_train, n_test, str(long) if short == long else f"{short}-{long}",
                           len(labels), 1)
    ds = load_dataset(name, archive)
    lengths = np.concatenate([ds.len_train] + ([ds.len_test] if ds.len_test is not None else []))
    length = str(lengths.min()) if lengths.min() == lengths.max() else f"{lengths.min()}-{lengths.max()}"
    return DatasetInfo(stored, layout, len(ds.y_train), 0 if ds.y_test is None else len(ds.y_test), length,
                       ds.n_classes, ds.in_channels)


def describe_archive(archive: str | Path, problems: dict[str, str] | None = None,
                     progress: bool = False) -> list[DatasetInfo]:
    """One DatasetInfo per dataset of the archive (see `describe_dataset`), with a progress bar. With
    `problems`, a dataset that cannot be read is recorded there (name -> reason) and the others described."""
    infos = []
    for name in tqdm(list_archive(archive), desc="datasets", unit="dataset", disable=not progress, leave=False):
        try:
            infos.append(describe_dataset(name, archive))
        except TSTransferError as err:
            if problems is None:
                raise
            problems[name] = str(err)
    return infos


def download_dataset(name: str, archive: str | Path, timeout: float = 10.0) -> Path:
    """Download a dataset by name with aeon's loader into `<archive>/<Name>/` (as .ts files).

    Downloads into a temporary folder inside the archive and renames it into place only when
    complete, so a failure (e.g. no network) leaves nothing behind.
    """
    from aeon.datasets import load_classification  # aeon loads numba: seconds

    from .download import bounded_opener, check_timeout

    safe_name(name, "--download")
    timeout = check_timeout(timeout)
    root = check_writable_dir(archive, "--archive")
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    if target.exists():
        raise TSTransferError(f"{target}: already exists; remove it to download {name} again")
    tmp = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=root))
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # connect and each read
    urllib.request.install_opener(bounded_opener(timeout))  # aeon fetches with urllib: headers within the timeout
    try:
        load_classification(name, extract_path=str(tmp))
        fetched = tmp / name
        if not fetched.is_dir():
            raise TSTransferError(f"download of {name!r} produced no {name} folder")
        os.replace(fetched, target)
    except TSTransferError:
        raise
    except Exception as err:  # network errors surface as URLError/ValueError/OSError from aeon
        raise TSTransferError(f"cannot download dataset {name!r}: {err}") from None
    finally:
        socket.setdefaulttimeout(previous)
        urllib.request.install_opener(None)
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _peek_delimited(path: Path) -> tuple[int, int]:
    """(rows, values per row) of a delimited split from its text, without parsing the numbers."""
    rows, width = 0, 0
    with _open_text(path) as f:
        for line in f:
            if line.strip():
                if rows == 0:
                    width = _row_fields(line, _separator(line))[0] - 1
                rows += 1
    return rows, width


def dataset_shape(name: str, archive: str | Path) -> dict:
    """n_train, n_test, length (the longest) and channels of a dataset, cheaply: delimited files are only
    counted, not parsed (`.ts` files are read)."""
    _, layout, train, test = find_dataset(name, archive)
    if layout == "ts":
        ds = load_dataset(name, archive)
        return {"n_train": len(ds.y_train), "n_test": 0 if ds.y_test is None else len(ds.y_test),
                "length": int(ds.X_train.shape[-1]), "channels": ds.in_channels}
    n_train, length = _peek_delimited(train)
    n_test = _peek_delimited(test)[0] if test is not None else 0
    return {"n_train": n_train, "n_test": n_test, "length": length, "channels": 1}


def _numeric(a, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TSTransferError(f"{where}: values must be real numbers, got {a.dtype} data")
    return a.astype(np.float64)


def series_from_arrays(X, where: str = "X") -> list[np.ndarray]:
    """Series given in Python as a list of (channels, length) float64 arrays.

    X: one series (1-D), (n, length), (n, channels, length), or a list of 1-D / (channels, length) series of
    unequal lengths. Any int or float dtype. NaN marks missing values or padding; infinity is refused."""
    series = None
    if isinstance(X, (list, tuple)):
        try:
            X = np.asarray(X, dtype=np.float64)
        except (ValueError, TypeError):  # ragged: one array per series
            items = [_numeric(x, where) for x in X]
            series = [x[None, :] if x.ndim == 1 else x for x in items]
            if any(x.ndim != 2 for x in series):
                raise TSTransferError(f"{where}: each series must be 1-D (length) or 2-D (channels, "
                                      "length)") from None
    if series is None:
        arr = _numeric(X, where)
        if arr.ndim == 1:
            arr = arr[None, None, :]
        elif arr.ndim == 2:
            arr = arr[:, None, :]
        elif arr.ndim != 3:
            raise TSTransferError(f"{where}: expected one series, (n, length) or (n, channels, length), got shape "
                                  f"{arr.shape}")
        series = list(arr)
    if not series or any(x.shape[-1] == 0 for x in series):
        raise TSTransferError(f"{where}: no series (or a series of length 0)")
    for i, x in enumerate(series):
        if np.isinf(x).any():
            raise TSTransferError(f"{where}: series {i + 1} holds an infinite value (only NaN may mark a missing "
                                  "value)")
    return series


def label_column(path: str | Path, classes: list, length: int | None, header: str = "auto") -> str | None:
    """Whether a delimited file to predict has a label column, when its width makes that certain:
    "first" when each row is one value longer than the model's training length and every first value is
    one of its classes; "none" when rows are exactly that length and some first value is not a class;
    None (ambiguous: the user must say) otherwise. `.ts` files declare their labels themselves. A header row
    (`header`, see `Layout`) is not a row."""
    path = Path(path)
    if not path.is_file():
        raise TSTransferError(f"{path}: no such file")
    if path.suffix.lower() == ".ts":
        return "first"
    if not length:
        return None
    firsts, width, first = [], None, True
    with _open_text(path) as f:
        for line in f:
            if line.strip():
                sep = _separator(line)
                if first and (header == "yes" or (header == "auto" and _is_header(line, sep))):
                    first = False
                    continue
                first = False
                fields, label, _ = _row_fields(line, sep)
                width = width or fields
                firsts.append(label.strip())
    known = {repr(c) for c in classes}
    are_classes = [repr(v) in known for v in parse_labels(firsts).tolist()] if firsts else [False]
    if width == length + 1 and all(are_classes):
        return "first"
    if width == length and not all(are_classes):
        return "none"
    return None


def is_path(spec: str) -> bool:
    """The rule for a dataset argument: a path has a path separator or a data-file suffix; anything else
    is the name of a dataset in the archive (a folder of the current directory never shadows it)."""
    return "/" in spec or os.sep in spec or spec in (".", "..") or \
        Path(spec).suffix.lower() in (".tsv", ".csv", ".ts", ".txt")


def default_archive() -> str:
    """$TSTRANSFER_ARCHIVE, else the mini archive shipped with tstransfer."""
    return os.environ.get("TSTRANSFER_ARCHIVE", str(MINI_ARCHIVE))


def dataset_from_spec(spec: str, archive: str | Path, label_column: str | int = "first",
                      header: str = "auto") -> Dataset:
    """A dataset argument (`is_path`): a dataset named in the archive, or the user's own file or folder (laid out
    as `label_column` and `header` say: `load_files`)."""
    if is_path(spec):
        return load_files(spec, label_column=label_column, header=header)
    try:
        return load_dataset(spec, archive)
    except TSTransferError as err:
        if Path(spec).exists():
            raise TSTransferError(f"{err}; to use the folder {spec!r} of the current directory, write ./{spec}") \
                from None
        raise


def resolve_names(names: list[str], archive: str | Path) -> list[str]:
    """Dataset names as the study keys them: found in the archive (any case, 2015 or 2018 name) and
    canonicalised, duplicates dropped, so `chinatown Chinatown` is one dataset."""
    return list(dict.fromkeys(canonical_name(find_dataset(n, archive)[0]) for n in names))


@functools.cache
def ucr_summary():
    """The official UCR 2018 table (name -> type, n_train, n_test, classes, length), read once."""
    import pandas as pd

    return pd.read_csv(UCR_SUMMARY, index_col="name", dtype=str)


def archive_datasets(archives: list[str | Path], names: list[str] | None = None, exclude=(),
                     domain: str | None = None) -> list[tuple[str, Path]]:
    """(dataset, its archive) for every dataset of the archives (or `names`, found in them), less `exclude`, and
    with `domain` only those of that UCR type (the official summary's, any case). A dataset found in two archives
    is refused: which copy is meant is not for tstransfer to guess."""
    found: dict[str, list[Path]] = {}
    for archive in archives:
        for name in list_archive(archive):
            found.setdefault(canonical_name(name), []).append(Path(archive))
    wanted = [canonical_name(n) for n in names] if names else list(found)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise TSTransferError(f"--datasets: {shown(missing[0])} is in none of the archives "
                              f"({', '.join(str(a) for a in archives)}){did_you_mean(missing[0], list(found))}")
    twice = [n for n in wanted if len(found[n]) > 1]
    if twice:
        raise TSTransferError(f"--archive: {shown(twice[0])} is in {found[twice[0]][0]} and in {found[twice[0]][1]}; "
                              "give it once (leave one archive out, or --exclude it and add it back from one)")
    left_out = {canonical_name(n) for n in exclude}
    chosen = [n for n in dict.fromkeys(wanted) if n not in left_out]
    if domain:
        types = ucr_summary()["type"].str.lower()
        known = sorted(set(ucr_summary()["type"]))
        if domain.lower() not in set(types):
            raise TSTransferError(f"--domain {shown(domain)}: not a type of the UCR summary; known: {', '.join(known)}")
        chosen = [n for n in chosen if n in types.index and types[n] == domain.lower()]
    if not chosen:
        raise TSTransferError("--datasets: no dataset left to pre-train on (after --exclude and --domain)")
    return [(n, found[n][0]) for n in chosen]
