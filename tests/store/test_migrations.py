"""Opening stores: automatic migration, and refusing stores we cannot use (never recreating them)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from taskmill.core.model import TaskRecord
from taskmill.errors import StoreSchemaError, StoreUnreadableError
from taskmill.store.factory import open_store
from taskmill.store.sql.migrate import HEAD, KNOWN_REVISIONS, alembic_revisions


def test_known_revisions_match_alembic_scripts() -> None:
    assert alembic_revisions() == list(KNOWN_REVISIONS)


def test_new_store_is_migrated_to_head(tmp_path: Path) -> None:
    open_store(f"sqlite:///{tmp_path}/s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
        assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_newer_schema_is_reported_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreSchemaError, match="'9999', newer than this taskmill"):
        open_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


def test_non_sqlite_file_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreUnreadableError, match="not a taskmill store"):
        open_store(f"sqlite:///{path}")
    assert path.read_text().startswith("these are my notes")


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreUnreadableError, match="customers"):
        open_store(f"sqlite:///{path}")


def test_postgres_newer_schema_is_reported(pg_url: str) -> None:
    import psycopg

    open_store(pg_url).close()
    conninfo = "postgresql://" + pg_url.split("://", 1)[1]
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreSchemaError, match="9999"):
        open_store(pg_url)


def test_bad_urls_say_what_works() -> None:
    with pytest.raises(ValueError, match="sqlite:////"):
        open_store("mysql://x")
    with pytest.raises(ValueError, match="needs a file path"):
        open_store("sqlite:///")


def test_many_processes_open_a_new_store_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    code = "import sys; from taskmill.store.factory import open_store; open_store(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(6)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    with sqlite3.connect(tmp_path / "race.db") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


def test_store_from_older_revision_is_upgraded(tmp_path: Path) -> None:
    """A store created by an older taskmill (revision 0001) is migrated on open, data kept."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    from taskmill.store.sql.migrate import MIGRATIONS_DIR

    path = tmp_path / "old.db"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    with sqlite3.connect(path) as c:
        c.execute(
            "INSERT INTO tasks (id, name, project, task_type, status, created, last_update) "
            "VALUES ('a' , 'old', 'p', 'training', 'completed', 1, 1)"
        )
    store = open_store(f"sqlite:///{path}")
    assert store.get_task("a").name == "old" and store.get_task("a").cache_key == ""
    store.close()
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def _at_revision(sqlalchemy_url: str, revision: str) -> None:
    """Create the schema of an older taskmill (up to ``revision``) at ``sqlalchemy_url``."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    from taskmill.store.sql.migrate import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(sqlalchemy_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def test_an_older_postgres_store_is_refused_until_upgraded(pg_url: str) -> None:
    """A team database never migrates because some client opened it: `taskmill store upgrade` does."""
    from taskmill.store.sql.db import StoreURL
    from taskmill.store.sql.migrate import upgrade

    _at_revision(StoreURL.parse(pg_url).sqlalchemy_url, "0004")
    with pytest.raises(StoreSchemaError, match=r"'0004'.*taskmill store upgrade") as info:
        open_store(pg_url)
    assert "\n" not in str(info.value)
    assert upgrade(pg_url) == ("0004", HEAD)
    assert upgrade(pg_url) == (HEAD, HEAD)  # idempotent
    store = open_store(pg_url)
    assert {q.name for q in store.list_queues()} == {"default", "services"}
    store.close()


def test_an_empty_postgres_database_is_still_initialised(pg_url: str) -> None:
    store = open_store(pg_url)
    assert store.list_queues()  # the standard queues: the schema is at head
    store.close()


def test_sqlite_stores_keep_migrating_on_open(tmp_path: Path) -> None:
    _at_revision(f"sqlite:///{tmp_path}/old.db", "0004")
    open_store(f"sqlite:///{tmp_path}/old.db").close()
    with sqlite3.connect(tmp_path / "old.db") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_upgrade_refuses_what_it_cannot_upgrade(tmp_path: Path) -> None:
    from taskmill.store.sql.migrate import upgrade

    with pytest.raises(ValueError, match="on the server"):
        upgrade("http://127.0.0.1:9/")
    assert upgrade(f"sqlite:///{tmp_path}/new.db") == (None, HEAD)


_BOUNDED_INDEXES = {
    "ix_tasks_last_update_id",
    "ix_tasks_created_id",
    "ix_tasks_name",
    "ix_tasks_project_name_status",
    "ix_tasks_project_type",
    "ix_pipeline_nodes_position",
    "ix_artifacts_position",
    "ix_task_params_position",
}


def _indexes(sqlalchemy_url: str) -> set[str]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(sqlalchemy_url)
    inspector = sqlalchemy.inspect(engine)
    names = {
        str(ix["name"])
        for table in ("tasks", "pipeline_nodes", "artifacts", "task_params")
        for ix in inspector.get_indexes(table)
    }
    engine.dispose()
    return names


def _downgrade(sqlalchemy_url: str, revision: str) -> None:
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    from taskmill.store.sql.migrate import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(sqlalchemy_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_bounded_query_indexes_come_and_go_with_0010(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0009 -> 0010 adds the indexes that keep run start and listings bounded, keeping the data;
    the downgrade restores the indexes 0009 had."""
    from taskmill.store.sql.db import StoreURL
    from taskmill.store.sql.migrate import upgrade

    url = f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else str(request.getfixturevalue("pg_url"))
    sa_url = StoreURL.parse(url).sqlalchemy_url
    _at_revision(sa_url, "0009")
    assert not _indexes(sa_url) & _BOUNDED_INDEXES
    assert {"ix_tasks_last_update", "ix_tasks_project_name"} <= _indexes(sa_url)
    store = open_store(url) if kind == "sqlite" else None  # SQLite migrates on open
    if store is not None:
        store.close()
    else:
        assert upgrade(url) == ("0009", HEAD)
    assert _BOUNDED_INDEXES <= _indexes(sa_url)
    store = open_store(url)
    store.create_task(TaskRecord(id="a1", name="n", project="p"))
    store.close()
    _downgrade(sa_url, "0009")
    names = _indexes(sa_url)
    assert not names & _BOUNDED_INDEXES
    assert {"ix_tasks_last_update", "ix_tasks_project_name"} <= names  # 0009's, kept or restored
