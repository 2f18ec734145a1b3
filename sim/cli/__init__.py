"""``paychaos``: the command line. One module per subcommand; each has ``register(subparsers)``.

Exit codes: 0 ok, 1 an oracle or expectation failed, 2 bad input or an environment problem (a missing
package, a Dask worker without paychaos); never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from sim import __version__
from sim.cli import catalog as catalog_command
from sim.cli import compare as compare_command
from sim.cli import graph as graph_command
from sim.cli import estimate as estimate_command
from sim.cli import explore as explore_command
from sim.cli import run as run_command
from sim.cli import schema as schema_command
from sim.cli import show as show_command
from sim.cli import sweep as sweep_command
from sim.cli import validate as validate_command
from sim.cli.blas import one_blas_thread
from sim.cli.quick_exit import end_process, exit_quickly, unsettle
from sim.errors import PaychaosError

COMMANDS = [
    run_command, compare_command, sweep_command, explore_command, estimate_command, validate_command, show_command,
    graph_command, schema_command, catalog_command,
]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: usage + exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="paychaos",
        description="Discrete-event simulation and chaos testing of online payment systems.",
        epilog="Exit codes: 0 ok, 1 an oracle or expectation failed, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"paychaos {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    exit_quickly()  # the process's exit skips a last collection of all it imported
    one_blas_thread()  # before numpy's import: no BLAS threads spinning beside the simulation
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad argument (2): argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return args.handler(args)
    except PaychaosError as exc:  # bad input, or an environment paychaos cannot run in
        print(f"paychaos: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as exc:  # an environment problem, not a failed oracle
        print(f"paychaos: the Python package {exc.name!r} is missing (pip install 'paychaos[dev]' installs every "
              "optional one)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("paychaos: interrupted", file=sys.stderr)
        return 130
    finally:
        unsettle()  # a command's frozen objects are collectable again in a process that goes on


def entry() -> None:
    """The ``paychaos`` console script: :func:`main`, then the process ends with its exit code
    (``sim.cli.quick_exit.end_process``: at once, once the output is flushed)."""
    end_process(main())
