"""A layered (Sugiyama-style) left-to-right layout of a directed graph, in plain Python.

Steps: break cycles (depth-first, back edges reversed) -> longest-path layering -> virtual nodes on
edges that span several layers (so long edges get their own lane, up to a budget) -> barycentre
ordering sweeps -> vertical placement pulled towards neighbours while keeping order and spacing.
The result is node positions and one polyline per edge; drawing is left to the browser.

Pure: no I/O, no clock. Used by :mod:`taskmill.server.ui.graph` for the run page's DAG.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: Horizontal distance between the left edges of two consecutive layers, beyond the widest node.
LAYER_GAP = 64.0
#: Vertical space between two nodes of a layer.
NODE_GAP = 14.0
#: Height reserved for a virtual (edge) node.
VIRTUAL_HEIGHT = 6.0
#: At most this many virtual nodes are created; edges beyond the budget are drawn directly.
VIRTUAL_BUDGET = 6000
#: Barycentre sweeps (each goes down then up).
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Placed:
    """A node's box: top-left corner, size, and its layer (column) index."""

    x: float
    y: float
    w: float
    h: float
    layer: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Positions of every node, the points of every edge, and the overall size."""

    nodes: dict[str, Placed]
    edges: list[tuple[str, str, list[tuple[float, float]]]]  #: (source, target, points)
    width: float
    height: float


def acyclic_order(
    ids: Sequence[str], parents: Mapping[str, Sequence[str]]
) -> tuple[list[str], set[tuple[str, str]]]:
    """A topological order of ``ids`` and the edges ``(parent, child)`` that had to be reversed
    to get one (back edges of a depth-first search; empty for a DAG). Iterative: no recursion limit."""
    children: dict[str, list[str]] = {n: [] for n in ids}
    for child in ids:
        for parent in parents.get(child, ()):
            if parent in children and parent != child:
                children[parent].append(child)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, index = stack[-1]
            kids = children[node]
            if index < len(kids):
                stack[-1] = (node, index + 1)
                kid = kids[index]
                seen = state.get(kid)
                if seen is None:
                    state[kid] = 1
                    stack.append((kid, 0))
                elif seen == 1:
                    back.add((node, kid))
            else:
                state[node] = 2
                post.append(node)
                stack.pop()
    post.reverse()
    return post, back


def layers_of(order: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: sources in layer 0, every node one right of its furthest parent.
    ``order`` must be topological for ``edges``."""
    incoming: dict[str, list[str]] = {}
    for src, dst in edges:
        incoming.setdefault(dst, []).append(src)
    layer: dict[str, int] = {}
    for node in order:
        layer[node] = max((layer[p] + 1 for p in incoming.get(node, ())), default=0)
    return layer


def layout(
    ids: Sequence[str],
    parents: Mapping[str, Sequence[str]],
    sizes: Mapping[str, tuple[float, float]],
) -> Layout:
    """Lay out the graph whose nodes are ``ids`` (in a stable, meaningful order, e.g. topological)
    with ``parents[id]`` edges, each node ``sizes[id] = (width, height)``, left to right."""
    order, back = acyclic_order(ids, parents)
    known = set(ids)
    edges: list[tuple[str, str]] = []
    seen_edges: set[tuple[str, str]] = set()
    for child in ids:
        for parent in parents.get(child, ()):
            if parent not in known or parent == child:
                continue
            edge = (child, parent) if (parent, child) in back else (parent, child)
            if edge not in seen_edges:
                seen_edges.add(edge)
                edges.append(edge)
    layer = layers_of(order, edges)
    rank = {n: i for i, n in enumerate(ids)}

    # virtual nodes: an edge spanning k layers becomes k-1 hops through virtual nodes
    chains: list[tuple[str, str, list[str]]] = []
    up: dict[str, list[str]] = {n: [] for n in order}
    down: dict[str, list[str]] = {n: [] for n in order}
    budget = VIRTUAL_BUDGET
    for src, dst in edges:
        span = layer[dst] - layer[src]
        path = [src]
        if 1 < span <= budget:
            budget -= span - 1
            for step in range(1, span):
                virtual = f"\x00{len(chains)}:{step}"
                layer[virtual] = layer[src] + step
                rank[virtual] = rank[src]
                up[virtual], down[virtual] = [], []
                path.append(virtual)
        path.append(dst)
        for a, b in itertools.pairwise(path):
            down[a].append(b)
            up[b].append(a)
        chains.append((src, dst, path[1:-1]))

    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in sorted(layer, key=lambda n: (rank[n], n)):
        columns[layer[node]].append(node)
    _order_columns(columns, up, down)

    def height(node: str) -> float:
        return sizes[node][1] if node in sizes else VIRTUAL_HEIGHT

    ys = _place(columns, up, down, height)
    xs: list[float] = []
    x = 0.0
    for column in columns:
        xs.append(x)
        x += max((sizes[n][0] for n in column if n in sizes), default=0.0) + LAYER_GAP
    placed = {
        node: Placed(xs[layer[node]], ys[node], sizes[node][0], sizes[node][1], layer[node]) for node in ids
    }
    drawn = []
    for src, dst, virtuals in chains:
        first, last = placed[src], placed[dst]
        points = [(first.x + first.w, first.y + first.h / 2)]
        points += [(xs[layer[v]] + 20.0, ys[v] + VIRTUAL_HEIGHT / 2) for v in virtuals]
        points.append((last.x, last.y + last.h / 2))
        reversed_edge = (dst, src) in back
        drawn.append((dst, src, points[::-1]) if reversed_edge else (src, dst, points))
    width = max((p.x + p.w for p in placed.values()), default=0.0)
    bottom = max((ys[n] + height(n) for n in ys), default=0.0)
    return Layout(placed, drawn, width, bottom)


