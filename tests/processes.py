"""Real child processes of a test (servers, agents): free ports, and one group that stops them all."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Long-running processes started by a test, each writing its output to ``<logs>/<name>.log``.

    ``stop()`` (or leaving the ``with`` block) terminates them newest first, waits up to
    ``grace`` seconds for each, kills what is left and closes the logs. Idempotent.
    """

    def __init__(self, logs: Path, *, grace: float = 15.0) -> None:
        self.logs = logs
        self.grace = grace
        self._procs: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[bytes]] = []

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` with ``env`` (in ``cwd``, default this process's), its stdout and stderr
        in ``<logs>/<name>.log``."""
        log = (self.logs / f"{name}.log").open("wb")
        self._files.append(log)
        proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        self._procs.append(proc)
        return proc

    def stop(self) -> None:
        """Terminate every process (newest first), kill those still running after the grace time."""
        for proc in reversed(self._procs):
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._files:
            log.close()
        self._procs, self._files = [], []

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
