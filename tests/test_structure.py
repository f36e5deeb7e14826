"""Structure gates: no module over the size limit, no import cycle anywhere in ``src/``.

The cycle scan reads every module's AST, so it sees what import-linter and Python's own import
machinery can miss: imports inside functions ("to avoid a cycle"), imports under
``TYPE_CHECKING``, and ``from package import name`` that runs the package's ``__init__``. Each gate
is paired with a test that feeds it a bad example, so a gate that cannot fail is noticed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_LINES = 600


def module_name(root: Path, path: Path) -> tuple[str, bool]:
    """The dotted name of ``path`` under ``root`` and whether it is a package ``__init__``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``root`` it imports anywhere in its source (functions included)."""
    files = {module_name(root, p): p for p in root.rglob("*.py")}
    known = {name for name, _ in files}
    graph: dict[str, set[str]] = {name: set() for name in known}

    def deepest_known(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for (name, is_pkg), path in files.items():
        package = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    if node.level > 1:
                        base = base[: -(node.level - 1)]
                    module = ".".join(base) + (f".{node.module}" if node.module else "")
                else:
                    module = node.module or ""
                # ``from pkg import sub`` imports pkg.sub; ``from pkg import name`` runs pkg/__init__.
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in known else module)
            for target in targets:
                found = deepest_known(target)
                if found and found != name:
                    graph[name].add(found)
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def oversized(root: Path, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules of ``root`` longer than ``limit`` lines."""
    sizes = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in root.rglob("*.py")}
    return {name: n for name, n in sizes.items() if n > limit}


def test_no_module_over_the_limit() -> None:
    assert oversized(SRC) == {}


def test_size_gate_can_fail(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "small.py").write_text("x = 1\n")
    assert oversized(tmp_path) == {"big.py": MAX_LINES + 1}


def test_no_import_cycle_in_src() -> None:
    assert cycles(import_graph(SRC)) == []


def test_cycle_gate_sees_function_level_and_package_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg.a import A\n")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n    return b\nA = 1\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n"
    )
    (pkg / "c.py").write_text("from pkg import A\n")  # runs pkg/__init__, which imports a, not c
    found = cycles(import_graph(tmp_path))
    assert found == [["pkg.a", "pkg.b"]]
    (pkg / "a.py").write_text("from pkg.c import x\n")
    assert ["pkg", "pkg.a", "pkg.c"] in cycles(import_graph(tmp_path))
