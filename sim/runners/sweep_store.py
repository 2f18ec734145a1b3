"""Where a sweep's runs land, one line per finished run, so an interruption keeps what finished.

Files in the sweep's output folder:

- ``sweep.json``  the plan (sweep file, seeds, plan digest), written first;
- ``runs.jsonl``  one JSON object per finished run, appended, flushed and fsynced line by line;
- ``runs.csv``    the same rows as CSV, flushed line by line but not fsynced (derived: rebuilt
  from ``runs.jsonl`` on resume, so a crash that loses its tail loses nothing).

**Resume rule**: a run (point, replication) is done iff its line in ``runs.jsonl`` is complete
(ends with a newline and parses). A torn last line from a crash is dropped and that run is redone.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

from sim.errors import ConfigError
from sim.atomic import write_text_atomic

PLAN_FILE, JSONL_FILE, CSV_FILE = "sweep.json", "runs.jsonl", "runs.csv"


class SweepStore:
    """Append-only, crash-safe storage of a sweep's finished runs."""

    def __init__(self, out_dir: Path, plan: dict, fieldnames: list[str], *, resume: bool = False,
                 fresh: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.fieldnames = fieldnames
        self.rows: list[dict] = []
        plan_path = self.out_dir / PLAN_FILE
        if plan_path.exists() and not fresh:
            if not resume:
                done = len(_complete_rows(self.out_dir / JSONL_FILE)[0])
                raise ConfigError(
                    f"{self.out_dir} already holds a sweep ({done} run(s) finished)", file=str(plan_path),
                    hint="pass --resume to continue it, --fresh to start over, or --out another folder",
                )
            old = json.loads(plan_path.read_text(encoding="utf-8"))
            if old.get("plan_digest") != plan["plan_digest"]:
                raise ConfigError(
                    "cannot resume: the folder holds a different sweep (the sweep file, its scenario or "
                    "model changed since)", file=str(plan_path),
                    hint="use --fresh to start over, or --out another folder",
                )
            self.rows, torn = _complete_rows(self.out_dir / JSONL_FILE)
            self._rewrite()  # drop a torn tail; rebuild the CSV from the JSON lines
        else:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for name in (JSONL_FILE, CSV_FILE):
                (self.out_dir / name).unlink(missing_ok=True)
            write_text_atomic(plan_path, json.dumps(plan, indent=2, sort_keys=True) + "\n")
            self._rewrite()
        self._jsonl = open(self.out_dir / JSONL_FILE, "a", encoding="utf-8")
        self._csv = open(self.out_dir / CSV_FILE, "a", encoding="utf-8", newline="")

    def done(self) -> set[tuple[int, int]]:
        """(point, replication) of every finished run."""
        return {(row["point"], row["replication"]) for row in self.rows}

    def append(self, row: dict) -> None:
        """Record one finished run: the CSV line (flushed, for a reader following it), then the
        JSON line, fsynced (the commit point: one disk flush a run, ~1 ms)."""
        self._csv.write(_csv_line(self.fieldnames, row))
        self._csv.flush()
        _write_synced(self._jsonl, json.dumps(row, sort_keys=True, allow_nan=False) + "\n")
        self.rows.append(row)

    def close(self) -> None:
        self._jsonl.close()
        self._csv.close()

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _rewrite(self) -> None:
        write_text_atomic(self.out_dir / JSONL_FILE,
                          "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in self.rows))
        write_text_atomic(self.out_dir / CSV_FILE, csv_text(self.fieldnames, self.rows))


def csv_text(fieldnames: list[str], rows: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _csv_line(fieldnames: list[str], row: dict) -> str:
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore", lineterminator="\n").writerow(row)
    return buffer.getvalue()


def _write_synced(handle, text: str) -> None:
    handle.write(text)
    handle.flush()
    os.fsync(handle.fileno())


def _complete_rows(path: Path) -> tuple[list[dict], bool]:
    """The rows of every complete line of ``path``, and whether a torn line was dropped."""
    if not path.exists():
        return [], False
    rows, torn = [], False
    seen: set[tuple[int, int]] = set()
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            torn = True
            continue
        try:
            row = json.loads(line)
            key = (row["point"], row["replication"])
        except (ValueError, KeyError, TypeError):
            torn = True
            continue
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows, torn
