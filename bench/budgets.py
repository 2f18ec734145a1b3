"""Structural budgets: counts that do not depend on the machine, so the bench (and a test) can
assert them without noise. A change that adds SimPy events to the hot path fails them."""

EVENTS_PER_PAYMENT_BUDGET = 14.9
"""SimPy events scheduled per payment order in the fault-free baseline (measured 13.59 at 200k payments, 14.22 at the test's 3k; deterministic, so the headroom is small: one more event per payment fails it)."""
