"""Effects happen once: exactly-once effect from at-least-once delivery (docs/design.md §9.8) and
idempotent replay of our idempotent APIs (docs/design.md §9.7): capture and refund."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.domain.orders import as_numpy
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def exactly_once_effect(world: "World") -> list[Violation]:
    """Each order's payment-success event changed the wallet at most once and the ledger at most
    once, however often Kafka delivered it."""
    violations = []
    for name, counts in (("wallet credited", world.wallet.applied), ("ledger recorded", world.ledger.recorded)):
        if not counts or as_numpy(counts).max() <= 1:  # the usual case, without a Python step per order
            continue
        for order_id, times in enumerate(counts):
            if times > 1:
                violations.append(Violation(
                    "exactly_once_effect", f"{name} {times} times for order {order_id} (one event, one effect)",
                    [order_id],
                ))
    return violations


def idempotent_replay(world: "World") -> list[Violation]:
    """Each operation our idempotent APIs accepted took effect once outside, however often it was
    retried or requested again: one capture per order our capture service captures (delayed
    captures), no more refunds of an order at the bank than refund ids our refund API accepted
    for it. (A flawed retry without its key or under a new id breaks it.)"""
    truth = world.truth
    violations = []
    if world.capture is not None:
        for order_id, amounts in sorted(truth.captured_minor_of.items()):
            if len(amounts) > 1:
                violations.append(Violation(
                    "idempotent_replay",
                    f"one capture of order {order_id} took effect {len(amounts)} times at the PSP ({amounts} minor units)",
                    [order_id], truth.first_capture_at[order_id],
                ))
    if world.refunds is not None and truth.refunds:
        accepted = world.refunds.refunds_of()
        for order_id, amounts in sorted(truth.refunds.items()):
            if len(amounts) > accepted.get(order_id, 0):
                violations.append(Violation(
                    "idempotent_replay",
                    f"order {order_id} refunded {len(amounts)} times at the bank ({amounts} minor units) for "
                    f"{accepted.get(order_id, 0)} refund id(s) our refund API accepted",
                    [order_id],
                ))
    return violations


def psp_executed_a_live_key_twice(world: "World") -> list[Violation]:
    """The simulated PSP's own contract (a self-check of the simulator, not an oracle of a design):
    same key, same parameters, key still live → the stored answer, no new capture: two
    captures under one idempotency key whose requests were admitted less than a TTL apart mean
    the PSP executed a request it should have replayed. Only checked for a PSP that claims
    idempotency; the TTL is the shortest any fault of the scenario imposes."""
    psp = world.psp
    if not psp.cfg.idempotency:
        return []
    ttl_s = min([psp.cfg.idempotency_ttl_s, *_fault_ttls_s(world)])
    uses: dict[int, list[tuple[float, float, int]]] = {}
    keys = psp.settlement_column("key")
    ordered = np.sort(keys)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]  # only keys charged more than once can be replays
    if len(repeated):
        reused = np.nonzero(np.isin(keys, repeated))[0]
        order_ids, captured_at = psp.settlement_column("order_id")[reused], psp.settlement_column("captured_at")[reused]
        admitted_at = psp.settlement_column("admitted_at")[reused]
        for key, since, at, order_id in zip(keys[reused].tolist(), admitted_at.tolist(), captured_at.tolist(),
                                            order_ids.tolist()):
            uses.setdefault(key, []).append((since, at, order_id))
    violations = []
    for key, charged in uses.items():
        charged.sort()  # admission order (a pending charge is admitted early and captured late)
        for (previous_since, previous_at, previous_order), (since, at, order_id) in zip(charged, charged[1:]):
            if since - previous_since < ttl_s:
                violations.append(Violation(
                    "psp_idempotency",
                    f"key {key} executed again at {since:.3f}s, {since - previous_since:.3f}s after its first "
                    f"use (TTL {ttl_s:g}s): captures at {previous_at:.3f}s and {at:.3f}s",
                    sorted({previous_order, order_id}), at,
                ))
    violations.sort(key=lambda v: v.at_s)
    return violations


def _fault_ttls_s(world: "World") -> list[float]:
    """TTLs set by key-forgetting faults (any fault field whose name holds ``ttl``)."""
    found = []
    for fault in world.scenario.faults:
        for name, value in fault:
            if "ttl" in name and isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append(float(value))
    return found
