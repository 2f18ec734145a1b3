"""``python -m sim`` is ``paychaos``."""

import sys

from sim.cli import main

sys.exit(main())
