"""The user's selection cache (usercache.py): a second command on the same file skips the selection, a changed file
or zoo is never served a stale ranking, and the cache stays bounded."""

from __future__ import annotations

import shutil

import pytest

from tstransfer import usercache
from tstransfer.cli import main
from tstransfer.data import MINI_ARCHIVE, load_files
from tstransfer.selection import rank_by_similarity
from tstransfer.zoo import Zoo, shipped_zoo

TRAIN = MINI_ARCHIVE / "ECG200" / "ECG200_TRAIN.tsv"  # a file of one's own: not excluded from the shipped zoo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("TSTRANSFER_CACHE", str(folder))
    return folder


def test_the_second_command_on_the_same_file_skips_the_selection(tmp_path, cache, capsys):
    mine = tmp_path / "Mine_TRAIN.tsv"
    shutil.copyfile(TRAIN, mine)
    assert main(["fit", "--train", str(mine), "--out", str(tmp_path / "m.safetensors"), "--dry-run", "--quiet"]) == 0
    first = capsys.readouterr().out
    assert "reused from the cache" not in first
    assert len(list((cache / "selection").glob("prototypes-*.npz"))) == 1
    assert main(["recommend", str(mine), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "selection: the ranking reused from the cache" in captured.err
    ranked = [line.split()[1] for line in captured.out.splitlines()[1:]]
    assert ranked[0] in first  # the same K_1 as the dry run chose
    assert main(["fit", "--train", str(mine), "--out", str(tmp_path / "m.safetensors"), "--dry-run", "--quiet"]) == 0
    assert "selection: the ranking reused from the cache" in capsys.readouterr().out


def test_a_changed_file_is_never_served_a_stale_ranking(tmp_path, cache, monkeypatch):
    mine = tmp_path / "Mine_TRAIN.tsv"
    shutil.copyfile(TRAIN, mine)
    zoo = Zoo(shipped_zoo("fcn"))
    before = rank_by_similarity(zoo, load_files(mine), arch="fcn")
    again = rank_by_similarity(zoo, load_files(mine), arch="fcn")
    assert again.attrs["cached"] == "ranking" and list(again.source) == list(before.source)
    assert again.distance.tolist() == before.distance.tolist()  # to the last bit
    rows = mine.read_text().splitlines()
    mine.write_text("\n".join(rows[:50]) + "\n")  # another training set: half of it
    changed = rank_by_similarity(zoo, load_files(mine), arch="fcn")
    assert changed.attrs["cached"] == ""
    monkeypatch.setenv("TSTRANSFER_CACHE", "off")
    fresh = rank_by_similarity(zoo, load_files(mine), arch="fcn")
    assert list(changed.source) == list(fresh.source)
    assert changed.distance.tolist() == fresh.distance.tolist()
    assert list(before.source) != list(fresh.source) or before.distance.tolist() != fresh.distance.tolist()


def test_the_cache_is_bounded(tmp_path, cache, monkeypatch):
    import numpy as np

    monkeypatch.setattr(usercache, "MAX_ENTRIES", 3)
    for i in range(6):
        usercache.save_prototypes(f"{i:020d}", [np.zeros((1, 8))], [1])
    assert len(list((cache / "selection").iterdir())) == 3
    assert usercache.load_prototypes(f"{5:020d}") is not None and usercache.load_prototypes(f"{0:020d}") is None
    monkeypatch.setenv("TSTRANSFER_CACHE", "off")
    assert usercache.cache_dir() is None and usercache.load_prototypes(f"{5:020d}") is None
