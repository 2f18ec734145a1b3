"""The shape of the code: SimPy's internals stay inside ``sim/kernel/``.

The kernel (:mod:`sim.kernel`) is the one place that may use SimPy's private names, so a SimPy
upgrade has one package to check (with ``tests/test_engine.py`` and the results digests).
"""

from __future__ import annotations

import ast
from pathlib import Path

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
