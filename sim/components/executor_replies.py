"""The executor's decision table: what it does after each PSP answer (or none before its timeout),
under its policy. One row per answer code, built once per executor by :func:`reply_table`;
:meth:`sim.components.executor.Executor.execute` looks the answer up and acts.

=====================  ==============================================  =================================
answer                 policy                                          decision
=====================  ==============================================  =================================
APPROVED               any                                             SUCCEED (final)
a decline, INVALID     default                                         DECLINE (final)
a decline, INVALID     ``retry.retry_non_retryable`` (FLAW)            CHARGE_AGAIN
PENDING                any                                             PEND (final; poll the status)
UNAVAILABLE, 429       a secondary PSP                                 FAIL_OVER (nothing charged)
UNAVAILABLE, 429       no secondary PSP                                RETRY
NOT_FOUND              any                                             CHARGE_AGAIN
CONFLICT, IN_FLIGHT    ``status_query_after_timeout``                  ASK
CONFLICT, IN_FLIGHT    no status queries                               CHARGE_SAME_KEY
CONFLICT, IN_FLIGHT    ``on_conflict: new_key`` (FLAW)                 NEW_KEY
5xx, anything else     any                                             RETRY
no answer (timeout)    secondary with ``fallback_after_timeout`` (FLAW)  TIMEOUT_FAIL_OVER
no answer (timeout)    otherwise                                       TIMEOUT
=====================  ==============================================  =================================

What each decision does next (see :meth:`Executor._next_attempt`): FAIL_OVER charges at the
secondary PSP at once if the order is still at the primary and nothing may have been charged there
(no timeout so far, unless ``fallback_after_timeout``), else it is a RETRY; CHARGE_AGAIN backs off
and charges (nothing was charged: the outcome is no longer indefinite); ASK backs off and queries
the key's status; CHARGE_SAME_KEY backs off and charges with the same key; NEW_KEY backs off and
charges with a new key (the first may still charge); RETRY backs off and repeats the call (a charge
that got an error charged nothing); TIMEOUT_FAIL_OVER charges at the secondary at once (the primary
may have charged) while at the primary, else it is a TIMEOUT; TIMEOUT queries at once after a
timed-out charge with ``status_query_after_timeout``, else backs off and repeats the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.components.outcomes import DECLINES
from sim.components.psp_api import ReplyCode

if TYPE_CHECKING:
    from sim.config.model import ExecutorConfig

SUCCEED: Final = 0
DECLINE: Final = 1
PEND: Final = 2
"""Final decisions: the order is settled from the answer (at most PEND)."""
FAIL_OVER: Final = 3
CHARGE_AGAIN: Final = 4
ASK: Final = 5
CHARGE_SAME_KEY: Final = 6
NEW_KEY: Final = 7
RETRY: Final = 8
TIMEOUT_FAIL_OVER: Final = 9
TIMEOUT: Final = 10
"""Decisions to try again (see the module docstring)."""

TIMED_OUT: Final = len(ReplyCode)
"""The row of "no answer before the timeout" in the table."""

NOTHING_CHARGED: Final = frozenset({ReplyCode.UNAVAILABLE, ReplyCode.RATE_LIMITED})
"""Answers given before the PSP did anything: failing over to another PSP is safe."""
KEY_IN_FLIGHT: Final = frozenset({ReplyCode.IN_FLIGHT, ReplyCode.CONFLICT})

NAMES = ("SUCCEED", "DECLINE", "PEND", "FAIL_OVER", "CHARGE_AGAIN", "ASK", "CHARGE_SAME_KEY", "NEW_KEY", "RETRY",
         "TIMEOUT_FAIL_OVER", "TIMEOUT")
"""The decisions' names, by value (for tests and traces)."""


def decide(code: ReplyCode | None, cfg: "ExecutorConfig", has_secondary: bool, fallback_after_timeout: bool) -> int:
    """The decision on answer ``code`` (None: no answer before the timeout) under the policy."""
    if code is None:
        return TIMEOUT_FAIL_OVER if has_secondary and fallback_after_timeout else TIMEOUT
    if code == ReplyCode.APPROVED:
        return SUCCEED
    if code in DECLINES:
        return CHARGE_AGAIN if cfg.retry.retry_non_retryable else DECLINE
    if code == ReplyCode.PENDING:
        return PEND
    if code in NOTHING_CHARGED:
        return FAIL_OVER if has_secondary else RETRY
    if code == ReplyCode.NOT_FOUND:
        return CHARGE_AGAIN
    if code in KEY_IN_FLIGHT:
        if cfg.on_conflict == "new_key":
            return NEW_KEY
        return ASK if cfg.status_query_after_timeout else CHARGE_SAME_KEY
    return RETRY


def reply_table(cfg: "ExecutorConfig", has_secondary: bool, fallback_after_timeout: bool) -> tuple[int, ...]:
    """:func:`decide` for every answer code, indexed by code, then :data:`TIMED_OUT`: built once,
    a lookup per answer."""
    return tuple(decide(code, cfg, has_secondary, fallback_after_timeout) for code in (*ReplyCode, None))
