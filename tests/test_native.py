"""The compiled hot path (sim/native): a compiled module is served only while it matches its
source, ``PAYCHAOS_NATIVE=0`` forces pure Python, results are byte-identical either way, and a
missing or failed build fails loudly in CI (``CI`` set) instead of silently testing pure Python."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import native

ROOT = Path(__file__).resolve().parent.parent
BUILT = native.check()[0] is not None


def _needs_build() -> None:
    """Skip without a fresh native build on a developer's machine; fail in CI, where ``make test``
    builds it (a build that broke must not pass as "tests green on pure Python")."""
    if not BUILT:
        reason = f"no fresh native build ({native.check()[1]})"
        if os.environ.get("CI"):
            pytest.fail(reason + ": `python -m sim.native build` failed in CI; see .native-build.log")
        pytest.skip(reason)


def _python(code: str, cwd: Path = ROOT, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(cwd), native.ENV_SWITCH: "1", **env})
    return done.stdout.strip()


_SERVED = "import sim.runners.run, sim.native as n; print(n.status); print(*n.served())"


def test_a_fresh_build_serves_every_compiled_module():
    _needs_build()
    status, served = _python(_SERVED).split("\n")
    assert status == "compiled"
    assert served.split() == sorted(native.COMPILED)


def test_the_switch_imports_pure_python():
    status, served = (_python(_SERVED, PAYCHAOS_NATIVE="0").split("\n") + [""])[:2]
    assert status == "pure Python: PAYCHAOS_NATIVE=0"
    assert served == ""


def test_an_edited_source_is_imported_pure(tmp_path):
    """A copy of the tree with its build: served compiled as is; once a compiled module's source
    changes, every module is pure Python (compiled modules call each other directly)."""
    _needs_build()
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(native.NATIVE_DIR, tmp_path / native.NATIVE_DIR.name)
    assert _python(_SERVED, cwd=tmp_path).split("\n")[0] == "compiled"
    edited = tmp_path / "sim" / "components" / "stations.py"
    edited.write_text(edited.read_text() + "\n# edited after the build\n")
    status, served = (_python(_SERVED, cwd=tmp_path).split("\n") + [""])[:2]
    assert status == "pure Python: sim/components/stations.py changed since the native build (make install)"
    assert served == ""


def test_the_guard_refuses_a_build_for_another_interpreter_or_a_missing_file(tmp_path):
    source = tmp_path / "sim" / "m.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    (tmp_path / "m.so").write_text("")
    manifest = {"interpreter": native.interpreter(), "extensions": {"sim.m": "m.so"},
                "sources": {"sim.m": native.source_hash(source)}}
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    assert native.check(tmp_path, tmp_path) == ({"sim.m": tmp_path / "m.so"}, "compiled")
    (tmp_path / native.MANIFEST).write_text(json.dumps({**manifest, "interpreter": "cpython-27"}))
    assert native.check(tmp_path, tmp_path)[1].startswith("pure Python: the native build is for cpython-27")
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / "m.so").unlink()
    assert native.check(tmp_path, tmp_path) == (None, "pure Python: the native build lacks sim.m")
    (tmp_path / native.MANIFEST).unlink()
    assert native.check(tmp_path, tmp_path)[1].startswith("pure Python: no native build")


_DIGESTS = """
import sys
from bench.measure import sized
from pathlib import Path
from sim.runners.run import run_scenario
for name in sys.argv[1:]:
    print(run_scenario(sized(Path('scenarios') / name, 1500)).digest())
"""


@pytest.mark.slow
def test_results_are_byte_identical_compiled_and_pure():
    """Short runs of scenarios that touch every compiled module (Kafka crashes and stalls, PSP
    pending answers and webhooks, the sync wiring's thread pool, station queues)."""
    _needs_build()
    names = ["baseline.yaml", "consumer-crash-redelivery.yaml", "pending-storm.yaml", "webhook-chaos.yaml",
             "sync-vs-async-slow-psp.yaml", "metastable-retry-storm.yaml", "retry-topics-outage.yaml"]
    run = [sys.executable, "-c", _DIGESTS, *names]
    compiled, pure = (subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), "PAYCHAOS_NATIVE": switch}).stdout
                      for switch in ("1", "0"))
    assert len(compiled.split()) == len(names)
    assert compiled == pure


def _classes() -> list[tuple[str, str, list[str]]]:
    """(module, class, base names) of every class of sim."""
    found = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else b.attr for b in node.bases if isinstance(b, (ast.Name, ast.Attribute))]
                found.append((module, node.name, bases))
    return found


def test_no_python_class_subclasses_a_compiled_one():
    """Compiled, a class of :data:`sim.native.COMPILED` is a native class, which a pure Python class
    cannot subclass: a subclass outside the compiled modules (of the kernel's ``Step``, say) would
    fail at its first use. The check sees the PSP's charges subclass ``Step``."""
    classes = _classes()
    compiled = {name for module, name, _ in classes if module in native.COMPILED}
    assert ("sim.components.psp_authorisation", "Charge", ["Step"]) in classes and "Step" in compiled
    assert [(module, name, bases) for module, name, bases in classes
            if module not in native.COMPILED and compiled.intersection(bases)] == []


def test_a_failed_build_prints_one_line_and_leaves_pure_python(tmp_path, capsys):
    from sim.native.build import build

    assert build(tmp_path / "native", modules=("sim.no_such_module",)) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("native: build failed (") and "running pure Python" in out
    assert not (tmp_path / "native").exists()


def test_the_build_compiles_a_groups_c_files_at_once_largest_first(tmp_path):
    """mypyc's multi-file group is one extension of many C files, which setuptools compiles one by
    one: ``parallel_compile`` gives each file its own call, on two threads at once, largest first,
    and returns the object files in the sources' order (a one-file extension passes straight through)."""
    import threading

    from sim.native.build import parallel_compile

    sources = []
    for name, size in (("small", 10), ("large", 1000), ("medium", 100)):
        sources.append(str(tmp_path / f"{name}.c"))
        (tmp_path / f"{name}.c").write_text("x" * size)
    both_running = threading.Barrier(2, timeout=5)
    calls = []

    def compile(files, output_dir=None, **kwargs):
        calls.append((files, output_dir, kwargs))
        if len(calls) <= 2:
            both_running.wait()  # a serial compile would never get the second call here: BrokenBarrierError
        return [f[:-2] + ".o" for f in files]

    objects = parallel_compile(compile, jobs=2)(sources, "out", debug=True)
    assert objects == [s[:-2] + ".o" for s in sources]
    assert sorted(files[0] for files, _, _ in calls[:2]) == sorted(sources[1:])  # the two largest first
    assert [files for files, _, _ in calls[2:]] == [[sources[0]]]
    assert all(len(files) == 1 and out == "out" and kwargs == {"debug": True} for files, out, kwargs in calls)
    assert parallel_compile(compile, jobs=2)(sources[:1], "out") == [sources[0][:-2] + ".o"]
