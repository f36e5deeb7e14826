"""What a fork server warms itself with: which imported modules are library code worth preloading.

Shared by the client (:mod:`taskmill.engine.forkserver`, for its default ``warm`` list) and the
server process (:mod:`taskmill.engine._forkserver_main`, for what its children learned). Stdlib
only, no module state: the server imports it before anything else.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import threading
from collections.abc import Iterable
from typing import Any

#: POSIX minimum: a write of up to this many bytes to a pipe is atomic (never interleaved)
PIPE_BUF = 4096


def report_learned(fd: int, roots: tuple[str, ...], before: set[str]) -> None:
    """In a fork server's child: write to ``fd`` the library modules imported since ``before``
    (one per line, ``+`` in front when no thread is running: no probe needed). Best effort: never
    raises, never blocks (``fd`` is non-blocking; a full pipe drops the rest)."""
    with contextlib.suppress(Exception):  # BlockingIOError on a full pipe, an odd module
        chunk, mark = b"", b"+" if threading.active_count() == 1 else b""
        for name in warmable([n for n in list(sys.modules) if n not in before], sys.modules, roots):
            line = mark + name.encode() + b"\n"
            if len(chunk) + len(line) > PIPE_BUF:
                os.write(fd, chunk)
                chunk = b""
            chunk += line
        if chunk:
            os.write(fd, chunk)


def library_roots() -> tuple[str, ...]:
    """Folders of this interpreter's standard library and site-packages (with a trailing separator)."""
    paths = sysconfig.get_paths()
    folders = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(k)]
    # as given and resolved: module files are compared as they are, with no system call per module
    return tuple(sorted({os.path.join(p, "") for f in folders for p in (f, os.path.realpath(f))}))


def warmable(names: Iterable[str], modules: Any, roots: tuple[str, ...]) -> list[str]:
    """The names worth importing into a warm worker: public modules whose file lies under ``roots``
    (library code, never the user's scripts), keeping only the deepest of a package chain
    (importing ``a.b.c`` imports ``a`` and ``a.b``). ``modules`` maps names to loaded modules."""
    keep = []
    for name in names:
        if name == "__main__" or any(part.startswith("_") for part in name.split(".")):
            continue
        file = getattr(modules.get(name), "__file__", None)
        if isinstance(file, str) and file.startswith(roots):
            keep.append(name)
    keep.sort()
    # sorted: a package's submodules ("a.b") come right after it, before any sibling ("a0", "a_")
    return [n for i, n in enumerate(keep) if i + 1 == len(keep) or not keep[i + 1].startswith(n + ".")]
