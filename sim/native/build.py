"""Builds the modules of :data:`sim.native.COMPILED` with mypyc into ``.native/``, with the manifest
the import guard checks (see :mod:`sim.native`). Run by ``make install`` as ``python -m sim.native build``."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

from sim.native import COMPILED, ENV_SWITCH, GROUP, MANIFEST, NATIVE_DIR, ROOT, check, interpreter, source_hash, source_path


def _mypy_config(modules: Sequence[str]) -> str:
    """Type-check the compiled modules strictly as mypy would; every other import is opaque
    (``Any``) except SimPy's, whose classes the kernel extends."""
    lines = ["[mypy]", "follow_imports = skip", "ignore_missing_imports = True", "ignore_errors = True",
             "[mypy-simpy.*]", "follow_imports = silent"]
    for module in modules:
        lines += [f"[mypy-{module}]", "ignore_errors = False"]
    return "\n".join(lines) + "\n"


JOBS = max(2, os.cpu_count() or 1)
"""C compilers run at once: the group's C files, and the modules' small import shims."""


def parallel_compile(compile: Callable[..., list[str]], jobs: int = JOBS) -> Callable[..., list[str]]:
    """``compile`` (a setuptools compiler's) run on ``jobs`` threads, one C file a call, largest
    first; the object files in the sources' order. setuptools compiles one extension's files one
    after another, and the group is one extension with a file per module (mypyc's multi-file mode)."""

    def compile_files(sources: list[str], *args: Any, **kwargs: Any) -> list[str]:
        if len(sources) < 2:
            return compile(sources, *args, **kwargs)
        largest_first = sorted(sources, key=lambda source: -os.path.getsize(source))
        with ThreadPoolExecutor(jobs) as pool:
            objects = dict(zip(largest_first, pool.map(lambda source: compile([source], *args, **kwargs), largest_first)))
        return [obj for source in sources for obj in objects[source]]

    return compile_files


def _compile(work: Path, modules: Sequence[str]) -> None:
    """mypyc, then the C compiler: extensions into ``work/lib`` (runs in a child process, in ROOT).
    One C file per module (``multi_file``), compiled on every core: one file of the whole group
    kept one core busy for ~2 minutes (mypyc's ``separate`` groups would make their calls
    indirect)."""
    from mypyc.build import mypycify
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    class ParallelBuildExt(build_ext):
        def build_extensions(self) -> None:
            self.compiler.compile = parallel_compile(self.compiler.compile)
            super().build_extensions()

    config = work / "mypy.ini"
    config.write_text(_mypy_config(modules))
    paths = [str(source_path(module).relative_to(ROOT)) for module in modules]
    extensions = mypycify(paths + ["--config-file", str(config), "--cache-dir", str(work / "mypy_cache")],
                          opt_level="3", target_dir=str(work / "c"), group_name=GROUP, multi_file=True)
    dist = Distribution({"ext_modules": extensions, "cmdclass": {"build_ext": ParallelBuildExt}, "script_args": [
        "build_ext", "--build-lib", str(work / "lib"), "--build-temp", str(work / "tmp"), "--parallel", str(JOBS)]})
    dist.parse_command_line()
    dist.run_commands()


def _sources(modules: Sequence[str]) -> dict[str, str]:
    return {module: source_hash(source_path(module)) for module in modules if source_path(module).is_file()}


def _manifest(lib: Path, modules: Sequence[str], sources: dict[str, str]) -> dict[str, object]:
    """What :func:`sim.native.check` reads; ``sources``: the hashes taken before compiling (a
    source edited during the build makes it fail rather than record code it does not hold)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    extensions = {f"{GROUP}__mypyc": f"{GROUP}__mypyc{suffix}"}
    for module in modules:
        extensions[module] = module.replace(".", "/") + suffix
    missing = [file for file in extensions.values() if not (lib / file).is_file()]
    if missing:
        raise RuntimeError(f"the build made no {', '.join(missing)}")
    if _sources(modules) != sources:
        raise RuntimeError("a source changed during the build")
    return {"interpreter": interpreter(), "extensions": extensions, "sources": sources}


def build(native_dir: Path = NATIVE_DIR, modules: Sequence[str] = COMPILED, force: bool = False) -> int:
    """Compile ``modules`` into ``native_dir`` unless it already matches the sources. Prints one
    line; returns 0 even when the build fails (the model then runs as pure Python)."""
    extensions, _ = check(native_dir)
    if extensions is not None and not force and set(extensions) == {*modules, f"{GROUP}__mypyc"}:
        print(f"native: {len(modules)} modules compiled, up to date ({native_dir.name}/)")
        return 0
    started = time.monotonic()
    sources = _sources(modules)
    work = Path(tempfile.mkdtemp(prefix="paychaos-native-"))
    log = work / "build.log"
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-c", "import sys; from sim.native.build import _compile; "
                               "from pathlib import Path; _compile(Path(sys.argv[1]), sys.argv[2:])", str(work), *modules],
                              cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, ENV_SWITCH: "0"})
    try:
        if done.returncode != 0:
            raise RuntimeError(f"mypyc or the C compiler failed (exit {done.returncode})")
        manifest = _manifest(work / "lib", modules, sources)
    except RuntimeError as error:
        kept = native_dir.parent / f"{native_dir.name}-build.log"
        shutil.copyfile(log, kept)
        shutil.rmtree(work, ignore_errors=True)
        print(f"native: build failed ({error}; see {kept.name}): running pure Python")
        return 0
    shutil.rmtree(native_dir, ignore_errors=True)
    shutil.copytree(work / "lib", native_dir)
    (native_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    (native_dir.parent / f"{native_dir.name}-build.log").unlink(missing_ok=True)  # a failed build's, now stale
    print(f"native: compiled {len(modules)} modules in {time.monotonic() - started:.0f} s ({native_dir.name}/)")
    return 0
