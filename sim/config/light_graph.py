"""A small directed graph for checking a design while a scenario loads, without networkx.

Importing networkx costs every command about a tenth of a second before its first simulation,
for a dozen nodes whose only questions are "is the bank reachable" and "do synchronous calls
form a cycle". :class:`LightGraph` offers the part of ``networkx.DiGraph``'s interface that the
graph's contributors and checks use (``sim.config.graph``), in the same orders (nodes as first
added, edges by source then target as first added), so a check reads the same on either graph.
The picture and ``paychaos graph`` still build a ``networkx.DiGraph``.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any, Hashable, Iterable, Iterator


class LightGraph:
    """Nodes and directed edges with attribute dicts, as ``networkx.DiGraph`` keeps them."""

    def __init__(self, **attrs: Any) -> None:
        self.graph: dict[str, Any] = dict(attrs)
        self._nodes: dict[Hashable, dict[str, Any]] = {}
        self._succ: dict[Hashable, dict[Hashable, dict[str, Any]]] = {}
        self._in_degree: dict[Hashable, int] = {}

    def add_node(self, name: Hashable, **attrs: Any) -> None:
        if name not in self._nodes:
            self._nodes[name], self._succ[name], self._in_degree[name] = {}, {}, 0
        self._nodes[name].update(attrs)

    def add_edge(self, source: Hashable, target: Hashable, **attrs: Any) -> None:
        for end in (source, target):
            self.add_node(end)
        if target not in self._succ[source]:
            self._succ[source][target] = {}
            self._in_degree[target] += 1
        self._succ[source][target].update(attrs)

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def nodes(self, data: bool = False) -> Iterable:
        """Node names, or (name, attributes) pairs with ``data=True``."""
        return list(self._nodes.items()) if data else list(self._nodes)

    def edges(self, data: bool | str = False) -> list[tuple]:
        """(source, target) pairs; with ``data=True`` their attributes, with ``data="key"`` that
        attribute (None where unset), as a third item."""
        return [_edge(u, v, attrs, data) for u, targets in self._succ.items() for v, attrs in targets.items()]

    def out_edges(self, name: Hashable, data: bool | str = False) -> list[tuple]:
        return [_edge(name, v, attrs, data) for v, attrs in self._succ[name].items()]

    def in_degree(self, name: Hashable) -> int:
        return self._in_degree[name]


def _edge(source: Hashable, target: Hashable, attrs: dict[str, Any], data: bool | str) -> tuple:
    if data is False:
        return source, target
    return source, target, attrs if data is True else attrs.get(data)


def reachable(edges: Iterable[tuple], source: Hashable, target: Hashable) -> bool:
    """Whether a path of ``edges`` ((u, v, ...) tuples) leads from ``source`` to ``target``."""
    successors: dict[Hashable, list[Hashable]] = {}
    for u, v, *_ in edges:
        successors.setdefault(u, []).append(v)
    seen, todo = {source}, [source]
    while todo:
        node = todo.pop()
        if node == target:
            return True
        for nxt in successors.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def has_cycle(edges: Iterable[tuple]) -> bool:
    """Whether ``edges`` ((u, v, ...) tuples) form a directed cycle (the standard library's
    topological sorter finds none)."""
    sorter: TopologicalSorter = TopologicalSorter()
    for u, v, *_ in edges:
        sorter.add(v, u)
    try:
        sorter.prepare()
    except CycleError:
        return True
    return False
