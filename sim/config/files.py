"""Reading an input file without hanging or exhausting memory: regular files of bounded size only.

A character device or a pipe never ends and a folder cannot be read, so the kind and size are
checked before anything is opened; the read itself stops one byte past the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from sim.errors import ConfigError


class UnreadableFile(ConfigError):
    """The file is missing, not a regular file, too large or not UTF-8 text (nothing was parsed).

    ``reason`` is the message without its subject ("not found"), for callers that name the file."""

    def __init__(self, what: str, reason: str, **where: Any) -> None:
        self.reason = reason
        super().__init__(f"{what} {reason}", **where)


def check_file(path: str | Path, limit_bytes: int, what: str = "file") -> None:
    """Raise UnreadableFile unless ``path`` is a regular file of at most ``limit_bytes`` (a device
    or a pipe would block or never end, so nothing is opened before this check)."""
    path = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UnreadableFile(what, "not found", file=path) from None
    except OSError as exc:
        raise UnreadableFile(what, f"cannot be read: {exc.strerror or exc}", file=path) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
        raise UnreadableFile(what, f"is {kind}, not a regular file", file=path,
                             hint=f"give the path of a {what} on disk")
    if info.st_size > limit_bytes:
        raise UnreadableFile(what, f"is {info.st_size} bytes, more than the limit of {limit_bytes} bytes",
                             file=path, hint=f"is this the right {what}?")


def read_text_bounded(path: str | Path, limit_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of a regular file of at most ``limit_bytes`` (checked before and while reading)."""
    check_file(path, limit_bytes, what)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit_bytes + 1)
    except OSError as exc:
        raise UnreadableFile(what, f"cannot be read: {exc.strerror or exc}", file=str(path)) from None
    if len(raw) > limit_bytes:
        raise UnreadableFile(what, f"grew past the limit of {limit_bytes} bytes while being read", file=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UnreadableFile(what, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                             file=str(path), line=line, hint="is it a binary file? save it as UTF-8") from None
