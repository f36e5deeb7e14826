"""The quickstart's team set-up ("On a second machine"), run command for command against a real team.

The page shows the commands for machines the test does not have (a PostgreSQL host ``db``, a
bucket ``ml-bucket``, a server ``server:8080``). This test takes those blocks from
``docs/quickstart.md`` as they are, swaps only those names for a real throwaway PostgreSQL
server, a real S3-compatible server and a free local port (each swap must find its text, so a
changed page fails here instead of drifting), and runs them: ``create-key``, the server, the
``export`` line, both agents, then the page's ``remote.py``. The run must complete on the agents.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tests.docs.blocks import DOCS, Block, extract
from tests.plugins.s3 import S3Server
from tests.processes import Processes, free_port

PAGE = "quickstart.md"
BIN = Path(sys.executable).parent


def _blocks() -> list[Block]:
    return extract((DOCS / PAGE).read_text(), PAGE)


def _shown(containing: str) -> str:
    (code,) = [b.code for b in _blocks() if b.kind == "show" and b.lang == "bash" and containing in b.code]
    return code


def _file(name: str) -> str:
    (code,) = [b.code for b in _blocks() if b.kind == "file" and b.options["name"] == name]
    return code


def _swap(text: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        assert old in text, f"{PAGE} no longer shows {old!r}: update this test's swaps with the page"
        text = text.replace(old, new)
    return text


def _commands(code: str) -> list[list[str]]:
    """The block's command lines (continuations joined, comments dropped), each split into words
    with ``taskmill`` resolved to the venv's."""
    joined = code.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append([str(BIN / "taskmill") if w == "taskmill" else w for w in words])
    return commands


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKMILL_", "AWS_"))}
    env.update({"TASKMILL_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra})
    return env


def test_the_quickstart_team_commands_run_a_remote_pipeline(
    pg_url: str, s3_server: S3Server, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_block = _swap(
        _shown("taskmill server create-key"),
        {
            "postgresql+psycopg://tm@db/taskmill": pg_url,
            "s3://ml-bucket/taskmill": s3_server.url("taskmill"),
            "--host 0.0.0.0 --port 8080": f"--host 127.0.0.1 --port {port}",
        },
    )
    create_key, server = _commands(server_block)
    assert create_key[1:3] == ["server", "create-key"] and server[1] == "server"
    server_env = _env(tmp_path / "server-home", s3_server.env)
    made = subprocess.run(create_key, env=server_env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.split()[0]
    assert key.startswith("tm_"), made.stdout

    with Processes(tmp_path) as procs:
        procs.start("server", server, server_env)
        client_block = _swap(_shown("export TASKMILL_STORE"), {"http://server:8080": url, "tm_...": key})
        export, *agents = _commands(client_block)
        assert export[0] == "export" and len(agents) == 2
        client = dict(word.split("=", 1) for word in export[1:])
        assert client == {"TASKMILL_STORE": url, "TASKMILL_API_KEY": key}
        client.update(s3_server.env)
        for i, agent in enumerate(agents):
            procs.start(f"agent-{i}", agent, _env(tmp_path / f"agent-{i}", client))

        work = tmp_path / "work"
        work.mkdir()
        (work / "pipeline.py").write_text(_file("pipeline.py"))
        (work / "remote.py").write_text(_file("remote.py"))
        env = _env(tmp_path / "client-home", {**client, "PYTHONPATH": str(work)})
        started = subprocess.run(
            [sys.executable, "remote.py"], cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert started.returncode == 0, started.stdout + started.stderr

        deadline = time.monotonic() + 180
        shown = ""
        while time.monotonic() < deadline:
            shown = subprocess.run(
                [str(BIN / "taskmill"), "pipelines", "runs", "first pipeline"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            if "Completed" in shown or "Failed" in shown:
                break
            time.sleep(1)
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(tmp_path.glob("*.log")))
        assert "Completed" in shown, f"{shown}\n{logs}"
