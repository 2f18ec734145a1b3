"""Test set-up: Hypothesis profiles (modest in CI, deeper locally with HYPOTHESIS_PROFILE=deep)."""

from __future__ import annotations

import os

from helpers import PROFILE
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(PROFILE)

# Reports draw their figures in this process: two drawing helpers per command would cost the suite's
# many short commands more than they save. tests/test_drawing.py runs the helpers themselves.
os.environ.setdefault("PAYCHAOS_DRAW_WORKERS", "0")


HEAVY_MARKERS = ("slow", "validation")
"""Tests that start first: on two workers (``make test``: pytest-xdist, work stealing) a long test
collected last runs alone at the end while the other worker idles; started first, the short tests
fill in around it."""


def pytest_collection_modifyitems(items: list) -> None:
    """The heavy tests first, each group in collection order (the order is still fixed)."""
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in HEAVY_MARKERS))
