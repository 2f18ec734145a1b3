"""Path coverage: how often a run actually took each dangerous path (docs/design.md §9.12).

A scenario that claims to test a path (``coverage: {reply_lost_after_commit: ">= 1"}``) and never
hit it fails: a chaos test whose fault never bit proves nothing. Counts come from the run's
counters (glob patterns, summed) and, for reconciliation, from its report.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from typing import Mapping


@dataclass(frozen=True)
class Path:
    description: str
    counters: tuple[str, ...]
    """Counter names or glob patterns whose values are summed."""


PATHS: dict[str, Path] = {
    "reply_lost_after_commit": Path("the PSP committed a charge and its reply was lost", ("psp.reply_lost_after_commit",)),
    "reply_lost": Path("any PSP reply lost on the way back", ("psp.reply_lost_after_commit", "psp.reply_lost")),
    "psp_timeout": Path("the executor timed out waiting for the PSP", ("executor.timeouts",)),
    "status_query": Path("the executor asked the PSP for a key's status", ("executor.status_queries",)),
    "idempotent_replay": Path("the PSP replayed a stored answer for a repeated key", ("psp.idempotent_replays",)),
    "in_flight_conflict": Path("the PSP answered 409 for a key still in flight", ("psp.conflicts",)),
    "key_expiry": Path("a request reused an idempotency key the PSP had expired", ("psp.key_expired_reuse",)),
    "redelivery": Path("Kafka delivered a message again after a crash or rebalance", ("kafka.*.redelivered",)),
    "rebalance": Path("a consumer group rebalanced", ("kafka.rebalances",)),
    "duplicate_webhook": Path("the PSP sent a webhook twice", ("psp.webhook_duplicates",)),
    "webhook_lost": Path("a webhook was lost for good", ("psp.webhook_lost",)),
    "dlq": Path("an order went to the dead-letter queue", ("dlq.*",)),
    "dedupe": Path("wallet or ledger skipped an event already applied", ("wallet.deduplicated", "ledger.deduplicated")),
    "pending": Path("the PSP answered PENDING", ("psp.pending",)),
    "client_retry": Path("a buyer's client retried", ("client.retries",)),
    "double_click": Path("a buyer double-clicked", ("client.double_clicks",)),
    "breaker_open": Path("a circuit breaker opened", ("*breaker*open*",)),
    "fallback_used": Path("the risk check was down and the small-amount fallback let a payment through", ("risk.fallback_used",)),
    "producer_retry": Path("a producer retried a publish", ("producer.*.retries",)),
    "monitor_resolved": Path("the in-flight monitor resolved a stuck order", ("monitor.resolved",)),
    "late_decline_ignored": Path("a late decline arrived for an order already SUCCESS", ("late_decline_ignored",)),
    "reconciliation_fix": Path("reconciliation auto-fixed a break", ()),
}

RECONCILIATION_PATH = "reconciliation_fix"


def path_counts(counters: Mapping[str, int], reconciliation_buckets: Mapping[str, int] | None) -> dict[str, int]:
    """How often the run took each path in :data:`PATHS`."""
    counts = {}
    for name, path in PATHS.items():
        names, globs = _split(path.counters)
        counts[name] = sum(counters.get(counter, 0) for counter in names)
        if globs:  # a counter a plain name already counted is not counted again
            counts[name] += sum(value for counter, value in counters.items()
                                if counter not in names and any(fnmatchcase(counter, glob) for glob in globs))
    counts[RECONCILIATION_PATH] = (reconciliation_buckets or {}).get("auto_fixed", 0)
    return counts


@cache
def _split(patterns: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A path's plain counter names (looked up, not matched: ``fnmatchcase`` would compile a regular
    expression for each) and its globs. Every run counts every path: a dictionary lookup per name
    instead of a match per counter and pattern (~0.5 ms a run, what a comparison of short runs
    notices)."""
    return (frozenset(p for p in patterns if not _GLOB_CHARS.intersection(p)),
            tuple(p for p in patterns if _GLOB_CHARS.intersection(p)))


_GLOB_CHARS = frozenset("*?[")


def known_paths_hint() -> str:
    return ", ".join(sorted(PATHS))
