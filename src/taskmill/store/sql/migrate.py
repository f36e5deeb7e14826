"""Bring a store's schema to the version this taskmill needs, safely.

The common case (schema already current) costs one query and imports nothing heavy. Otherwise
Alembic runs under a lock (a file lock next to a SQLite store, an advisory lock on PostgreSQL) so
that processes opening a new store at once migrate it exactly once. A schema newer than ours is
reported, never downgraded or recreated.

Who migrates: an embedded SQLite store (one user) and an empty database of either kind are
migrated on open. A PostgreSQL store at an older revision is a team database that other
clients, maybe of the older version, still use: opening it is refused with a message naming
``taskmill store upgrade``, which calls :func:`upgrade` (explicit, once, by its administrator).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from taskmill.errors import StoreError, StoreSchemaError, StoreUnreadableError
from taskmill.store.sql.db import Database, StoreURL

#: Every revision this taskmill knows, oldest first. The last one is the head it migrates to.
#: A test checks that this matches the Alembic scripts in ``migrations/versions``.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
)
HEAD = KNOWN_REVISIONS[-1]

_PG_LOCK_KEY = 0x7A5C_3111  # arbitrary, constant: identifies "taskmill migration" advisory locks

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(db: Database) -> str | None:
    """The schema revision recorded in the store, or None for an empty store.

    Raises StoreUnreadableError when the database has tables but no taskmill version table.
    """
    if db.dialect == "sqlite":
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    else:
        tables = {
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
    if "alembic_version" not in tables:
        if tables - {"sqlite_sequence"}:
            raise StoreUnreadableError(
                f"store {db.url.url} holds tables ({', '.join(sorted(tables)[:5])}) but no taskmill "
                "schema version; it was left untouched. Use an empty database for taskmill."
            )
        return None
    rows = db.execute("SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def ensure_schema(db: Database) -> str:
    """Migrate the store to :data:`HEAD` if needed; returns the revision it is at.

    Idempotent and safe to call from many processes at once. Raises StoreSchemaError for a
    PostgreSQL store at an older revision (see the module docstring: :func:`upgrade` it).
    """
    rev = current_revision(db)
    if rev == HEAD:
        return rev
    _check_known(db, rev)
    if rev is not None and db.dialect == "postgresql":
        raise StoreSchemaError(
            f"store {db.url.url} has schema revision '{rev}', older than this taskmill's '{HEAD}'; "
            "a shared database is never migrated by a client. Its administrator upgrades it once "
            f"with `taskmill store upgrade --store {db.url.url}` (clients of the older taskmill "
            "must be upgraded too)."
        )
    return _migrate(db)


def upgrade(url: str) -> tuple[str | None, str]:
    """Migrate the SQL store at ``url`` to :data:`HEAD`, whatever its kind; returns ``(from, to)``.

    What ``taskmill store upgrade`` runs. Idempotent (``(HEAD, HEAD)`` when current), safe
    beside other openers (the migration lock), and it creates the schema of an empty database.
    Raises ValueError for an HTTP store (its server's database is upgraded on the server),
    StoreSchemaError for a schema newer than this taskmill.
    """
    if url.startswith(("http://", "https://")):
        raise ValueError(
            f"{url} is a taskmill server: upgrade its database on the server, with "
            "`taskmill store upgrade --store <the server's store URL>`"
        )
    db = Database(StoreURL.parse(url))
    try:
        before = current_revision(db)
        _check_known(db, before)
        return before, _migrate(db)
    finally:
        db.close()


def _migrate(db: Database) -> str:
    with _migration_lock(db):
        rev = current_revision(db)  # another process may have migrated while we waited
        if rev != HEAD:
            _check_known(db, rev)
            _run_alembic(db)
    return HEAD


def _check_known(db: Database, rev: str | None) -> None:
    if rev is not None and rev not in KNOWN_REVISIONS:
        raise StoreSchemaError(
            f"store {db.url.url} has schema revision '{rev}', newer than this taskmill knows "
            f"(latest: '{HEAD}'). Upgrade taskmill (pip install -U taskmill) to use this store."
        )


@contextlib.contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    if db.dialect == "sqlite":
        import fcntl

        lock_path = Path(db.url.path + ".migrate-lock")
        with open(lock_path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    db.execute("SELECT pg_advisory_lock(?)", (_PG_LOCK_KEY,))
    try:
        yield
    finally:
        db.execute("SELECT pg_advisory_unlock(?)", (_PG_LOCK_KEY,))


def _run_alembic(db: Database) -> None:
    # Imported here: SQLAlchemy and Alembic are only needed when the schema changes.
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(db.url.sqlalchemy_url, poolclass=sqlalchemy.pool.NullPool)
    if db.dialect == "sqlite":
        _atomic_sqlite_ddl(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, HEAD)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise StoreError(f"migrating store {db.url.url} to schema '{HEAD}' failed: {exc}") from exc
    finally:
        engine.dispose()


def _atomic_sqlite_ddl(engine: Any) -> None:
    """Make the whole upgrade one SQLite transaction: Python's sqlite3 driver opens none before
    DDL statements, so a process killed while creating a store would leave tables without a
    recorded revision (a store nothing can open again). With the driver's own transaction
    handling off and ``BEGIN IMMEDIATE`` on SQLAlchemy's begin, it commits or rolls back whole
    (SQLAlchemy's documented recipe for pysqlite)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_revisions() -> list[str]:
    """Revisions found in the Alembic scripts, oldest first (for the consistency test)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    return [s.revision for s in reversed(list(script.walk_revisions()))]
