"""Test set-up: Hypothesis profiles (modest in CI, deeper locally with HYPOTHESIS_PROFILE=deep)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Reports draw their figures in this process: two drawing helpers per command would cost the suite's
# many short commands more than they save. tests/test_drawing.py runs the helpers themselves.
os.environ.setdefault("PAYCHAOS_DRAW_WORKERS", "0")
