"""``python -m sim.native build|status``: see :mod:`sim.native`."""

from __future__ import annotations

import sys

from sim import native


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.native", description=native.__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "status"])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    if args.command == "build":
        from sim.native.build import build

        return build(force=args.force)
    print(native.status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
