"""Writing outputs atomically: a file or folder is written under a temporary name, then renamed
(a leaf: reports, runners and the CLI write through it).

A temporary name is ``.<name>.tmp-<pid>-<random>`` beside the output (a replaced folder is parked as
``.<name>.old-<pid>``). A process killed mid-write (SIGKILL, power loss) leaves one behind; the next
write of the same output removes every such leftover whose process is gone, so a crash leaves
nothing partial for long and a temporary folder is never mistaken for the output.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}.tmp-{os.getpid()}-"


_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?:tmp-(?P<pid>\d+)-.+|old-(?P<old_pid>\d+))")


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files and folders of earlier, killed writes of ``path`` (those whose
    process no longer runs); returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    removed = []
    for entry in path.parent.iterdir():
        match = _LEFTOVER.fullmatch(entry.name)
        if match is None or match["name"] != path.name or _alive(int(match["pid"] or match["old_pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (ours included: a write in progress is never removed)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM  # it exists but belongs to another user
    return True


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back: the only way POSIX offers)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename. The file gets the
    permissions an ordinary ``open`` would give it (0666 less the umask), not mkstemp's 0600, so a
    colleague or a web server can read a report on a shared machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_folder_atomic(out_dir: Path, fill: Callable[[Path], None]) -> None:
    """Call ``fill(tmp_dir)`` then move ``tmp_dir`` into place as ``out_dir`` (replacing it). The
    folder gets the permissions ``mkdir`` would give it (0777 less the umask), not mkdtemp's 0700."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(out_dir), dir=out_dir.parent))
    try:
        tmp.chmod(0o777 & ~current_umask())
        fill(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
