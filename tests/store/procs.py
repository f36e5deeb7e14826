"""Real processes for store tests seen from outside: a `taskmill server` and `taskmill` CLI calls.

Unlike :mod:`tests.server.harness` (uvicorn in a thread of the test process), these run the
installed ``taskmill`` command, so what they check is what a user gets; a server can be killed
with SIGKILL at any moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from taskmill.server import free_port

TASKMILL = str(Path(sys.executable).with_name("taskmill"))


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI call isolated in ``home`` (no user config or store leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env.update({"TASKMILL_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra or {})
    return env


def run_cli(
    *args: str, home: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``taskmill args...`` to completion; returns its exit code and output."""
    return subprocess.run(
        [TASKMILL, *args], env=cli_env(home, env), capture_output=True, text=True, timeout=timeout
    )


@dataclass
class ServerProcess:
    """A `taskmill server` process: its URL and how to stop it."""

    url: str
    proc: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server (no shutdown of any kind) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@contextmanager
def server_process(
    store_url: str,
    home: Path,
    *,
    auth: bool = False,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """Start ``taskmill server`` over ``store_url`` and wait until it answers its health check.
    ``env`` adds variables to the server's environment."""
    port = port or free_port()
    args = [TASKMILL, "server", "--port", str(port), "--store", store_url]
    args += ["--artifacts", str(home / "artifacts")]
    if not auth:
        args.append("--no-auth")
    log = open(home / f"server-{port}.log", "ab")  # closed below, after the process
    proc = subprocess.Popen(args, env=cli_env(home, env), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"taskmill server exited: {(home / f'server-{port}.log').read_text()}")
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("taskmill server did not answer within 30 s")
            time.sleep(0.1)
        server = ServerProcess(url, proc)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
