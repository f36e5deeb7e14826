"""The server process loads no authoring API and no engine: drawing a run page needs only the
store and :mod:`taskmill.runs`.

Checked in a fresh interpreter (this test process has imported everything already): import every
module of ``taskmill.server``, build the app with the web UI over a real SQLite store, and look at
``sys.modules``. Nothing is rendered and nothing is served.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, pkgutil, sys, importlib
import taskmill.server
for info in pkgutil.walk_packages(taskmill.server.__path__, "taskmill.server."):
    importlib.import_module(info.name)
from taskmill.artifacts.storage import ArtifactStore
from taskmill.server.app import create_app
from taskmill.store.factory import open_store
folder = sys.argv[1]
store = open_store(f"sqlite:///{folder}/store.db")
app = create_app(store, ArtifactStore(f"{folder}/artifacts", f"{folder}/cache"), auth=True)
ui = any(getattr(r, "name", "") == "ui-static" for r in app.routes)
store.close()
print(json.dumps({"ui": ui, "modules": sorted(sys.modules)}))
"""

FORBIDDEN = ("taskmill.api.pipeline", "taskmill.engine")


def _loaded(tmp_path: Path) -> tuple[bool, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return bool(data["ui"]), list(data["modules"])


def test_the_server_app_loads_no_pipeline_api_and_no_engine(tmp_path: Path) -> None:
    ui, modules = _loaded(tmp_path)
    assert ui, "the web UI was not mounted, so the check would miss its imports"
    assert "taskmill.runs.commands" in modules  # the UI's run pages are drawn from the runs layer
    offenders = [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == [], f"the server process loads {len(offenders)} modules it must not: {offenders}"
