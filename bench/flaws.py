"""The flawed designs of ``models/flawed/``: each one's catching oracle and the overrides that fix
its one flaw. ``tests/test_flawed_models.py`` proves each flaw caught and each fix passing;
``bench.hunt`` hunts the fixed designs, where anything found is a bug in the model, not a flaw."""

from __future__ import annotations

FLAWS: dict[str, tuple[str, dict]] = {
    # model: (oracle that must catch it, the overrides that fix the flaw)
    "fresh-key-per-attempt": ("no_double_charge", {"executor.idempotency_key": "order_id"}),
    "commit-before-processing": ("nothing_lost", {"executor.commit": "after"}),
    "key-ttl-shorter-than-retries": ("no_double_charge", {"psp.idempotency_ttl": "24h"}),
    "retry-declines": ("flags_consistent", {"executor.retry.retry_non_retryable": False}),
    "no-status-query": ("no_double_charge", {"executor.status_query_after_timeout": True}),
    "client-new-key-on-retry": ("no_double_charge", {"client.regenerate_key_on_retry": False}),
    "logs-card-numbers": ("no_card_data", {"payment_service.log_card_numbers": False}),
    "no-reconciliation": ("charged_iff_succeeded", {"reconciliation.enabled": True}),
    "ledger-without-dedupe": ("exactly_once_effect", {"ledger.dedupe": True}),
    "capture-retried-without-key": ("idempotent_replay", {"capture.idempotency_key": True}),
    "refund-retried-with-new-id": ("money_conserved", {"refunds.new_id_on_retry": False}),
    "payout-without-key": ("no_double_payout", {"payouts.idempotency_key": True}),
    "wallet-commit-before-processing": ("wallet_equals_ledger", {"wallet.commit": "after"}),
    "ledger-commit-before-processing": ("wallet_equals_ledger", {"ledger.commit": "after"}),
    "webhook-overwrites-final-state": ("flags_consistent", {"payment_service.webhook_handler": "idempotent"}),
    "reconciliation-fails-pending": ("charged_iff_succeeded", {"reconciliation.pending": "leave"}),
    "retry-topic-drops-exhausted": ("nothing_lost", {"executor.retry_topics.exhausted": "dead_letter"}),
    "conflict-retried-with-new-key": ("no_double_charge", {"executor.on_conflict": "wait_and_query"}),
    "fraud-check-fails-open": ("fraud_exposure", {"payment_service.risk.fail_open": "up_to_fallback_limit"}),
    "ledger-non-atomic-entries": ("ledger_balanced", {"ledger.atomic_entries": True}),
    "ledger-legs-not-atomic": ("ledger_balanced", {"ledger.atomic_entries": True}),
    "payouts-never-reconciled": ("clearing_closed", {"payouts.check_report": True}),
    "fx-not-revalued": ("fx_settled", {"fx.revalue_at_settlement": True}),
    "refund-booked-on-request": ("ledger_complete", {"refunds.book_on": "confirmation"}),
    "settlements-never-imported": ("psp_clearing_closed", {"ledger.import_settlements": True}),
    "clearing-opened-at-authorisation": ("psp_clearing_closed", {"ledger.psp_clearing_opens_at": "capture"}),
    "claim-check-then-act": ("flags_consistent", {"executor.claim": "atomic"}),
}
