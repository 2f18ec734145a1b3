"""Bad files give one paragraph naming file, line, key, what is wrong and what is right; exit 2.

Each file in ``tests/broken/`` says in its first two lines which line the error must point at and
what the message must say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import ROOT
from sim.cli import main

BROKEN = sorted((ROOT / "tests" / "broken").glob("*.yaml"))


def _expected(path: Path) -> tuple[int, str]:
    header = dict(re.findall(r"^# expect-(line|says): (.*)$", path.read_text(), flags=re.M))
    return int(header["line"]), header["says"].strip()


def test_the_corpus_covers_every_kind_of_mistake_the_issue_lists():
    names = {p.stem for p in BROKEN}
    assert {"yaml-syntax-error", "wrong-type", "negative-rate", "unknown-fault-kind", "misspelt-key",
            "missing-model-file", "unit-without-number", "absurd-size"} <= names


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_a_broken_file_gives_one_paragraph_with_its_line_and_exit_2(path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    relative = path.relative_to(ROOT).as_posix()
    line, says = _expected(path)
    assert main(["validate", relative]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    paragraph = err.splitlines()[0]
    assert paragraph.startswith(f"paychaos: {relative}:{line}:"), paragraph
    assert says in paragraph, paragraph
    assert err.splitlines()[1:] == ["1 of 1 files are not valid"]


def test_run_refuses_a_broken_file_with_exit_2_and_the_same_message(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["run", "tests/broken/absurd-size.yaml", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "tests/broken/absurd-size.yaml:7:9: workload.rate: this workload means about 3.6e+12 checkouts" in err
    assert not (ROOT / "unused").exists()


def test_validate_checks_every_file_and_reports_each_bad_one(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = ["scenarios/baseline.yaml", "tests/broken/wrong-type.yaml", "models/async-kafka.yaml",
             "tests/broken/misspelt-key.yaml"]
    assert main(["validate", *files]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "ok  scenarios/baseline.yaml: scenario 'baseline' on model 'async-kafka'",
        "ok  models/async-kafka.yaml: model 'async-kafka'",
    ]
    assert [line.split(":")[1] for line in err.splitlines()[:2]] == [" tests/broken/wrong-type.yaml",
                                                                      " tests/broken/misspelt-key.yaml"]
    assert err.splitlines()[-1] == "2 of 4 files are not valid"


def test_a_missing_file_is_a_clear_error(capsys):
    assert main(["validate", "no/such/file.yaml"]) == 2
    assert capsys.readouterr().err.startswith("paychaos: no/such/file.yaml: file not found")
