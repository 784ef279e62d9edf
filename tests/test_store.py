"""The results store: one SQLite file per study; settings recorded once, runs keyed, data fingerprints guarded."""

from __future__ import annotations

import sqlite3

import pytest

from tstransfer.errors import TSTransferError
from tstransfer.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "study.sqlite", "--study S")
    yield s
    s.close()


def test_a_run_is_added_once_and_its_results_are_kept(store):
    store.add("pretrain", "", "GunPoint", 0, 10)
    store.add("pretrain", "", "GunPoint", 0, 10)  # the same run: ignored
    store.add("transfer", "GunPoint", "Plane", 0, 10)
    assert len(store.runs()) == 2 and len(store.runs("pending")) == 2
    run = store.get("transfer", "GunPoint", "Plane", 0, 10)
    store.set_status(run["id"], "done", test_acc=0.75, model_path="transfer/GunPoint/Plane.safetensors",
                     not_a_column="dropped")
    done = store.get("transfer", "GunPoint", "Plane", 0, 10)
    assert (done["status"], done["test_acc"], done["model_path"]) == \
        ("done", 0.75, "transfer/GunPoint/Plane.safetensors")
    assert store.get("transfer", "GunPoint", "Plane", 1, 10) is None  # another seed is another run


def test_requeue_puts_running_and_named_runs_back_to_pending(store):
    for target in ("A", "B", "C"):
        store.add("pretrain", "", target, 0, 1)
    a, b, c = (store.get("pretrain", "", t, 0, 1)["id"] for t in ("A", "B", "C"))
    store.set_many([(a, {"status": "running"}), (b, {"status": "done"}), (c, {"status": "done"})])
    store.requeue([c])  # C's model file went missing
    assert {r["target"]: r["status"] for r in store.runs()} == {"A": "pending", "B": "done", "C": "pending"}


def test_settings_are_recorded_once_and_other_ones_refused(store):
    store.check_settings({"epochs": 10, "recipe": {"name": "paper"}})
    store.record_once({"seed": 3})
    store.record_once({"seed": 4})  # the first value decides
    assert store.settings() == {"epochs": 10, "recipe": {"name": "paper"}, "seed": 3}
    with pytest.raises(TSTransferError, match=r"--study S: this study was run with epochs=10, not 20"):
        store.check_settings({"epochs": 20})


def test_changed_data_are_refused_only_once_a_finished_run_used_them(store):
    store.check_datasets({"GunPoint": "aaa"}, "/archive")
    store.add("pretrain", "", "GunPoint", 0, 1)
    store.check_datasets({"GunPoint": "bbb"}, "/archive")  # no finished run yet: the data may be fixed
    store.set_status(store.get("pretrain", "", "GunPoint", 0, 1)["id"], "done")
    with pytest.raises(TSTransferError, match="the data of GunPoint differ from those this study was run on"):
        store.refuse_changed({"GunPoint": "ccc"}, "/other")
    store.refuse_changed({"GunPoint": "bbb", "Plane": "new"}, "/archive")  # unchanged, or never used: fine


def test_scope_grows_and_keeps_its_first_archive(store):
    assert store.scope() == {"archive": None, "datasets": []}
    store.extend_scope("/a", ["GunPoint", "Plane"])
    store.extend_scope("/b", ["Plane", "ECG200"])
    assert store.scope() == {"archive": "/a", "datasets": ["GunPoint", "Plane", "ECG200"]}


def test_a_read_only_store_reads_and_refuses_writes(tmp_path):
    writer = Store(tmp_path / "study.sqlite", "--study S")
    writer.add("pretrain", "", "GunPoint", 0, 1)
    writer.close()
    reader = Store(tmp_path / "study.sqlite", "--study S", read_only=True)
    try:
        assert [r["target"] for r in reader.runs()] == ["GunPoint"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.add("pretrain", "", "Plane", 0, 1)
    finally:
        reader.close()


def test_a_damaged_store_or_setting_is_named(tmp_path):
    bad = tmp_path / "study.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(TSTransferError, match="not a usable study database"):
        Store(bad, "--study S")
    good = Store(tmp_path / "ok.sqlite", "--study S")
    good.db.execute("INSERT INTO settings VALUES ('epochs', '{broken')")
    with pytest.raises(TSTransferError, match="setting 'epochs' is not JSON"):
        good.settings()
    good.close()
