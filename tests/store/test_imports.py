"""The store layer loads without the authoring API, in a fresh interpreter each time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest


def _loaded(statement: str, prefix: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted(m for m in sys.modules if m.startswith({prefix!r})))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(ast.literal_eval(done.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import taskmill.store",
        "import taskmill.store.base",
        "import taskmill.store.factory",
        "import taskmill.store.sql.store",
        "import taskmill.store.http",
        "import taskmill.artifacts",
        "import taskmill",
    ],
)
def test_lower_layers_load_no_api_module(statement: str) -> None:
    assert _loaded(statement, "taskmill.api") == []


def test_the_root_package_still_offers_the_api_on_first_use() -> None:
    code = "from taskmill import PipelineController, StorageManager, Task, TaskStatus, __version__"
    assert "taskmill.api.task" in _loaded(code, "taskmill.api")
    assert _loaded("from taskmill import Task", "taskmill.api.pipeline") == []  # pipelines stay unloaded


def test_opening_a_sqlite_store_loads_no_http_client(tmp_path: Path) -> None:
    opened = f"from taskmill.store.factory import open_store; open_store('sqlite:///{tmp_path}/s.db').close()"
    assert _loaded(opened, "httpx") == []  # httpx loads click and rich: ~60 ms per Task.init script
    assert "taskmill.store.leased_sql" in _loaded(opened, "taskmill.store")


def test_opening_an_http_store_loads_no_sql_engine() -> None:
    opened = (
        "from taskmill.store.factory import open_store; open_store('http://127.0.0.1:9', 'k', retry_for=0)"
    )
    assert _loaded(opened, "sqlalchemy") == []
