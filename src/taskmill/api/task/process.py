"""Console and script capture of a task run by this process (``Task.init``).

* **Console**: ``sys.stdout``/``sys.stderr`` are replaced by tees that write through and copy
  complete lines to the task's log (or, in an in-process pipeline step, to that step's log).
  Releasing restores the original streams and writes out any unterminated line.
* **Script**: the entry point, git state, diff and installed packages are recorded by a background
  thread (non-blocking; ``get_script_info`` and ``close`` wait for it). In a Jupyter notebook the
  script is the notebook's code (:mod:`taskmill.api.capture`), recorded again after every cell
  while the task runs, so the cells after ``Task.init`` are part of it too.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import replace
from typing import Any

from taskmill.api.reporter import ConsoleTee
from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle
from taskmill.core.states import TaskStatus


class KernelConsoleTee(ConsoleTee):
    """A :class:`ConsoleTee` over a Jupyter kernel's output stream: what the tee does not define
    (``set_parent`` above all: the kernel tags each cell's output with it) goes to the stream,
    so a cell's output still reaches that cell."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


class TaskProcess(TaskHandle):
    """Capturing this process's console and script into the task (a part of ``Task``)."""

    def _capture_console(self) -> None:
        """Tee ``sys.stdout``/``sys.stderr`` into the task's log (lines of in-process steps go to theirs)."""
        rep = self._reporter()
        route = PROCESS.step_reporter.get
        tee = KernelConsoleTee if _kernel_shell() is not None else ConsoleTee
        out = tee(sys.stdout, rep, "stdout", route)
        err = tee(sys.stderr, rep, "stderr", route)
        self._tees = [out, err]
        sys.stdout = out
        sys.stderr = err

    def _release_console(self) -> None:
        """Write out unterminated lines and put back the streams the tees replaced (if still installed)."""
        for tee in self._tees:
            tee.flush_partial()
        if self._tees:
            out, err = self._tees
            if sys.stdout is out:
                sys.stdout = out.target
            if sys.stderr is err:
                sys.stderr = err.target
        self._tees = []

    def _start_script_capture(self) -> None:
        """Record script, git state and requirements in a daemon thread (git and pip can be slow)."""

        def capture() -> None:
            try:
                # imported here, off the main thread: capture loads importlib.metadata, git
                # helpers and subprocess (~20 ms) that Task.init itself does not need
                from taskmill.api.capture import local_root, script_info

                info = script_info()
                info = replace(info, requirements=PROCESS.controlled_requirements(info.requirements))
                self._store().update_task(self.id, script=info, runtime={"script_root": local_root()})
            except Exception as exc:
                self._reporter().log(f"taskmill: could not record the script ({exc})", "warning")

        self._capture_thread = threading.Thread(target=capture, name="taskmill-capture", daemon=True)
        self._capture_thread.start()
        shell = _kernel_shell()
        if shell is not None:
            self._follow_notebook(shell)

    def _follow_notebook(self, shell: Any) -> None:
        """Record the notebook's code again after each cell (IPython's ``post_run_cell``) while this
        task is the running main task; stops following once it is not."""

        from taskmill.api.capture import script_info  # lazy: only notebooks need it

        def after_cell(*_: object) -> None:
            try:
                record = self._fresh()
                main: object = PROCESS.main_task  # a Task (the protocol types it apart from this mixin)
                if self._closed or main is not self or record.status != TaskStatus.in_progress:
                    shell.events.unregister("post_run_cell", after_cell)
                    return
                self._join_capture()  # the first capture holds the requirements
                record = self._fresh()
                info = replace(script_info(with_packages=False), requirements=record.script.requirements)
                if info != record.script:
                    self._store().update_task(self.id, script=info)
            except Exception as exc:
                self._reporter().log(f"taskmill: could not record the notebook's code ({exc})", "warning")

        shell.events.register("post_run_cell", after_cell)


def _kernel_shell() -> Any:
    """:func:`taskmill.api.capture.kernel_shell`, without importing capture when IPython is not loaded
    (no IPython, no kernel: the common case stays free of capture's imports)."""
    if "IPython" not in sys.modules:
        return None
    from taskmill.api.capture import kernel_shell

    return kernel_shell()
