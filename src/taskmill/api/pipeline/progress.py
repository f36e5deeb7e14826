"""Live progress of a run in the terminal (rich), and the controller's console messages."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from taskmill.core.pipeline import NodeStatus
from taskmill.engine.nodes import Node
from taskmill.engine.scheduler import RunResult


class ProgressView:
    """Shows ``done / running / failed`` counts and elapsed time while a run goes.

    Enabled by default when stdout is a terminal. Messages always go to the controller's log
    (``log``); the live display goes to the terminal only.
    """

    def __init__(self, name: str, run_id: str, *, enabled: bool | None, log: Callable[[str], None]) -> None:
        self._name = name
        self._run_id = run_id
        self._log = log
        terminal = getattr(sys.stdout, "target", sys.stdout)
        self._terminal = terminal
        self._enabled = terminal.isatty() if enabled is None else enabled
        self._counts: Counter[str] = Counter()
        self._status: dict[str, str] = {}
        self._lock = threading.Lock()
        self._live: Any = None
        self._started = time.monotonic()

    def start(self, nodes: Mapping[str, Node]) -> None:
        """Begin showing progress for ``nodes``."""
        with self._lock:
            for node in nodes.values():
                self._status[node.name] = node.status.value
                self._counts[node.status.value] += 1
        self._started = time.monotonic()
        count = f"{len(nodes)} step(s)" if nodes else "steps are added as the pipeline function runs"
        self.console(f"Pipeline '{self._name}' run {self._run_id}: {count}")
        if self._enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._render(),
                console=Console(file=self._terminal),
                refresh_per_second=8,
                redirect_stdout=False,
                redirect_stderr=False,
                transient=True,
                get_renderable=self._render,
            )
            self._live.start()

    def on_change(self, node: Node) -> None:
        """Called by the run loop whenever a node changes."""
        with self._lock:
            old = self._status.get(node.name)
            if old is not None:
                self._counts[old] -= 1
            self._status[node.name] = node.status.value
            self._counts[node.status.value] += 1

    def console(self, message: str) -> None:
        """A controller message: into its log, and onto the terminal."""
        self._log(message)
        if self._live is not None:
            self._live.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self._terminal, flush=True)

    def _render(self) -> Any:
        from rich.text import Text

        with self._lock:
            c = dict(self._counts)
            total = len(self._status)
        done = c.get("completed", 0) + c.get("cached", 0)
        elapsed = time.monotonic() - self._started
        text = Text()
        text.append(f"{self._name} ", style="bold")
        text.append(f"{done}/{total} done", style="green")
        if c.get("cached"):
            text.append(f" ({c['cached']} cached)", style="blue")
        text.append(f" · {c.get('running', 0)} running", style="yellow")
        failed = c.get("failed", 0) + c.get("aborted", 0)
        if failed:
            text.append(f" · {failed} failed", style="red")
        if c.get("skipped"):
            text.append(f" · {c['skipped']} skipped", style="dim")
        text.append(f" · {elapsed:.1f}s", style="dim")
        return text

    def stop(self, result: RunResult) -> None:
        """End the live display."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def footer(self, run_id: str, result: RunResult) -> None:
        """Say how the run ended and where to look."""
        with self._lock:
            c = dict(self._counts)
        summary = ", ".join(f"{c[s.value]} {s.value}" for s in NodeStatus if c.get(s.value))
        elapsed = time.monotonic() - self._started
        self.console(f"Pipeline '{self._name}' {result.status.value} in {elapsed:.1f}s: {summary}")
        if result.status.value != "completed":
            self.console(f"  reason: {result.message}")
        self.console(f"See the run: taskmill pipelines show {run_id}")
