"""Progress of long work as a person wants it: a rich bar in a terminal, plain lines when the output
is piped or logged (a bar there prints nothing until the end), and a console that does not wrap
long lines at 80 columns when it is not a terminal. ``rich.progress`` is imported only for a bar
(about a quarter of rich's import, before a command's first simulation)."""

from __future__ import annotations

import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from rich.console import Console

from sim import format as fmt

PIPED_WIDTH = 200
"""Columns a console assumes when writing to a pipe or a file (tables and long lines stay whole)."""
LINE_EVERY = 0.1
"""Piped progress prints a line each time this fraction more of the work is done."""


def make_console(stderr: bool = False) -> Console:
    """A console for the command line: the terminal's width, or wide and unwrapped when piped."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=max(console.width, PIPED_WIDTH), soft_wrap=True)
    return console


def program() -> str:
    """How the user started paychaos, for "reproduce:" lines: ``paychaos`` when that is what ran and
    it is on PATH, else the path they typed, or ``<python> -m sim``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("paychaos")
    if argv0.name == "paychaos":
        on_path = shutil.which("paychaos")
        return "paychaos" if on_path and Path(on_path).resolve() == argv0.resolve() else argv0.as_posix()
    if argv0.name == "__main__.py" and argv0.parent.name == "sim":
        python = Path(sys.executable)
        on_path = shutil.which(python.name)
        if on_path and Path(on_path).resolve() == python.resolve():
            return f"{python.name} -m sim"
        try:
            return f"{python.relative_to(Path.cwd()).as_posix()} -m sim"
        except ValueError:
            return f"{python.as_posix()} -m sim"
    return "paychaos"


def as_run(command: str) -> str:
    """A recorded ``paychaos ...`` command as the user would type it in this shell."""
    prefix = program()
    return prefix + command[len("paychaos"):] if command.startswith("paychaos ") else command


class _Lines:
    """Progress as plain lines, one per ``LINE_EVERY`` of the total."""

    def __init__(self, console: Console, description: str, total: float, show: Callable[[float], str]) -> None:
        self.console, self.description, self.total, self.show = console, description, total, show
        self.done = 0.0
        self.next_line = LINE_EVERY

    def update(self, done: float) -> None:
        self.done = done
        fraction = done / self.total if self.total else 1.0
        if fraction + 1e-9 >= self.next_line:
            self.console.print(f"{self.description}: {self.show(done)} of {self.show(self.total)} "
                               f"({fraction * 100:.0f} %)", highlight=False)
            while self.next_line <= fraction + 1e-9:
                self.next_line += LINE_EVERY


@contextmanager
def _tracker(console: Console, description: str, total: float,
             show: Callable[[float], str]) -> Iterator[Callable[[float], None]]:
    """``update(done)`` of counted work: a bar in a terminal, lines when piped."""
    if not console.is_terminal:
        lines = _Lines(console, description, total, show)
        yield lines.update
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)


@contextmanager
def progress_bar(console: Console, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Counted work (replications, comparisons, sweep runs); yields ``advance(n=1)``."""
    with _tracker(console, description, total, lambda n: f"{int(n):,}") as update:
        state = {"done": 0}

        def advance(n: int = 1) -> None:
            state["done"] += n
            update(state["done"])

        yield advance


@contextmanager
def counted(console: Console, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Counted work reported as a running total; yields ``update(done)``."""
    with _tracker(console, description, total, lambda n: f"{int(n):,}") as update:
        yield update


@contextmanager
def simulated_time(console: Console, description: str) -> Iterator[Callable[[float, float], None]]:
    """One run's progress in simulated time; yields ``on_time(now_s, end_s)`` for the runner."""
    if not console.is_terminal:
        state: dict = {}

        def on_time_lines(now: float, end: float) -> None:
            if "lines" not in state:
                state["lines"] = _Lines(console, f"{description} (simulated time)", end, fmt.duration)
            state["lines"].update(now)

        yield on_time_lines
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[shown]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=1.0, shown="")

        def on_time(now: float, end: float) -> None:
            progress.update(task, total=end, completed=now,
                            shown=f"{fmt.duration(now)} of {fmt.duration(end)} simulated")

        yield on_time
