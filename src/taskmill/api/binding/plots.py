"""matplotlib figures become plots of the current task: on ``Figure.savefig`` (and so
``plt.savefig``) the saved figure, on ``plt.show()`` every open figure, each as a PNG image (as
``Logger.report_matplotlib_figure`` records it). The title is the figure's suptitle, else its
first axes' title, else ``Figure <number>``; the series is ``plot``; successive reports of a
title count iterations 0, 1, ... A figure that renders as it did when last reported is not
reported again (so ``savefig`` then ``show`` makes one plot). ``show`` reports before it runs,
since an interactive window closes the figures. Switched by the ``matplotlib`` key.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike

SERIES = "plot"


def figure_title(figure: Any) -> str:
    """The figure's suptitle, else its first axes' title, else ``Figure <number>``."""
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        return str(suptitle.get_text())
    for axes in getattr(figure, "axes", ()):
        if axes.get_title():
            return str(axes.get_title())
    number = getattr(figure, "number", None)
    return f"Figure {number}" if number is not None else "Figure"


class _Reported:
    """What each figure looked like when last reported (its PNG's digest), so an unchanged
    figure is not reported twice (matplotlib's ``stale`` flag is set by ``savefig`` itself)."""

    def __init__(self) -> None:
        self._digests: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def report(self, patcher: Patcher, task: TaskLike, figure: Any) -> None:
        from taskmill.api.logger import Logger

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")  # inside the wrapper: not reported again
        png = buffer.getvalue()
        digest = hashlib.sha256(png).hexdigest()
        if self._digests.get(figure) == digest:
            return
        self._digests[figure] = digest
        title = figure_title(figure)
        with tempfile.TemporaryDirectory(prefix="taskmill-figure-") as folder:
            path = os.path.join(folder, "figure.png")
            with open(path, "wb") as handle:
                handle.write(png)
            iteration = patcher.next_iteration(title, SERIES)
            Logger(task).report_image(title, SERIES, iteration, local_path=path)


def _bind_figure(module: ModuleType, patcher: Patcher, reported: _Reported) -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def savefig(*args: Any, **kwargs: Any) -> Any:
            def after(task: TaskLike, _: Any) -> None:
                reported.report(patcher, task, args[0])

            return patcher.call(original, args, kwargs, after=after)

        return savefig

    patcher.replace(module.Figure, "savefig", make)


def _bind_pyplot(module: ModuleType, patcher: Patcher, reported: _Reported) -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def show(*args: Any, **kwargs: Any) -> Any:
            def before(task: TaskLike, _: Any) -> None:
                for manager in module._pylab_helpers.Gcf.get_all_fig_managers():
                    reported.report(patcher, task, manager.canvas.figure)

            return patcher.call(original, args, kwargs, before=before)

        return show

    patcher.replace(module, "show", make)


def _shared(apply: Callable[[ModuleType, Patcher, _Reported], None]) -> Callable[[ModuleType, Patcher], None]:
    def bind(module: ModuleType, patcher: Patcher) -> None:
        apply(module, patcher, patcher.shared("matplotlib", _Reported))

    return bind


BINDINGS = (
    Binding("matplotlib", "matplotlib.figure", _shared(_bind_figure)),
    Binding("matplotlib", "matplotlib.pyplot", _shared(_bind_pyplot)),
)
