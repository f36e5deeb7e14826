"""The DB-API layer: SQLite reads on per-thread connections beside one serialised writer."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from taskmill.errors import StoreError
from taskmill.store.sql.db import Database, StoreURL


def _db(tmp_path: Path) -> Database:
    db = Database(StoreURL.parse(f"sqlite:///{tmp_path}/db.sqlite"))
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    return db


def test_a_read_does_not_wait_for_another_threads_transaction(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.execute("INSERT INTO t VALUES (1, 'committed')")
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.transaction():
            db.execute("UPDATE t SET v = 'pending' WHERE k = 1")
            assert db.execute("SELECT v FROM t WHERE k = 1") == [("pending",)]  # its own write
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(10)
    seen: list[object] = []
    reader = threading.Thread(target=lambda: seen.append(db.execute("SELECT v FROM t WHERE k = 1")))
    reader.start()
    reader.join(5)
    # the reader answered while the transaction was still open, with the committed value
    assert not reader.is_alive() and seen == [[("committed",)]]
    release.set()
    thread.join(10)
    assert db.execute("SELECT v FROM t WHERE k = 1") == [("pending",)]  # visible once committed
    db.close()


def test_read_connections_are_read_only_and_writes_still_apply(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.execute("INSERT INTO t VALUES (1, 'a')")  # not a SELECT: through the writer
    assert db.execute("SELECT count(*) FROM t") == [(1,)]
    with pytest.raises(StoreError, match=r"readonly|read-only"):
        db._read("DELETE FROM t", ())  # a read connection refuses to write
    assert db.execute("SELECT count(*) FROM t") == [(1,)]
    db.close()


def test_connections_of_ended_threads_do_not_pile_up(tmp_path: Path) -> None:
    db = _db(tmp_path)
    for _ in range(20):
        thread = threading.Thread(target=lambda: db.execute("SELECT 1"))
        thread.start()
        thread.join()
    db.execute("SELECT 1")  # opening this thread's connection closes the ended threads' ones
    assert len(db._readers) == 1
    db.close()


def test_reads_after_close_fail_clearly(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.execute("SELECT 1")
    db.close()
    with pytest.raises(StoreError, match="closed"):
        db.execute("SELECT 1")
    assert db._readers == {}


def test_many_threads_read_and_write_consistently(tmp_path: Path) -> None:
    db = _db(tmp_path)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                with db.transaction():
                    # read-check-write inside the transaction sees its own thread's state
                    (count,) = db.execute("SELECT count(*) FROM t")[0]
                    db.execute("INSERT INTO t VALUES (?, ?)", (n * 100 + i, str(count)))
                assert db.execute("SELECT v FROM t WHERE k = ?", (n * 100 + i,))
        except BaseException as exc:  # collected: the main thread asserts on them
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    values = sorted(int(v) for (v,) in db.execute("SELECT v FROM t"))
    assert values == list(range(160))  # every transaction saw all earlier commits
    db.close()


CLOSE_UNDER_READS = """
import sys, threading
from taskmill.errors import StoreError
from taskmill.store.sql.db import Database, StoreURL

url = StoreURL.parse(sys.argv[1])
for round_no in range(40):
    db = Database(url)
    db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    db.execute("INSERT INTO t VALUES (1)")
    stop, errors = threading.Event(), []

    def reader():
        while not stop.is_set():
            try:
                db.execute("SELECT x FROM t, (SELECT 1 FROM t LIMIT 50)")
            except StoreError as exc:
                if "closed" not in str(exc):
                    errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    db.close()  # while the readers are mid-query on their own connections
    stop.set()
    for th in threads:
        th.join()
    assert not errors, errors
print("ok")
"""


def test_closing_the_store_while_other_threads_read_never_crashes(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'store.db'}"
    # in a child: a crash inside SQLite would take the whole process down
    ran = subprocess.run(
        [sys.executable, "-c", CLOSE_UNDER_READS, url], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, (ran.returncode, ran.stderr[-2000:])
    assert ran.stdout.strip() == "ok"