def _order_columns(columns: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]]) -> None:
    """Barycentre heuristic: sort each column by the mean position of its neighbours in the
    column just swept, alternating downward (by parents) and upward (by children)."""
    pos: dict[str, float] = {}
    for column in columns:
        for i, node in enumerate(column):
            pos[node] = float(i)
    for _ in range(SWEEPS):
        for direction in (1, -1):
            indices = range(1, len(columns)) if direction == 1 else range(len(columns) - 2, -1, -1)
            for index in indices:
                column = columns[index]
                links = up if direction == 1 else down

                def key(node: str, links: dict[str, list[str]] = links) -> float:
                    near = links[node]
                    return sum(pos[n] for n in near) / len(near) if near else pos[node]

                column.sort(key=key)
                for i, node in enumerate(column):
                    pos[node] = float(i)


def _place(
    columns: list[list[str]],
    up: dict[str, list[str]],
    down: dict[str, list[str]],
    h: Callable[[str], float],
) -> dict[str, float]:
    """Vertical positions: start stacked and centred, then pull each node towards the mean centre
    of its neighbours (down by parents, up by children), keeping order and spacing."""
    tallest = max((sum(h(n) + NODE_GAP for n in col) for col in columns), default=0.0)
    ys: dict[str, float] = {}
    for column in columns:
        total = sum(h(n) + NODE_GAP for n in column)
        y = (tallest - total) / 2
        for node in column:
            ys[node] = y
            y += h(node) + NODE_GAP
    for _ in range(2):
        for links, indices in ((up, range(1, len(columns))), (down, range(len(columns) - 2, -1, -1))):
            for index in indices:
                _pull(columns[index], links, ys, h)
    top = min(ys.values(), default=0.0)
    return {n: y - top for n, y in ys.items()}


def _pull(
    column: list[str], links: dict[str, list[str]], ys: dict[str, float], h: Callable[[str], float]
) -> None:
    """Move the nodes of one column towards their wanted centres without reordering or overlap:
    the mean of a top-down and a bottom-up pass, each of which keeps the spacing."""
    if not column:
        return
    wanted = []
    for node in column:
        near = links[node]
        centre = sum(ys[n] + h(n) / 2 for n in near) / len(near) if near else ys[node] + h(node) / 2
        wanted.append(centre - h(node) / 2)
    forward = list(wanted)
    for i in range(1, len(column)):
        forward[i] = max(forward[i], forward[i - 1] + h(column[i - 1]) + NODE_GAP)
    backward = list(wanted)
    for i in range(len(column) - 2, -1, -1):
        backward[i] = min(backward[i], backward[i + 1] - h(column[i]) - NODE_GAP)
    for i, node in enumerate(column):
        ys[node] = (forward[i] + backward[i]) / 2
