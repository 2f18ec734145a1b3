"""Structural budgets: counts that do not depend on the machine, so the bench (and a test) can
assert them without noise. A change that adds SimPy events to the hot path fails them."""

EVENTS_PER_PAYMENT_BUDGET = 16.3
"""SimPy events scheduled per payment order in the fault-free baseline (measured 14.98 at 200k payments, 15.62 at the test's 3k; deterministic, so the headroom is small: one more event per payment fails it)."""
