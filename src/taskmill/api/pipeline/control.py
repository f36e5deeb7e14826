"""``RunHandle``: a started run, and the controls ``PipelineController`` offers on it.

The run loop (:class:`~taskmill.engine.scheduler.PipelineRun`) goes on a thread of its own; the
handle joins it (``wait``), stops it (``stop``: non-blocking inside a callback, so a callback may
stop its own run), and says how it ended. Units follow ClearML: timeouts and ``elapsed()`` are in
minutes. Thread-safe: every control may be called from any thread.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping

from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.nodes import Node
from taskmill.engine.scheduler import PipelineRun, RunResult

#: run status each ``fail_condition`` of ``is_successful`` accepts
_RUN_OK = {
    "all": frozenset({TaskStatus.completed}),
    "failed": frozenset({TaskStatus.completed, TaskStatus.stopped}),
    "aborted": frozenset({TaskStatus.completed, TaskStatus.failed}),
}


class RunHandle:
    """One run going on its own thread (see the module docstring).

    ``finish(result)`` runs on that thread once the loop ended (recording the result on the
    controller task); ``console`` tells the person at the terminal about a controller error.
    """

    def __init__(
        self,
        run: PipelineRun,
        *,
        finish: Callable[[RunResult], None],
        console: Callable[[str], None],
    ) -> None:
        self.run = run
        self.result: RunResult | None = None  #: how the run ended (None while it runs)
        self.started_at: float | None = None
        self._finish = finish
        self._console = console
        self._thread = threading.Thread(target=self._main, name="taskmill-pipeline")

    @property
    def backend(self) -> Backend:
        """Store and artifacts the run works on."""
        return self.run.backend

    @property
    def nodes(self) -> Mapping[str, Node]:
        """The run's nodes, live."""
        return self.run.nodes

    def start(self) -> None:
        """Start the loop thread. Non-blocking; call once."""
        self.started_at = time.time()
        self._thread.start()

    def _main(self) -> None:
        try:
            result = self.run.run()
        except BaseException as exc:  # recorded on the controller task
            result = RunResult(TaskStatus.failed, f"controller error: {type(exc).__name__}: {exc}")
            self._console(result.message)
        self.result = result
        self._finish(result)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (``timeout`` in minutes); True if it ended."""
        self._thread.join(None if timeout is None else timeout * 60)
        return not self._thread.is_alive()

    def stop(
        self, *, timeout: float | None = None, mark_failed: bool = False, mark_aborted: bool = False
    ) -> None:
        """Stop the run: running steps are aborted, pending ones skipped. From the run's own
        thread (a callback) it returns at once; elsewhere it waits up to ``timeout`` minutes."""
        self.run.stop(mark_failed=mark_failed, mark_aborted=mark_aborted or not mark_failed)
        if threading.current_thread() is not self._thread:
            self.wait(timeout)

    def is_running(self) -> bool:
        """True while the loop thread is going."""
        return self._thread.is_alive()

    def is_successful(self, *, fail_on_step_fail: bool, fail_condition: str) -> bool:
        """True when the run ended as ``fail_condition`` allows and, with ``fail_on_step_fail``,
        every step ended well. Cached steps count as successes; ValueError for an unknown
        ``fail_condition`` (once the run ended)."""
        if self.result is None or self.is_running():
            return False
        ok = _RUN_OK.get(fail_condition)
        if ok is None:
            raise ValueError("fail_condition must be 'all', 'failed' or 'aborted'")
        if self.result.status not in ok:
            return False
        if not fail_on_step_fail:
            return True
        node_ok = {NodeStatus.completed, NodeStatus.cached, NodeStatus.skipped}
        if fail_condition == "failed":
            node_ok.add(NodeStatus.aborted)
        elif fail_condition == "aborted":
            node_ok.add(NodeStatus.failed)
        nodes = self.run.nodes.values()
        return all(n.status in node_ok for n in nodes if not n.skip_job or n.status != NodeStatus.skipped)

    def elapsed(self) -> float:
        """Minutes since the run started; -1.0 before."""
        return -1.0 if self.started_at is None else (time.time() - self.started_at) / 60.0

    def join_interruptibly(self) -> None:
        """Block until the run ends; Ctrl-C or SIGTERM (on the main thread) stop it first."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: self.stop(mark_aborted=True))
        try:
            while self._thread.is_alive():
                self._thread.join(0.25)
        except KeyboardInterrupt:
            self.stop(mark_aborted=True)
            self._thread.join()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
