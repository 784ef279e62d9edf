"""The results store of a study (study.py): one SQLite file, one row per run.

Only the driver process writes it (workers return their results to the driver), each change is one
short transaction, and the journal is WAL, so a kill -9 at any moment leaves a consistent database.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from .errors import TSTransferError

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (          -- what each dataset's runs were trained on
    name TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,     -- sha256 of its train and test files
    archive TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('pretrain', 'transfer')),
    source TEXT NOT NULL,          -- '' for a pre-training (no transfer)
    target TEXT NOT NULL,
    seed INTEGER NOT NULL,
    epochs INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    best_epoch INTEGER,
    train_loss REAL, train_acc REAL, test_loss REAL, test_acc REAL,
    seconds REAL,
    device TEXT,
    model_path TEXT,               -- relative to the study folder
    history_path TEXT,
    error TEXT,
    updated_at REAL,
    UNIQUE (kind, source, target, seed, epochs)
);
"""

RESULT_FIELDS = ("best_epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "device",
                 "model_path", "history_path", "error")


class Store:
    """The SQLite results store of a study folder."""

    def __init__(self, path: str | Path, label: str, read_only: bool = False):
        self.path = Path(path)
        self.label = label  # how messages name the study, e.g. "--study runs/big"
        try:
            if read_only:  # a shared, read-only study can still be read (results, report)
                self.db = self._read_only()
            else:
                self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise TSTransferError(f"{self.path}: not a usable study database ({err})") from None
        self.db.row_factory = sqlite3.Row

    def _read_only(self) -> sqlite3.Connection:
        """mode=ro; where SQLite cannot set up its WAL index (a read-only folder without the -shm file), the
        file is read as immutable (no writer may be running: a read-only study has none)."""
        uri = f"file:{quote(str(self.path.resolve()))}"
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def close(self) -> None:
        self.db.close()

    # settings -----------------------------------------------------------------------------
    def settings(self) -> dict:
        settings = {}
        for r in self.db.execute("SELECT key, value FROM settings"):
            try:
                settings[r["key"]] = json.loads(r["value"])
            except (TypeError, ValueError, RecursionError):
                raise TSTransferError(f"{self.path}: setting {str(r['key'])[:80]!r} is not JSON; the store was "
                                      "edited or damaged") from None
        return settings

    def record_once(self, settings: dict) -> None:
        """Record settings that only their first value decides (e.g. the study's first seed)."""
        with self.db:
            for key, value in settings.items():
                self.db.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def check_settings(self, settings: dict) -> None:
        """Record the study's settings the first time; refuse a later grid with different ones."""
        stored = self.settings()
        for key, value in settings.items():
            if key in stored and stored[key] != value:
                raise TSTransferError(
                    f"{self.label}: this study was run with {key}={stored[key]!r}, not {value!r}; "
                    "use another study folder for other settings"
                )
        with self.db:
            for key, value in settings.items():
                self.db.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def check_datasets(self, fingerprints: dict[str, str], archive: str) -> None:
        """Record each dataset's fingerprint; refuse data that changed since a finished run used them (data
        whose runs all failed may be fixed)."""
        self.refuse_changed(fingerprints, archive)
        with self.db:
            for name, fingerprint in fingerprints.items():
                self.db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?)", (name, fingerprint, archive))

    def fingerprints(self) -> dict[str, str]:
        """Each dataset's fingerprint, as the study's last run recorded it."""
        return {r["name"]: r["fingerprint"] for r in self.db.execute("SELECT name, fingerprint FROM datasets")}

    def refuse_changed(self, fingerprints: dict[str, str], archive: str) -> None:
        """Refuse data whose fingerprint differs from the one a finished run of the study used."""
        known = {r["name"]: r for r in self.db.execute("SELECT * FROM datasets")}
        for name, fingerprint in fingerprints.items():
            used = self.db.execute("SELECT 1 FROM runs WHERE status='done' AND (source=? OR target=?) LIMIT 1",
                                   (name, name)).fetchone()
            if name in known and known[name]["fingerprint"] != fingerprint and used:
                raise TSTransferError(
                    f"--archive {archive}: the data of {name} differ from those this study was run on (from "
                    f"{known[name]['archive']}); results would mix the two. Restore the data or use a new study "
                    "folder")

    def scope(self) -> dict:
        """The study's archive and datasets, as recorded (empty before its first run)."""
        settings = self.settings()
        return {"archive": settings.get("archive"), "datasets": settings.get("datasets", [])}

    def extend_scope(self, archive: str, datasets: list[str]) -> None:
        scope = self.scope()
        names = list(dict.fromkeys([*scope["datasets"], *datasets]))
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO settings VALUES ('datasets', ?)", (json.dumps(names),))
            if scope["archive"] is None:
                self.db.execute("INSERT OR REPLACE INTO settings VALUES ('archive', ?)", (json.dumps(archive),))

    # runs ---------------------------------------------------------------------------------
    def add(self, kind: str, source: str, target: str, seed: int, epochs: int) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO runs (kind, source, target, seed, epochs, status, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?)", (kind, source, target, seed, epochs, time.time()))

    def get(self, kind: str, source: str, target: str, seed: int, epochs: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM runs WHERE kind=? AND source=? AND target=? AND seed=? AND epochs=?",
                               (kind, source, target, seed, epochs)).fetchone()

    def set_status(self, run_id: int, status: str, **fields) -> None:
        self.set_many([(run_id, {"status": status, **fields})])

    def set_many(self, updates: list[tuple[int, dict]]) -> None:
        """Several (run id, {status, fields...}) updates in one transaction."""
        with self.db:
            for run_id, fields in updates:
                fields = dict(fields)
                status = fields.pop("status")
                fields = {k: v for k, v in fields.items() if k in RESULT_FIELDS}
                assignments = "".join(f", {k}=?" for k in fields)
                self.db.execute(f"UPDATE runs SET status=?, updated_at=?{assignments} WHERE id=?",
                                (status, time.time(), *fields.values(), run_id))

    def requeue(self, run_ids: list[int]) -> None:
        """Runs left 'running' (their driver was killed) and the runs `run_ids` go back to 'pending'."""
        with self.db:
            self.db.execute("UPDATE runs SET status='pending' WHERE status='running'")
            self.db.executemany("UPDATE runs SET status='pending' WHERE id=?", [(i,) for i in run_ids])

    def runs(self, status: str | None = None) -> list[sqlite3.Row]:
        query = "SELECT * FROM runs" + (" WHERE status=?" if status else "") + " ORDER BY kind DESC, source, target"
        return self.db.execute(query, (status,) if status else ()).fetchall()

