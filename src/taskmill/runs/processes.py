"""Where a run's controller process is, and whether it still runs.

A controller records its pid and host in the run's runtime properties when it starts. Only this
host's processes can be checked; for a run controlled elsewhere the answer is "cannot tell"
(``alive`` None). A pid the kernel reused for another program since is told apart by the
process's start time (read as leases read it, :func:`taskmill.store.lease.process_start`). Reads
``/proc`` (signal 0 where there is none); changes nothing.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from taskmill.core.model import TaskRecord
from taskmill.store.lease import process_start

#: Seconds of clock difference tolerated when telling a reused pid from the run's controller.
_CLOCK_SLACK = 5.0


@dataclass(frozen=True)
class ControllerInfo:
    """Where a run's controller process is (or was)."""

    pid: int | None
    host: str
    local: bool  #: recorded on this host
    alive: bool | None  #: None when it runs elsewhere (this host cannot tell)


def controller_info(run: TaskRecord) -> ControllerInfo:
    """Where the run's controller is, and whether it still runs (checked on this host only)."""
    raw = run.runtime.get("controller_pid")
    pid = int(raw) if isinstance(raw, (int, str)) and str(raw).isdigit() else None
    host = str(run.runtime.get("controller_host") or "")
    local = host == socket.gethostname()
    if not local:
        return ControllerInfo(pid, host, False, None)
    alive = pid is not None and pid_alive(pid) and not _started_after(pid, run.last_update + _CLOCK_SLACK)
    return ControllerInfo(pid, host, True, alive)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    return process_start(pid) is not None


def _started_after(pid: int, when: float) -> bool:
    """True if process ``pid`` started after ``when``: the pid was reused, it is not the controller
    that recorded it. False when it cannot be told (no ``/proc``)."""
    start = process_start(pid)
    return start is not None and start > when  # 0.0 (cannot tell) is never after a real time
