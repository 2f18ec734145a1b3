"""Reading a YAML file that cannot hang, exhaust memory or crash the reader.

Limits are checked before the work they bound: the file's size and kind before it is read
(``sim.config.files``), the nesting depth and the alias expansion while the node tree is composed
(before anything is constructed or copied), including aliases that would make a value contain
itself. Duplicate keys are errors naming both lines; a tag is never executed and is reported as
unsupported. Built on PyYAML's pure-Python ``SafeLoader``, whose composer is the only recursive
step and is bounded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.reader import ReaderError

from sim.config.files import UnreadableFile, read_text_bounded
from sim.errors import ConfigError

__all__ = ["MAX_YAML_BYTES", "UnreadableFile", "YamlDocument", "read_yaml"]

MAX_YAML_BYTES = 256_000
"""Largest scenario, model or sweep file read (the biggest shipped file is a few kilobytes; pure-Python
YAML parsing reads about 200 KB a second, so this bounds the time to read a file)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a real file nests fewer than ten levels)."""
MAX_ALIASES = 1_000
"""Most alias uses (``*name``) in one file."""
MAX_EXPANDED_NODES = 200_000
"""Most nodes the document would have with every alias expanded ("billion laughs" guard)."""
_STD = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class YamlDocument:
    path: str
    data: Any
    root: yaml.Node | None


class _LimitExceeded(yaml.YAMLError):
    def __init__(self, message: str, hint: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message, self.hint, self.problem_mark = message, hint, mark


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, path: str, key: str, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(path)
        self.path, self.key, self.first, self.problem_mark = path, key, first, second


def _dotted(path: list[str | int]) -> str:
    """``['faults', 0, 'at']`` → ``faults[0].at``."""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


class BoundedSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` that counts depth, aliases and the expanded size while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._weights: dict[int, int] = {}
        """id(node) → nodes under it with aliases expanded (itself included)."""
        self._complete: set[str] = set()
        """Anchors whose node is fully composed (an alias to any other is a cycle)."""
        self._path: list[str | int] = []
        """Keys and list indexes from the root to the node being composed (for messages)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitExceeded(f"more than {MAX_ALIASES} aliases (*name)", "write the values out, or use fewer "
                                     "anchors", self.peek_event().start_mark)
            alias = self.peek_event()
            if alias.anchor in self.anchors and alias.anchor not in self._complete:
                raise _LimitExceeded(f"the alias *{alias.anchor} is inside the value it names (a cycle)",
                                     "a value cannot contain itself; write it out", alias.start_mark)
            return super().compose_node(parent, index)  # the anchored node: its weight is known
        anchor = getattr(self.peek_event(), "anchor", None)
        part = index.value if isinstance(index, yaml.ScalarNode) else index if isinstance(index, int) else None
        self._depth += 1
        if part is not None:
            self._path.append(part)
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", "a scenario or model nests only a "
                                     "few levels; check for unbalanced brackets", self.peek_event().start_mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if part is not None:
                self._path.pop()
        weight = 1
        if isinstance(node, yaml.SequenceNode):
            weight += sum(self._weights.get(id(child), 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            weight += sum(self._weights.get(id(k), 1) + self._weights.get(id(v), 1) for k, v in node.value)
        self._weights[id(node)] = weight
        if anchor is not None:
            self._complete.add(anchor)
        if weight > MAX_EXPANDED_NODES:
            raise _LimitExceeded(
                f"the aliases expand to more than {MAX_EXPANDED_NODES} values (an alias-expansion bomb?)",
                "write the values out, or use fewer nested aliases", node.start_mark)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors raise plain Python errors for a bad explicitly tagged value
        (``!!float x``, ``!!int``); report those at the node, like any other YAML error."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, IndexError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, f"cannot read {node.value!r} as {node.tag.replace(_STD, '!!')} ({exc})",
                                   node.start_mark) from None

    def compose_mapping_node(self, anchor: str | None) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], yaml.Mark] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault((key.tag, key.value), key.start_mark)
            if first is not key.start_mark:
                raise _DuplicateKey(_dotted(self._path + [key.value]), key.value, first, key.start_mark)
        return node


def read_yaml(path: str | Path) -> YamlDocument:
    """Parse ``path`` safely and within limits, keeping the node tree for line numbers."""
    path = str(path)
    text = read_text_bounded(path, MAX_YAML_BYTES)
    try:
        loader = BoundedSafeLoader(text)
    except ReaderError as exc:  # a control character: the reader checks the whole text up front
        line = text[:exc.position].count("\n") + 1
        raise ConfigError(f"character #x{exc.character:04x} is not allowed in YAML", file=path, line=line,
                          hint="remove it; is this a text file?") from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except ReaderError as exc:
        raise ConfigError(f"character #x{exc.character:04x} is not allowed in YAML", file=path,
                          hint="remove it; is this a text file?") from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    finally:
        loader.dispose()
    return YamlDocument(path, data, root)


def _yaml_error(exc: yaml.YAMLError, path: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    if isinstance(exc, _LimitExceeded):
        return ConfigError(exc.message, file=path, line=line, column=column, hint=exc.hint)
    if isinstance(exc, _DuplicateKey):
        return ConfigError(f"duplicate key {exc.key!r} (first at line {exc.first.line + 1}, again at line {line})",
                           file=path, line=line, column=column, key=exc.path,
                           hint="a key may appear once per mapping; remove one of them")
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, ConstructorError) and "could not determine a constructor for the tag" in problem:
        found = re.search(r"for the tag '(.*)'", problem)
        tag = found.group(1).replace(_STD, "!!") if found else "?"
        return ConfigError(f"unsupported tag {tag!r}", file=path, line=line, column=column,
                           hint="paychaos files are plain YAML: remove the tag; nothing in a file is run as code")
    if isinstance(exc, ConstructorError):
        return ConfigError(problem, file=path, line=line, column=column,
                           hint="write a plain value; paychaos files need no tags")
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and not isinstance(exc, ComposerError):
        problem += f" ({context} that starts at line {context_mark.line + 1})"
    elif context and context_mark is not None:
        problem = f"{context}: {problem}"
    return ConfigError(f"YAML syntax error: {problem}", file=path, line=line, column=column,
                       hint="check indentation, colons and quotes around this point")
