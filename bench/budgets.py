"""Structural budgets: counts that do not depend on the machine, so the bench (and a test) can
assert them without noise. A change that adds SimPy events to the hot path fails them."""

EVENTS_PER_PAYMENT_BUDGET = 30.0
"""SimPy events scheduled per payment order in the fault-free baseline (measured: see results)."""
