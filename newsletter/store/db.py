"""The state database itself: opening it (WAL, durability level), transactions, fsync control.

`Database` is the base of the ledger's facades; nothing outside `store/` sees a connection.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from ..errors import StateError

Busy = sqlite3.OperationalError  # raised by a read while another process holds the lock: retry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    sid TEXT PRIMARY KEY,
    email_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    issue TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    date_header TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    issue_path TEXT,
    list_path TEXT,
    subject TEXT,
    list_file TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    issue TEXT NOT NULL,
    email_key TEXT NOT NULL,
    sid TEXT NOT NULL,
    email TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','sending','sent','deferred','failed','unknown','skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    code INTEGER,
    reply TEXT,
    next_attempt REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    date_header TEXT,
    seq INTEGER,
    follows TEXT,
    PRIMARY KEY (issue, email_key)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (issue, state);
CREATE TABLE IF NOT EXISTS suppressions (
    email_key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS preferences (
    sid TEXT PRIMARY KEY REFERENCES people(sid),
    topics TEXT,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signups (
    rid TEXT PRIMARY KEY,
    email_key TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    topics TEXT,
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    consent TEXT NOT NULL,
    requested REAL NOT NULL,
    mailed REAL,
    confirmed REAL
);
CREATE INDEX IF NOT EXISTS signups_by_address ON signups (email_key, confirmed);
CREATE TABLE IF NOT EXISTS events (
    at REAL NOT NULL,
    sid TEXT,
    kind TEXT NOT NULL,
    detail TEXT
);
-- what came back (feedback.py): each bounce mailbox message / webhook event once, and the
-- bounces and complaints found in them
CREATE TABLE IF NOT EXISTS inbound (
    message_key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS bounces (
    at REAL NOT NULL,
    message_key TEXT NOT NULL,
    email_key TEXT NOT NULL,
    issue TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('hard','soft','complaint')),
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    UNIQUE (message_key, email_key)
);
CREATE INDEX IF NOT EXISTS bounces_by_address ON bounces (email_key, kind, at);
CREATE INDEX IF NOT EXISTS bounces_by_issue ON bounces (issue, kind);
"""


class LedgerError(StateError):
    """The state database cannot be opened or written (exit code 6)."""


def private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by its owner only (0700, whatever the
    umask). An existing folder is left as it is: it may be the project folder itself."""
    if folder.is_dir():
        return
    if not folder.parent.exists():
        private_folder(folder.parent)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)


def private_file(path: Path) -> None:
    """Make sure `path` exists with mode 0600 before SQLite opens it: SQLite creates the
    write-ahead log (-wal) and shared-memory (-shm) files with the database file's mode, and
    both hold every address, so they must not be readable by others either. Raises OSError."""
    private_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        with contextlib.suppress(PermissionError):  # someone else's file: theirs to set
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def new_sid() -> str:
    """A subscriber's random id in the state database (it reveals nothing about the address):
    72 random bits, 12 URL-safe characters; tokens sign it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to `_SCHEMA`."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(campaigns)")}
    for column in ("issue_path", "list_path"):  # what a campaign was sent with, to resume it
        if column not in columns:
            db.execute(f"ALTER TABLE campaigns ADD COLUMN {column} TEXT")
    columns = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
    if "date_header" not in columns:  # the Date of each message, stamped when handed over
        db.execute("ALTER TABLE deliveries ADD COLUMN date_header TEXT")
    if "follows" not in columns:  # a `sending` row taken ahead: the row whose message went before it
        db.execute("ALTER TABLE deliveries ADD COLUMN follows TEXT")
    if "seq" not in columns:  # which `sending` mark of the run a row holds (see Campaigns.recover_interrupted)
        db.execute("ALTER TABLE deliveries ADD COLUMN seq INTEGER")
    columns = {row[1] for row in db.execute("PRAGMA table_info(suppressions)")}
    if "detail" not in columns:
        # suppressions.reason became a kind (audience.Reason); the text moved to `detail`
        db.execute("ALTER TABLE suppressions ADD COLUMN detail TEXT NOT NULL DEFAULT ''")
        db.execute("UPDATE suppressions SET detail=TRIM(SUBSTR(reason, 13)), reason='hard-bounce' "
                   "WHERE reason LIKE 'hard bounce:%'")
    columns = {row[1] for row in db.execute("PRAGMA table_info(campaigns)")}
    for column in ("subject", "list_file"):  # what `status` shows of a campaign
        if column not in columns:
            db.execute(f"ALTER TABLE campaigns ADD COLUMN {column} TEXT")


class Database:
    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        try:
            private_file(path)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
            _migrate(self.db)
            for extra in ("-wal", "-shm"):  # SQLite gives them the database's mode; older runs did not
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    os.chmod(f"{path}{extra}", 0o600)
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(f"{path}: cannot open the state database: {exc}") from None

    @classmethod
    def read_only(cls, path: Path) -> Self:
        """Open an existing database without writing anything (for --dry-run and status). A
        file whose tables were never created (the first run stopped at once) reads as empty."""
        self = cls.__new__(cls)
        self.path = path
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            if self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' LIMIT 1").fetchone() is None:
                self.db.close()
                self.db = sqlite3.connect(":memory:", isolation_level=None)
                self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot open the state database: {exc}") from None
        return self

    def close(self) -> None:
        self.db.close()

    def columns(self, table: str) -> set[str]:
        """The column names `table` has in this database (an old one may lack newer columns)."""
        return {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}

    def busy_timeout(self, ms: int) -> None:
        """How long a statement waits for another writer's lock before raising `Busy`."""
        self.db.execute(f"PRAGMA busy_timeout={int(ms)}")

    def ping(self) -> None:
        """A trivial read: raises if the database cannot be read."""
        self.db.execute("SELECT 1 FROM people LIMIT 1").fetchall()

    @contextmanager
    def without_fsync(self) -> Iterator[None]:
        """Commits made inside do not wait for the disk (WAL, synchronous=NORMAL): they survive
        a crash of this process at once, and a crash of the machine after the next ordinary
        commit or `sync()`, which write the same log to disk."""
        if not self.fsyncs:
            yield
            return
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA synchronous={self.synchronous}")

    @property
    def fsyncs(self) -> bool:
        """Whether an ordinary commit waits for the disk (`durability: disk`)."""
        return self.synchronous.upper() in ("FULL", "EXTRA", "2", "3")

    def sync(self) -> None:
        """Put everything committed so far on disk (an fsync of the write-ahead log)."""
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # no log: every commit is already in the database file
            return
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc.strerror or exc}") from None
        try:
            os.fdatasync(fd)
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc}") from None
