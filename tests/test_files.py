"""Files: names from data never become paths, writes are all-or-nothing, outputs are checked before any work."""

from __future__ import annotations

import pandas as pd
import pytest

from tstransfer.errors import TSTransferError
from tstransfer.files import (
    atomic_paths,
    atomic_write_text,
    check_format_version,
    check_writable_dir,
    check_writable_file,
    csv_text,
    file_stem,
    parse_json,
    safe_name,
    sha256_file,
)


@pytest.mark.parametrize("name", ["", ".", "..", ".hidden", "a/b", "a\\b", "C:x", "nul\x00", "tab\tname",
                                  " padded", "x" * 201])
def test_unsafe_names_are_refused(name):
    with pytest.raises(TSTransferError, match="not usable as a file name"):
        safe_name(name, "dataset")


def test_safe_names_pass_unchanged():
    assert safe_name("GunPoint") == "GunPoint"
    assert safe_name("Symbols-2 (v1)") == "Symbols-2 (v1)"


def test_file_stem_encodes_anything_into_one_distinct_component():
    names = ["../../etc/passwd", "a/b", "a%2Fb", "<script>", "Ünïcode", "", "x" * 500, "x" * 499 + "y"]
    stems = [file_stem(n) for n in names]
    assert len(set(stems)) == len(stems)  # distinct names stay distinct
    for stem in stems:
        assert "/" not in stem and "\\" not in stem and "." not in stem and 0 < len(stem) <= 100
    assert file_stem("GunPoint") == "GunPoint"


def test_atomic_paths_write_all_or_nothing(tmp_path):
    a, b = tmp_path / "model.bin", tmp_path / "history.csv"
    a.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_paths(a, b) as (ta, tb):
            ta.write_text("new")
            raise RuntimeError("the second file never came")
    assert a.read_text() == "old" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # no temporary left behind
    with atomic_paths(a, b) as (ta, tb):
        ta.write_text("new")
        tb.write_text("rows")
    assert (a.read_text(), b.read_text()) == ("new", "rows")
    assert atomic_write_text(tmp_path / "t.txt", "text").read_text() == "text"


def test_outputs_are_checked_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TSTransferError, match="--out"):
        check_writable_dir(tmp_path / "file", "--out")
    assert check_writable_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created: a refused command leaves nothing
    with pytest.raises(TSTransferError, match="--out .*exists"):
        check_writable_file(tmp_path / "file", "--out", force=False)
    assert check_writable_file(tmp_path / "file", "--out", force=True) == tmp_path / "file"
    (tmp_path / "folder").mkdir()
    with pytest.raises(TSTransferError, match="--out"):
        check_writable_file(tmp_path / "folder", "--out")


def test_untrusted_json_and_format_versions(tmp_path):
    assert parse_json('{"a": [1, 2]}', tmp_path / "m.json") == {"a": [1, 2]}
    with pytest.raises(TSTransferError, match="m.json"):
        parse_json("{not json", tmp_path / "m.json")
    assert check_format_version(1, 1, "f", "model format") == 1
    for version in (0, 2, "1", None, True):
        with pytest.raises(TSTransferError, match="f"):
            check_format_version(version, 1, "f", "model format")


def test_checksums_and_csv_text(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    text = csv_text(pd.DataFrame({"acc": [1 / 3]}, index=["GunPoint"]))
    assert text.splitlines()[1] == "GunPoint,0.333333"
