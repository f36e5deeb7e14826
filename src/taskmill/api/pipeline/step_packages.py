"""The packages a function step imports, recorded as its requirements (ClearML's auto-detection).

ClearML records, for a function step that names no ``packages``, the packages its code imports,
so an agent can build an environment for it. Here the step's source (the function, its helpers
and the functions of yours it calls: what :func:`~taskmill.api.pipeline.functions.function_source`
gives) is parsed for ``import`` statements; each top-level module that an installed distribution
provides becomes ``name==version`` of this interpreter. The standard library, taskmill and your
own modules (no distribution provides them) are left out. Nothing is imported.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping


def imported_top_level(source: str) -> list[str]:
    """The top-level module names ``source`` imports (absolute imports only), in order; [] when it
    does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


class PackageDetector:
    """Maps a step's source to its requirement lines. One per run: the table of which
    distribution provides which module is read once, on first use (tens of milliseconds)."""

    def __init__(self) -> None:
        self._providers: Mapping[str, list[str]] | None = None
        self._versions: dict[str, str] = {}

    def requirements(self, source: str) -> list[str]:
        """``name==version`` lines for the distributions ``source`` imports. Blocking (reads
        installed metadata once)."""
        from importlib import metadata

        if self._providers is None:
            self._providers = metadata.packages_distributions()
        lines: list[str] = []
        for module in imported_top_level(source):
            if module in sys.stdlib_module_names or module == "taskmill":
                continue
            for dist in self._providers.get(module, [])[:1]:
                version = self._versions.get(dist)
                if version is None:
                    try:
                        version = self._versions[dist] = metadata.version(dist)
                    except metadata.PackageNotFoundError:
                        continue
                line = f"{dist}=={version}"
                if line not in lines:
                    lines.append(line)
        return lines
