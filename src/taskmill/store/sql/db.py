"""A thin DB-API layer over sqlite3 and psycopg: connections, transactions, dialect differences.

Why not SQLAlchemy on the hot path: importing its engine costs ~120 ms, more than our whole
start-up budget. SQLAlchemy and Alembic are still used for the schema and its migrations.
Queries are written once with ``?`` placeholders and translated for psycopg.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskmill.errors import (
    InvalidValueError,
    NotFoundError,
    StoreConnectionError,
    StoreError,
    StoreUnreadableError,
)

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed store URL.

    ``sqlite:///relative.db`` and ``sqlite:////absolute/path.db`` (SQLAlchemy's convention), or
    ``postgresql[+psycopg]://user:pass@host:port/db``.
    """

    dialect: str  #: ``sqlite`` or ``postgresql``
    url: str  #: the URL as given
    path: str = ""  #: sqlite file path
    conninfo: str = ""  #: libpq connection string for PostgreSQL

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        """Parse ``url``; raises ValueError naming the accepted forms."""
        if url.startswith("sqlite://"):
            rest = url[len("sqlite://") :]
            if not rest.startswith("/"):
                raise ValueError(f"bad SQLite store URL '{url}': use sqlite:////absolute/path.db")
            path = rest[1:]
            if not path or path == ":memory:":
                raise ValueError(f"SQLite store URL '{url}' needs a file path: sqlite:////path/store.db")
            return cls("sqlite", url, path=path)
        m = re.match(r"^postgres(?:ql)?(?:\+psycopg\d?)?://", url)
        if m:
            return cls("postgresql", url, conninfo="postgresql://" + url[m.end() :])
        raise ValueError(
            f"unsupported store URL '{url}': use sqlite:////path/to/store.db or "
            "postgresql+psycopg://user@host:port/db"
        )

    @property
    def sqlalchemy_url(self) -> str:
        """The same location in SQLAlchemy's form (for Alembic)."""
        if self.dialect == "sqlite":
            return f"sqlite:///{self.path}"
        return "postgresql+psycopg://" + self.conninfo[len("postgresql://") :]


#: The fix every "cannot use this location" message ends with.
_WHERE_INSTEAD = (
    "Point TASKMILL_STORE at a usable file (sqlite:////path/to/store.db) or TASKMILL_HOME at a "
    "writable folder."
)


