"""The executor's decision table on its own: answer code × policy → decision."""

from __future__ import annotations

import pytest

from sim.components.executor_replies import (
    ASK, CHARGE_AGAIN, CHARGE_SAME_KEY, DECLINE, FAIL_OVER, NAMES, NEW_KEY, PEND, RETRY, SUCCEED, TIMED_OUT,
    TIMEOUT, TIMEOUT_FAIL_OVER, decide, reply_table,
)
from sim.components.psp import ReplyCode as C
from sim.config.model import ExecutorConfig

DEFAULT = ExecutorConfig()


def config(**fields) -> ExecutorConfig:
    return DEFAULT.model_copy(update=fields)


def table(cfg: ExecutorConfig = DEFAULT, secondary: bool = False, fallback_after_timeout: bool = False) -> dict:
    """The table by code name (``None`` for a timeout), decisions by name."""
    rows = reply_table(cfg, secondary, fallback_after_timeout)
    return {(C(i).name if i < TIMED_OUT else None): NAMES[d] for i, d in enumerate(rows)}


def test_the_default_policy_row_by_row():
    assert DEFAULT.status_query_after_timeout and DEFAULT.on_conflict == "wait_and_query"
    assert table() == {
        "APPROVED": "SUCCEED", "DECLINED_FUNDS": "DECLINE", "DECLINED_LIMIT": "DECLINE", "INVALID": "DECLINE",
        "PENDING": "PEND", "ERROR_5XX": "RETRY", "RATE_LIMITED": "RETRY", "UNAVAILABLE": "RETRY",
        "CONFLICT": "ASK", "IN_FLIGHT": "ASK", "NOT_FOUND": "CHARGE_AGAIN", None: "TIMEOUT",
    }


def test_nothing_charged_fails_over_only_with_a_secondary_psp():
    with_secondary = table(secondary=True)
    assert with_secondary["UNAVAILABLE"] == with_secondary["RATE_LIMITED"] == "FAIL_OVER"
    assert with_secondary["ERROR_5XX"] == "RETRY"  # a 5xx may come after the PSP did something
    assert with_secondary[None] == "TIMEOUT"
    assert table(secondary=True, fallback_after_timeout=True)[None] == "TIMEOUT_FAIL_OVER"
    assert table(secondary=False, fallback_after_timeout=True)[None] == "TIMEOUT"


def test_a_key_in_flight_is_asked_about_charged_again_or_given_a_new_key():
    assert table(config(status_query_after_timeout=False))["CONFLICT"] == "CHARGE_SAME_KEY"
    assert table(config(on_conflict="new_key"))["IN_FLIGHT"] == "NEW_KEY"
    assert table(config(on_conflict="new_key", status_query_after_timeout=False))["CONFLICT"] == "NEW_KEY"


def test_retrying_non_retryable_declines_charges_again():
    flawed = table(config(retry=DEFAULT.retry.model_copy(update={"retry_non_retryable": True})))
    assert flawed["DECLINED_FUNDS"] == flawed["INVALID"] == "CHARGE_AGAIN"
    assert flawed["APPROVED"] == "SUCCEED"


@pytest.mark.parametrize("code", [*C, None])
def test_the_table_is_decide_for_every_code(code):
    rows = reply_table(DEFAULT, True, True)
    assert rows[TIMED_OUT if code is None else code] == decide(code, DEFAULT, True, True)


def test_final_decisions_sort_first():
    """``execute`` tells final decisions by ``decision <= PEND``."""
    final = {SUCCEED, DECLINE, PEND}
    others = {FAIL_OVER, CHARGE_AGAIN, ASK, CHARGE_SAME_KEY, NEW_KEY, RETRY, TIMEOUT_FAIL_OVER, TIMEOUT}
    assert max(final) == PEND < min(others) and len(final | others) == len(NAMES)
