"""Structural budgets: counts that do not depend on the machine, so the bench (and a test) can
assert them without noise. A change that adds SimPy events to the hot path fails them."""

EVENTS_PER_PAYMENT_BUDGET = 16.1
"""SimPy events scheduled per payment order in the fault-free baseline (measured 13.59 at 200k payments, 14.22 at the test's 3k
for the payment path; 15.45 at 3k with the baseline model's money flows: +0.28 for refunds (3 % of payments, about 9 events
each), +0.03 for chargebacks, +0.95 for the hourly payout runs over the bench's 24 hours (about 120 events a run for 200
sellers, whatever the payment rate); deterministic, so the headroom is small: one more event per payment fails it)."""