def _make_folder(folder: Path) -> None:
    """Create the store's folder (and parents) or raise one clear StoreConnectionError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = Path(exc.filename or folder)
        raise StoreConnectionError(
            f"cannot use the SQLite store folder {folder}: {blocker} is a file, not a folder. "
            + _WHERE_INSTEAD
        ) from exc
    except OSError as exc:
        raise StoreConnectionError(
            f"cannot create the folder {folder} for the SQLite store ({exc.strerror}). {_WHERE_INSTEAD}"
        ) from exc


def _is_read(sql: str) -> bool:
    """True for a plain query (SQLite has no ``SELECT`` that writes)."""
    return sql.lstrip()[:6].upper() == "SELECT"


class Database:
    """A database connection for the threads of a process, with re-entrant transactions.

    ``transaction()`` opens a write transaction (SQLite: ``BEGIN IMMEDIATE``, which takes the
    database write lock at once so read-check-write sequences are atomic across processes;
    PostgreSQL: ``BEGIN`` plus row locks taken with :attr:`for_update`). Nested calls join the
    outer transaction. Statements outside a transaction autocommit.

    Writes, and everything a thread runs inside its transaction, go through one writer
    connection, one thread at a time. On SQLite, a ``SELECT`` outside the calling thread's
    transaction runs on that thread's own read-only connection instead (WAL lets readers run
    beside the writer): it sees every committed change and never waits for another thread's
    transaction, so many step threads do not queue behind one connection lock. PostgreSQL keeps
    the single connection for everything.
    """

    def __init__(self, url: StoreURL, *, create: bool = True) -> None:
        self.url = url
        self._create = create
        self.dialect = url.dialect
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None  # the thread inside the write transaction, if any
        self._local = threading.local()  # this thread's read connection (SQLite)
        self._readers: dict[int, tuple[threading.Thread, sqlite3.Connection, threading.Lock]] = {}
        self._readers_lock = threading.Lock()
        self._pid = os.getpid()
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        self._write_lock_fd: int | None = None
        self._conn: Any = self._connect()
        if self.dialect == "sqlite":
            try:
                self._write_lock_fd = os.open(url.path + ".write-lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                self._conn.close()
                raise StoreConnectionError(
                    f"cannot use the SQLite store {url.path}: its folder is not writable "
                    f"({exc.strerror}). {_WHERE_INSTEAD}"
                ) from exc
        #: suffix that locks selected rows until commit (no-op on SQLite: the DB lock covers it)
        self.for_update = " FOR UPDATE" if self.dialect == "postgresql" else ""
        self.skip_locked = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            return self._connect_sqlite()
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreConnectionError(
                "PostgreSQL store needs psycopg: pip install 'taskmill[postgres]'"
            ) from exc
        self._errors = (psycopg.Error,)
        try:
            return psycopg.connect(self.url.conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreConnectionError(
                f"cannot connect to the PostgreSQL store {self.url.url}: {exc}".strip()
            ) from exc

    def _connect_sqlite(self) -> sqlite3.Connection:
        path = self.url.path
        p = Path(path)
        if p.exists() and p.is_dir():
            raise StoreUnreadableError(f"store path {path} is a folder, not a SQLite file")
        if not self._create and not p.is_file():
            raise NotFoundError(
                f"no taskmill store at {path}: nothing has been tracked there yet (a typo in "
                f"TASKMILL_STORE or TASKMILL_HOME?). {_WHERE_INSTEAD}"
            )
        _make_folder(p.parent)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreConnectionError(
                f"cannot open the SQLite store {path}: {exc}. {_WHERE_INSTEAD}"
            ) from exc
        deadline = time.monotonic() + 30.0
        while True:
            try:
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                return conn
            except sqlite3.OperationalError as exc:
                # Switching a new file to WAL needs a lock another opener may hold for a moment;
                # SQLite answers "locked" without waiting, so wait here.
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                conn.close()
                raise StoreConnectionError(f"cannot open SQLite store {path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StoreUnreadableError(
                    f"{path} exists but is not a taskmill store ({exc}); it was left untouched. "
                    "Point TASKMILL_STORE elsewhere or move the file away."
                ) from exc

    def _reader(self) -> tuple[sqlite3.Connection, threading.Lock]:
        """This thread's read-only SQLite connection (opened on first use) and its lock.

        The lock is held while the connection runs a statement and while anyone closes it: a
        connection is never closed under a query in flight (``close()`` on another thread, the
        sweep of ended threads' connections), which would crash inside SQLite."""
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn, local.lock
        conn = sqlite3.connect(self.url.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            conn.close()
            raise self._wrap(exc, "PRAGMA query_only=ON") from exc
        me = threading.current_thread()
        lock = threading.Lock()
        with self._readers_lock:
            if self._pid != os.getpid():
                # a forked child: the parent's connections are not ours to use or close
                self._readers, self._pid = {}, os.getpid()
            if self._conn is None:
                conn.close()
                raise StoreError(f"store {self.url.url} is closed")
            # connections of threads that ended are closed here, so they never pile up; the main
            # thread counts as ended while atexit runs, when it still reads (a task's finalising)
            main = threading.main_thread()
            for ident, (thread, old, old_lock) in list(self._readers.items()):
                if (not thread.is_alive() and thread is not main) or thread is me:
                    with old_lock:
                        old.close()
                    del self._readers[ident]
            self._readers[threading.get_ident()] = (me, conn, lock)
        local.conn, local.lock, local.pid = conn, lock, os.getpid()
        return conn, lock

    def _close_readers(self) -> None:
        with self._readers_lock:
            if self._pid == os.getpid():
                for _, conn, lock in self._readers.values():
                    with lock:  # waits for a statement in flight on that connection
                        conn.close()
            self._readers = {}

    def close(self) -> None:
        """Close the connections (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._close_readers()
            if self._write_lock_fd is not None:
                os.close(self._write_lock_fd)
                self._write_lock_fd = None

    # -- statements -------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def _wrap(self, exc: Exception, sql: str) -> StoreError:
        text = f"store {self.url.url}: {type(exc).__name__}: {exc} (in: {sql.strip()[:120]})"
        # SQLSTATE class 22 (data exception: too long, out of range) means a bad value, not a bug
        if str(getattr(exc, "sqlstate", "") or "").startswith("22") or isinstance(exc, sqlite3.DataError):
            return InvalidValueError(text)
        return StoreError(text)

    @property
    def in_transaction(self) -> bool:
        """True when the calling thread is inside this database's write transaction."""
        return self._owner == threading.get_ident()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return all rows it produced (empty for writes without RETURNING)."""
        if self.dialect == "sqlite" and not self.in_transaction and _is_read(sql):
            return self._read(sql, params)
        with self._lock:
            if self._conn is None:
                raise StoreError(f"store {self.url.url} is closed")
            try:
                cur = self._conn.execute(self._sql(sql), tuple(params))
                rows = cur.fetchall() if cur.description is not None else []
            except self._errors as exc:
                raise self._wrap(exc, sql) from exc
            return [tuple(r) for r in rows]

    def _read(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if self._conn is None:
            raise StoreError(f"store {self.url.url} is closed")
        conn, lock = self._reader()
        with lock:
            if self._conn is None:  # closed meanwhile: its connections may be closed too
                raise StoreError(f"store {self.url.url} is closed")
            try:
                cur = conn.execute(sql, tuple(params))
                return [tuple(r) for r in cur.fetchall()]
            except sqlite3.Error as exc:
                raise self._wrap(exc, sql) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for every parameter row."""
        if not rows:
            return
        with self._lock:
            if self._conn is None:
                raise StoreError(f"store {self.url.url} is closed")
            try:
                if self.dialect == "sqlite":
                    self._conn.executemany(sql, rows)
                else:
                    with self._conn.cursor() as cur:
                        cur.executemany(self._sql(sql), [tuple(r) for r in rows])
            except self._errors as exc:
                raise self._wrap(exc, sql) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; re-entrant within one thread, exclusive across threads."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._lock_writers()
            try:
                self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
                self._depth = 1
                self._owner = threading.get_ident()
                try:
                    yield
                except BaseException:
                    self._depth = 0
                    self._rollback()
                    raise
                self._depth = 0
                self.execute("COMMIT")
            finally:
                self._owner = None
                self._unlock_writers()

    def _lock_writers(self) -> None:
        # SQLite's own busy handler sleeps in steps of up to 100 ms, so processes queueing for the
        # write lock waste most of their wait. A file lock wakes the next writer at once.
        if self._write_lock_fd is not None:
            fcntl.flock(self._write_lock_fd, fcntl.LOCK_EX)

    def _unlock_writers(self) -> None:
        if self._write_lock_fd is not None:
            fcntl.flock(self._write_lock_fd, fcntl.LOCK_UN)

    def _rollback(self) -> None:
        try:
            self.execute("ROLLBACK")
        except StoreError:  # the connection may already have rolled back (e.g. lost)
            pass
