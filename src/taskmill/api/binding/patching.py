"""The patch set of one ``Task.init``: wrapping framework functions, undoing it, reporting safely.

A :class:`Patcher` owns every replacement it makes (``owner.attr`` → wrapper, with the original
kept) and undoes them in reverse on :meth:`Patcher.undo`. A wrapper is marked with the function
it wraps, so patching an already patched attribute is a no-op (never a wrapper of a wrapper).

Every wrapper goes through :meth:`Patcher.call`: the user's call runs first and its result (or
exception) is what the user gets; the reporting step after it runs only when a task is current
(``Task.current_task()``: the pipeline step of this thread, else the main task) and open, and any
failure in it is logged as a warning on the ``taskmill.binding`` logger, never raised. Calls made
while reporting (a framework function calling another patched one, ``Logger.report_matplotlib_figure``
calling ``Figure.savefig``) are not reported again: a per-thread depth counter sees them.

Thread-safe: patches are made under the import lock or ``Task.init``'s lock; the model table has
its own lock. Reporting blocks like the Logger and OutputModel calls it makes.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from taskmill.api.session import PROCESS, TaskLike

#: the attribute a wrapper carries: the function it replaced
WRAPPED = "__taskmill_wrapped__"

LOG = logging.getLogger("taskmill.binding")

Report = Callable[[TaskLike, Any], None]
T = TypeVar("T")
#: makes a wrapper of the function it is given
Make = Callable[[Callable[..., Any]], Callable[..., Any]]


class Options:
    """Which bindings are on, from ``Task.init(auto_connect_frameworks=...)``.

    ``True``/``False`` switch every binding; a mapping switches each key (missing keys are on).
    A value that is a string or a list of strings is on, and keeps only the model files whose
    name matches one of those glob patterns (ClearML's ``{'pytorch': '*.pt'}``); any other
    truthy value (``True``, a dict of settings) is on.
    """

    def __init__(self, spec: bool | Mapping[str, Any]) -> None:
        self._all = bool(spec) if isinstance(spec, bool) else True
        self._spec: dict[str, Any] = dict(spec) if isinstance(spec, Mapping) else {}

    def enabled(self, key: str) -> bool:
        """Whether binding ``key`` is on (``scikit`` off switches ``joblib`` off too, as both name it)."""
        if not self._all:
            return False
        keys = ("joblib", "scikit") if key == "joblib" else (key,)
        return all(self._spec.get(k, True) not in (False, None) for k in keys)

    def accepts(self, key: str, filename: str) -> bool:
        """Whether a model file named ``filename`` is reported for binding ``key``."""
        value = self._spec.get(key, True)
        patterns: Sequence[str] = (value,) if isinstance(value, str) else ()
        if isinstance(value, (list, tuple)):
            patterns = [str(p) for p in value]
        name = Path(filename).name
        return not patterns or any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(filename, p) for p in patterns)


def file_name(target: Any) -> str | None:
    """The path a save call wrote to: ``target`` itself (str or path), or an open file's name
    (flushed first, so the bytes are on disk); None for anything else (a buffer)."""
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        return path if isinstance(path, str) else None
    name = getattr(target, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        flush = getattr(target, "flush", None)
        if callable(flush):
            flush()
        return name
    return None


class Patcher:
    """The patches of one ``Task.init`` and the models they reported (see the module docstring)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._undo: list[tuple[Any, str, Any, Any]] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        #: (task id, absolute path) -> OutputModel: saving the same file again updates its model
        self._models: dict[tuple[str, str], Any] = {}
        #: title -> the next iteration of an auto-reported figure (each report is kept)
        self._counters: dict[tuple[str, str], int] = {}
        #: state the bindings of one framework share (see :meth:`shared`)
        self._shared: dict[str, Any] = {}

    # -- patching -------------------------------------------------------------------------------

    def replace(self, owner: Any, attr: str, make: Make) -> None:
        """Replace ``owner.attr`` (a function or method defined on ``owner``) by ``make(original)``.
        A no-op when it is missing or already a taskmill wrapper."""
        current = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if current is None or not callable(current) or getattr(current, WRAPPED, None) is not None:
            return
        wrapper = functools.wraps(current)(make(current))
        setattr(wrapper, WRAPPED, current)
        setattr(owner, attr, wrapper)
        self._undo.append((owner, attr, current, wrapper))

    def undo(self) -> None:
        """Restore every replaced attribute (latest first). Idempotent."""
        while self._undo:
            owner, attr, original, wrapper = self._undo.pop()
            live = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
            # a patch someone else put on top of ours stays: restoring would drop theirs too
            if live is wrapper:
                setattr(owner, attr, original)

    @property
    def patched(self) -> list[tuple[Any, str]]:
        """``(owner, attribute)`` of every live replacement."""
        return [(owner, attr) for owner, attr, _, _ in self._undo]

    # -- calling --------------------------------------------------------------------------------

    @contextmanager
    def _busy(self) -> Iterator[bool]:
        """True when this thread is already inside a taskmill wrapper."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield depth > 0
        finally:
            self._local.depth = depth

    def task(self) -> TaskLike | None:
        """The open task reports go to, or None."""
        task = PROCESS.current_task()
        return None if task is None or getattr(task, "_closed", False) else task

    def call(
        self,
        original: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        after: Report | None = None,
        before: Report | None = None,
    ) -> Any:
        """``original(*args, **kwargs)``, with ``before(task, None)`` ahead of it and
        ``after(task, result)`` once it returned, both only inside an open task and outside
        another wrapper; their failures are logged, never raised."""
        with self._busy() as nested:
            task = None if nested else self.task()
            if task is not None and before is not None:
                self._safely(before, task, None)
            result = original(*args, **kwargs)
            if task is not None and after is not None:
                self._safely(after, task, result)
            return result

    def _safely(self, report: Report, task: TaskLike, result: Any) -> None:
        try:
            report(task, result)
        except Exception as err:  # a binding never breaks the user's call
            LOG.warning("taskmill: could not auto-log to task %s (%s): %s", task.id, report.__qualname__, err)

    # -- reporting helpers ----------------------------------------------------------------------

    def report_model(self, task: TaskLike, key: str, target: Any, framework: str) -> None:
        """Record the file ``target`` (a path or an open file; a folder is zipped) as an output
        model of ``task`` with ``framework``; the same file saved again uploads new weights to the
        same model. Files the options filter out, and targets that are no file, are skipped."""
        filename = file_name(target)
        if filename is None or not os.path.exists(filename) or not self.options.accepts(key, filename):
            return
        from taskmill.api.model.output import OutputModel  # loaded when a model is first saved

        path = os.path.abspath(filename)
        with self._lock:
            model = self._models.get((task.id, path))
            if model is None:
                model = OutputModel(task=task, framework=framework, name=f"{task.name} - {Path(path).name}")
                self._models[(task.id, path)] = model
        cast(OutputModel, model).update_weights(weights_filename=path)

    def shared(self, name: str, factory: Callable[[], T]) -> T:
        """The object ``name`` of this patch set, made by ``factory`` on first use."""
        with self._lock:
            if name not in self._shared:
                self._shared[name] = factory()
            return cast(T, self._shared[name])

    def next_iteration(self, title: str, series: str) -> int:
        """0, 1, 2 ... for successive auto-reported figures of ``title/series``."""
        with self._lock:
            n = self._counters.get((title, series), 0)
            self._counters[(title, series)] = n + 1
            return n
