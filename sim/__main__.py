"""``python -m sim`` is ``paychaos``."""

from sim.cli import entry

entry()
