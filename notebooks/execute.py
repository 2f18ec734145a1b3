"""Run the notebooks top to bottom in a real Jupyter kernel (nbclient + ipykernel) and save them
with their outputs, images included: ``make notebooks``. The tests run the same ``execute`` on the
committed notebooks and check what they print.

The kernel imports this checkout's ``sim`` (PYTHONPATH), whatever is installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMEOUT_S = 900


def execute(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed (a new object; the file is not touched)."""
    book = nbformat.read(path, as_version=4)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = pythonpath
    os.environ.pop("MPLBACKEND", None)  # Jupyter's own inline backend, as a reader's kernel has
    try:
        client = NotebookClient(book, kernel_name="python3", timeout=TIMEOUT_S, record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
    return book


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        book = execute(path)
        book.metadata.pop("widgets", None)
        nbformat.write(book, path)
        print(f"executed {path.relative_to(ROOT) if path.is_absolute() else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
