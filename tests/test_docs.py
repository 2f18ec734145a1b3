"""The design document is the one the code cites: no comment points at a document outside the
repository, and every "docs/design.md §n" citation (and every "§n" inside design.md itself) names a
section that exists, so renumbering the document without updating the code fails here."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import ROOT

DESIGN = ROOT / "docs" / "design.md"
SCANNED_ROOTS = ("sim", "bench", "tests", "docs", "models", "scenarios", "notebooks")
SCANNED_FILES = ("README.md", "Makefile", "pyproject.toml")

OUTSIDE_CITATION = re.compile("DESIGN" + r"(?:\.md)?\s*§")
"""The old citations of the founders' brief, which is not in the repository (the pattern is
built so that this file does not match itself)."""
CITATION = re.compile(r"docs/design\.md\s*((?:§\d+(?:\.\d+)*(?:'s)?(?:\s*,\s*|\s+and\s+)?)+)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^(#{2,3}) (\d+(?:\.\d+)?)\.? ", re.MULTILINE)


def section_numbers(markdown: str) -> list[str]:
    """The numbers of the ``## n.`` and ``### n.m`` headings, in document order."""
    return [number for _level, number in HEADING.findall(markdown)]


def cited_sections(text: str) -> list[str]:
    """Every section number cited as ``docs/design.md §n`` (also ``§a, §b`` and ``§a and §b``)."""
    return [number for group in CITATION.findall(text) for number in SECTION.findall(group)]


def scanned_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for root in SCANNED_ROOTS:
        files += sorted(p for p in (ROOT / root).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # a binary file (an image)
        return None


def test_the_parsers_find_what_they_must():
    assert section_numbers("## 1. A\n### 1.1 B\ntext\n## 2. C\n") == ["1", "1.1", "2"]
    assert cited_sections("see docs/design.md §7.3, §13 and docs/design.md §9's list") == ["7.3", "13", "9"]
    assert cited_sections("(docs/design.md §2.17 and §15)") == ["2.17", "15"]
    assert OUTSIDE_CITATION.search("(" + "DESIGN" + " §6.5)") and not OUTSIDE_CITATION.search("docs/design.md §6")


def test_design_sections_are_numbered_in_order():
    numbers = section_numbers(DESIGN.read_text(encoding="utf-8"))
    assert len(numbers) > 50
    top = [n for n in numbers if "." not in n]
    assert top == [str(i) for i in range(1, len(top) + 1)]
    for parent in top:
        subs = [n for n in numbers if n.startswith(parent + ".")]
        assert subs == [f"{parent}.{i}" for i in range(1, len(subs) + 1)], parent


def test_no_file_cites_the_design_brief_outside_the_repository():
    offenders = []
    for path in scanned_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE_CITATION.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite docs/design.md §n instead:\n" + "\n".join(offenders)


def test_every_design_citation_names_an_existing_section():
    existing = set(section_numbers(DESIGN.read_text(encoding="utf-8")))
    cited, dangling = 0, []
    for path in scanned_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for section in cited_sections(line):
                cited += 1
                if section not in existing:
                    dangling.append(f"{path.relative_to(ROOT)}:{number}: §{section}")
    assert cited >= 25  # the code does cite the document (the scan is not looking at nothing)
    assert not dangling, "no such section in docs/design.md:\n" + "\n".join(dangling)


def test_every_reference_inside_the_design_document_names_an_existing_section():
    text = DESIGN.read_text(encoding="utf-8")
    existing = set(section_numbers(text))
    body = HEADING.sub("", text)
    dangling = sorted({n for n in SECTION.findall(body) if n not in existing}, key=lambda n: [int(x) for x in n.split(".")])
    assert not dangling, f"docs/design.md refers to missing sections: {dangling}"
