"""The shape of the code, read with ``ast``: SimPy's internals stay inside ``sim/kernel/``, and
sim's subpackages import each other in one direction (no cycle, the order of :data:`LAYERS`).

The kernel (:mod:`sim.kernel`) is the one place that may use SimPy's private names, so a SimPy
upgrade has one package to check (with ``tests/test_engine.py`` and the results digests).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
KERNEL = SIM / "kernel"

SIMPY_PRIVATE = frozenset({"_ok", "_value", "_queue", "_eid", "_now", "_active_proc", "_defused", "_target"})
"""Private attributes of SimPy's events, processes and environment that the model's speed tricks
need. The project's own attributes do not use these names, so any use is SimPy's."""


def _sources(under: Path) -> list[Path]:
    return sorted(under.rglob("*.py"))


def _assigned(target: ast.expr) -> list[ast.expr]:
    """Every expression a (possibly tuple) assignment target writes."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [leaf for element in target.elts for leaf in _assigned(element)]
    if isinstance(target, ast.Starred):
        return _assigned(target.value)
    return [target]


def private_simpy_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) of every use of a private SimPy name in ``source``: an attribute in
    :data:`SIMPY_PRIVATE` (read or written), a ``getattr``/``setattr``/``hasattr``/``delattr`` of
    one by its name, an assignment to an event's ``callbacks``, or a class of one's own that SimPy
    would take for an event (such a name as a class attribute or in ``__slots__``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in SIMPY_PRIVATE:
            found.append((node.lineno, f".{node.attr}"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"getattr", "setattr", "hasattr", "delattr"} and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in SIMPY_PRIVATE):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in _assigned(target):
                    if isinstance(leaf, ast.Attribute) and leaf.attr == "callbacks":
                        found.append((node.lineno, ".callbacks = ..."))
        elif isinstance(node, ast.ClassDef):  # an event-like class of one's own: ``_ok = True``, slots
            for statement in node.body:
                if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    continue
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                names = {leaf.id for target in targets for leaf in _assigned(target) if isinstance(leaf, ast.Name)}
                found += [(statement.lineno, f"class attribute {name}") for name in sorted(names & SIMPY_PRIVATE)]
                if "__slots__" in names and statement.value is not None:
                    found += [(statement.lineno, f"slot {const.value!r}") for const in ast.walk(statement.value)
                              if isinstance(const, ast.Constant) and const.value in SIMPY_PRIVATE]
    return found


@pytest.mark.parametrize("snippet, expected", [
    ("event._ok = True", [(1, "._ok")]),
    ("x = env._active_proc", [(1, "._active_proc")]),
    ("heappush(env._queue, (env._now, 1, next(env._eid), e))", [(1, "._queue"), (1, "._now"), (1, "._eid")]),
    ("hasattr(event, '_defused')", [(1, "hasattr(..., '_defused')")]),
    ("step.callbacks = handlers", [(1, ".callbacks = ...")]),
    ("callbacks, wake.callbacks = wake.callbacks, None", [(1, ".callbacks = ...")]),
    ("class Charge:\n    __slots__ = ('callbacks', '_value')\n    _ok = True",
     [(2, "slot '_value'"), (3, "class attribute _ok")]),
    ("event.callbacks.append(f)\nif event.callbacks is None: pass\nenv.active_process", []),
])
def test_the_private_name_check_finds_every_form(snippet, expected):
    assert sorted(private_simpy_uses(snippet)) == sorted(expected)


def test_simpy_internals_are_used_only_in_the_kernel():
    offences = [
        f"{path.relative_to(SIM.parent)}:{line}: {what}"
        for path in _sources(SIM) if KERNEL not in path.parents
        for line, what in private_simpy_uses(path.read_text())
    ]
    assert not offences, (
        "SimPy's private names outside sim/kernel/ (use or add a helper in sim.kernel.scheduling):\n"
        + "\n".join(offences)
    )


def test_the_kernel_is_where_the_internals_are():
    """The check above looks at the right files: the kernel does use them."""
    assert any(private_simpy_uses(path.read_text()) for path in _sources(KERNEL))


# -- the import graph of sim's subpackages --------------------------------------------------------

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"native"}),  # the guard that serves compiled modules, installed by the package itself
    frozenset({"sim", "units", "errors", "rng", "atomic", "stats", "faker_lean"}),  # leaves: sim is the
    #                         package itself (its version); stats: confidence intervals, from the standard
    #                         library alone; faker_lean: the population's Faker generator, Faker alone
    frozenset({"config"}),  # the schema and what is derived from it alone: samplers from distributions,
    #                         the system graph, fault specs and targets, topic names, KPI and coverage names
    frozenset({"domain"}),  # orders and their states, read by the observers (sample traces, recovery)
    frozenset({"policies", "observe", "kernel", "format"}),  # format: how numbers read (KPI units
    #                         from config), for runners' verdict text, reports and the CLI alike
    frozenset({"components"}),
    frozenset({"faults"}),  # applied to a running world's components
    frozenset({"world"}),
    frozenset({"oracles"}),
    frozenset({"runners"}),
    frozenset({"reports"}),
    frozenset({"validation", "api"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
"""The allowed order, lowest first: a unit (a subpackage or a top-level module of ``sim``) may
import only from units of lower layers. ``make_sampler`` stays in ``config.distributions``: a
sampler is built from a distribution's configuration alone, and components (above config) call it."""

RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def _unit(module: str) -> str:
    """``sim.config.loader`` → ``config``; ``sim.world`` → ``world``; ``sim`` → ``sim``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _package_of(path: Path) -> str:
    """The package a file belongs to (what its relative imports start from)."""
    return ".".join(path.relative_to(SIM.parent).parent.parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """(line, imported module) of every import of ``source`` (a file of ``package``), at the top or
    inside functions, relative ones resolved; those under ``if TYPE_CHECKING:`` are left out: they
    name the type of what a function is handed (the world a fault injector acts on) and load
    nothing at run time, so they order no initialisation and cannot form an import cycle."""
    tree = ast.parse(source)
    skip = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            elif node.module == "sim":  # ``from sim import world``: the module; ``__version__``: the package
                found += [(node.lineno, "sim" if a.name.startswith("__") else f"sim.{a.name}") for a in node.names]
            elif node.module:
                found.append((node.lineno, node.module))
    return sorted(found)


def import_graph():
    """The graph of imports between sim's units, each edge with where it is imported."""
    graph = nx.DiGraph()
    for path in _sources(SIM):
        parts = path.relative_to(SIM.parent).with_suffix("").parts
        source_unit = _unit(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        graph.add_node(source_unit)
        for line, imported in imports_of(path.read_text(), _package_of(path)):
            if imported != "sim" and not imported.startswith("sim."):
                continue
            target_unit = _unit(imported)
            if target_unit != source_unit:
                graph.add_edge(source_unit, target_unit)
                graph.edges[source_unit, target_unit].setdefault("at", []).append(
                    f"{path.relative_to(SIM.parent)}:{line} imports {imported}")
    return graph


def test_the_import_graph_sees_imports_in_functions_and_skips_type_checking_ones():
    source = (
        "from typing import TYPE_CHECKING\nfrom sim.config.model import SystemModel\n"
        "if TYPE_CHECKING:\n    from sim.world import World\n"
        "def f():\n    from sim.reports.output import default_out_dir\n"
        "from .kpis import enrich\nfrom ..config import model\nfrom sim import __version__, world\n"
    )
    assert imports_of(source, "sim.runners") == [
        (1, "typing"), (2, "sim.config.model"), (6, "sim.reports.output"), (7, "sim.runners.kpis"), (8, "sim.config"),
        (9, "sim"), (9, "sim.world"),
    ]


def test_sim_subpackages_import_each_other_without_cycles():
    graph = import_graph()
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    where = [line for a, b in cycle for line in graph.edges[a, b]["at"][:3]]
    pytest.fail("import cycle " + " -> ".join([a for a, _ in cycle] + [cycle[0][0]]) + ":\n" + "\n".join(where))


def test_every_import_goes_down_the_layers():
    graph = import_graph()
    unplaced = sorted(set(graph.nodes) - set(RANK))
    assert not unplaced, f"place these in LAYERS (tests/test_architecture.py): {unplaced}"
    upward = [
        f"{a} (layer {RANK[a]}) -> {b} (layer {RANK[b]}): " + "; ".join(graph.edges[a, b]["at"][:3])
        for a, b in graph.edges if RANK[a] <= RANK[b]
    ]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_the_layer_check_sees_a_cycle_and_an_upward_import():
    """The two checks above fail on a graph with a cycle and on an import going up."""
    graph = nx.DiGraph([("config", "runners"), ("runners", "config")])
    assert nx.find_cycle(graph)
    assert any(RANK[a] <= RANK[b] for a, b in graph.edges)
    assert import_graph().has_edge("components", "config")  # the real graph is read
