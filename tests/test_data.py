"""Archive reading: the three layouts, aliases, preprocessing, variable length and bad input."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from conftest import toy_rows, write_ucr2018
from tstransfer.data import (
    canonical_name,
    describe_archive,
    download_dataset,
    find_dataset,
    list_archive,
    load_dataset,
    load_files,
    read_split,
)
from tstransfer.errors import TSTransferError


def test_mini_archive_has_six_real_datasets(mini_archive):
    infos = {i.name: i for i in describe_archive(mini_archive)}
    assert len(infos) >= 6
    gun = infos["GunPoint"]
    assert (gun.n_train, gun.n_test, gun.length, gun.classes, gun.layout) == (50, 150, "150", 2, "ucr2018")
    assert infos["SyntheticControl"].classes == 6


def test_ucr2018_reading_znormalises_each_series(mini_archive):
    ds = load_dataset("GunPoint", mini_archive)
    assert ds.X_train.shape == (50, 1, 150) and ds.X_test.shape == (150, 1, 150)
    assert ds.X_train.dtype == np.float32
    np.testing.assert_allclose(ds.X_train.mean(axis=2), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X_train.std(axis=2), 1, atol=1e-4)
    assert ds.classes == [1, 2] and set(ds.y_train) == {0, 1}
    raw = np.loadtxt(mini_archive / "GunPoint" / "GunPoint_TRAIN.tsv", delimiter="\t")
    first = raw[0, 1:]
    np.testing.assert_allclose(ds.X_train[0, 0], (first - first.mean()) / first.std(), rtol=1e-5, atol=1e-5)
    assert ds.classes[ds.y_train[0]] == int(raw[0, 0])


def test_labels_minus_one_one_keep_their_values(mini_archive):
    ds = load_dataset("ECG200", mini_archive)
    assert ds.classes == [-1, 1]


def test_2015_names_find_2018_folders(mini_archive):
    assert canonical_name("Gun_Point") == "GunPoint"
    assert canonical_name("synthetic_control") == "SyntheticControl"
    assert load_dataset("Gun_Point", mini_archive).name == "GunPoint"
    assert load_dataset("SonyAIBORobotSurface", mini_archive).name == "SonyAIBORobotSurface1"


def test_ucr2015_layout_and_2018_name(tmp_path, mini_archive):
    """A 2015 archive (comma-separated, no extension, 2015 folder name) is found by the 2018 name."""
    src = mini_archive / "GunPoint"
    dst = tmp_path / "ucr2015" / "Gun_Point"
    dst.mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        rows = np.loadtxt(src / f"GunPoint_{split}.tsv", delimiter="\t")
        np.savetxt(dst / f"Gun_Point_{split}", rows, delimiter=",", fmt="%.8f")
    stored, layout, _, _ = find_dataset("GunPoint", tmp_path / "ucr2015")
    assert (stored, layout) == ("Gun_Point", "ucr2015")
    a = load_dataset("GunPoint", tmp_path / "ucr2015")
    b = load_dataset("GunPoint", mini_archive)
    assert a.name == "GunPoint"
    np.testing.assert_allclose(a.X_test, b.X_test, atol=1e-5)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def _write_ts(path, series, labels, equal_length=True):
    lines = ["@problemName toy", "@timeStamps false", "@missing false", "@univariate true",
             f"@equalLength {'true' if equal_length else 'false'}",
             f"@classLabel true {' '.join(sorted(set(labels)))}", "@data"]
    for s, label in zip(series, labels):
        lines.append(",".join(f"{v:.6f}" for v in s) + f":{label}")
    path.write_text("\n".join(lines) + "\n")


def test_ts_files_with_string_labels_and_unequal_length(tmp_path):
    rng = np.random.default_rng(0)
    series = [rng.standard_normal(n) for n in (20, 25, 30, 20, 22, 28)]
    labels = ["walk", "run", "walk", "run", "walk", "run"]
    folder = tmp_path / "arch" / "Moves"
    folder.mkdir(parents=True)
    _write_ts(folder / "Moves_TRAIN.ts", series, labels, equal_length=False)
    _write_ts(folder / "Moves_TEST.ts", series[:4], labels[:4], equal_length=False)
    ds = load_dataset("Moves", tmp_path / "arch")
    assert ds.classes == ["run", "walk"]
    assert list(ds.len_train) == [20, 25, 30, 20, 22, 28]
    assert ds.X_train.shape == (6, 1, 30)
    assert not ds.equal_length
    np.testing.assert_allclose(ds.X_train[0, 0, :20].mean(), 0, atol=1e-5)
    assert np.all(ds.X_train[0, 0, 20:] == 0)  # zero padding beyond the series' own length


def test_nan_padding_and_inner_gaps(tmp_path):
    """Trailing NaN = variable length (trimmed); inner NaN = missing values (interpolated)."""
    rows = toy_rows(3, 12)
    rows[0][-3:] = [math.nan] * 3  # length 9
    rows[1][4] = math.nan  # one inner gap
    rows[2][1] = math.nan  # a leading gap
    write_ucr2018(tmp_path, "Gappy", rows)
    ds = load_files(tmp_path / "Gappy" / "Gappy_TRAIN.tsv")
    assert ds.len_train[0] == 9 and ds.len_train[1] == 12
    assert not np.isnan(ds.X_train).any()
    raw = np.array(rows[1][1:], dtype=float)
    filled = raw.copy()
    filled[3] = (raw[2] + raw[4]) / 2
    np.testing.assert_allclose(ds.X_train[1, 0], (filled - filled.mean()) / filled.std(), atol=1e-5)
    raw = np.array(rows[2][1:], dtype=float)
    assert ds.X_train[2, 0, 0] == pytest.approx(ds.X_train[2, 0, 1])  # leading gap takes the first value


def test_constant_series_have_std_one(tmp_path):
    rows = [[1, 5, 5, 5, 5], [2, 1, 2, 3, 4]]
    write_ucr2018(tmp_path, "Flat", rows)
    ds = load_files(tmp_path / "Flat")
    np.testing.assert_array_equal(ds.X_train[0, 0], [0, 0, 0, 0])


def test_listing_only_counts_dataset_folders(tmp_path, mini_archive):
    shutil.copytree(mini_archive / "ECG200", tmp_path / "ECG200")
    (tmp_path / "notes").mkdir()
    assert list_archive(tmp_path) == ["ECG200"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "content, message",
    [
        ("1\t0.1\t0.2\n2\t0.3\n", "ragged rows: line 2"),
        ("1\t0.1\t0.2\n2\t0.3\tabc\n", "line 2, column 3: 'abc' is not a number"),
        ("", "no rows"),
        ("1\tNaN\tNaN\n2\t0.1\t0.2\n", "series 1: the series is all missing"),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path, content, message):
    path = tmp_path / "Bad_TRAIN.tsv"
    path.write_text(content)
    with pytest.raises(TSTransferError, match=message) as info:
        load_files(path)
    assert str(path) in str(info.value)


def test_one_class_split_is_refused(tmp_path):
    write_ucr2018(tmp_path, "One", [[1, 0.1, 0.2], [1, 0.3, 0.1]])
    with pytest.raises(TSTransferError, match="at least 2 classes"):
        load_dataset("One", tmp_path)


def test_unseen_test_labels_are_refused(tmp_path):
    write_ucr2018(tmp_path, "Unseen", toy_rows(2, 8, labels=(1, 2)), toy_rows(2, 8, labels=(1, 3)))
    with pytest.raises(TSTransferError, match=r"Unseen_TEST.tsv: test labels \[3\] do not occur"):
        load_dataset("Unseen", tmp_path)


def test_missing_archive_dataset_and_file(tmp_path, mini_archive):
    with pytest.raises(TSTransferError, match="no such folder"):
        load_dataset("GunPoint", tmp_path / "nowhere")
    with pytest.raises(TSTransferError, match="'Nope' not found in archive"):
        load_dataset("Nope", mini_archive)
    with pytest.raises(TSTransferError, match="no such file"):
        read_split(tmp_path / "missing.tsv")


def test_download_without_network_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    import socket
    import time

    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)  # as on a machine without internet
    start = time.monotonic()
    with pytest.raises(TSTransferError, match="cannot download dataset 'Beef'"):
        download_dataset("Beef", tmp_path, timeout=3)
    assert time.monotonic() - start < 30
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- files as people have them (issue 30)


def _gunpoint_rows(n: int = 30):
    from tstransfer.data import MINI_ARCHIVE, read_split

    split = read_split(MINI_ARCHIVE / "GunPoint" / "GunPoint_TRAIN.tsv")
    return split.labels[:n].tolist(), [s[0] for s in split.series[:n]]


@pytest.mark.parametrize("layout", ["header+last", "last", "first", "header+first", "strings+last", "column 3"])
def test_each_layout_reads_the_same_dataset(tmp_path, layout):
    from tstransfer.data import load_files

    labels, series = _gunpoint_rows()
    names = {1: "walk", 2: "point"} if "strings" in layout else {1: 1, 2: 2}
    rows = []
    for label, x in zip(labels, series):
        values = [f"{v:.6f}" for v in x]
        if "last" in layout or "strings" in layout:
            rows.append(values + [str(names[label])])
        elif layout == "column 3":
            rows.append(values[:2] + [str(label)] + values[2:])
        else:
            rows.append([str(label)] + values)
    head = [f"t{i + 1}" for i in range(len(series[0]))]
    header = head + ["label"] if "last" in layout else ["label"] + head
    path = tmp_path / "Mine_TRAIN.csv"
    path.write_text("\n".join(",".join(r) for r in ([header] if "header" in layout else []) + rows) + "\n")
    column = {"column 3": 3}.get(layout, "last" if "last" in layout else "first")
    dataset = load_files(path, label_column=column)
    assert len(dataset.y_train) == 30 and dataset.X_train.shape[-1] == 150
    reference = load_files(_ucr_copy(tmp_path, labels, series))
    np.testing.assert_array_equal(dataset.X_train, reference.X_train)
    expected = sorted(names.values(), key=str) if "strings" in layout else [1, 2]
    assert dataset.classes == expected


def _ucr_copy(tmp_path, labels, series):
    path = tmp_path / "Ucr_TRAIN.tsv"
    path.write_text("\n".join("\t".join([str(label)] + [f"{v:.6f}" for v in x]) for label, x in zip(labels, series))
                    + "\n")
    return path


def test_a_label_in_the_last_column_read_as_first_is_refused_with_the_option_to_try(tmp_path):
    from tstransfer.data import load_files

    labels, series = _gunpoint_rows()
    path = tmp_path / "Last_TRAIN.csv"
    path.write_text("\n".join(",".join([f"{v:.7f}" for v in x] + [str(label)]) for label, x in zip(labels, series))
                    + "\n")
    with pytest.raises(TSTransferError, match=r"30 classes for 30 series .*Try --label-column last"):
        load_files(path)
    assert load_files(path, label_column="last").classes == [1, 2]


def test_a_header_row_without_auto_names_the_option(tmp_path):
    from tstransfer.data import load_files

    path = tmp_path / "Head_TRAIN.csv"
    path.write_text("label,t1,t2,t3\n1,0.1,0.2,0.3\n2,0.3,0.2,0.1\n1,0.2,0.1,0.3\n")
    with pytest.raises(TSTransferError, match=r"line 1, column 2: 't1' is not a number \(line 1 looks like a header"):
        load_files(path, header="no")
    assert load_files(path).classes == [1, 2] and load_files(path, header="yes").X_train.shape == (3, 1, 3)
    with pytest.raises(TSTransferError, match="--label-column 9: its rows have 4 columns"):
        load_files(path, label_column=9)
    with pytest.raises(TSTransferError, match="--label-column middle: give first, last or a column number"):
        load_files(path, label_column="middle")
