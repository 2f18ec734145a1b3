"""What the PSP's API speaks: answer codes, replies, charge requests and how a caller receives an
answer (a callback, or an event it waits on). Shared by the PSP, its capture/refund API, the
payout provider and every caller."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Union, Final

from sim.kernel.scheduling import Answer


class ReplyCode(IntEnum):
    """What the PSP answers (charge, status query, webhook)."""

    APPROVED = 0
    DECLINED_FUNDS = 1
    DECLINED_LIMIT = 2
    PENDING = 3
    ERROR_5XX = 4
    RATE_LIMITED = 5
    CONFLICT = 6  # 409: the key is in flight
    INVALID = 7  # same key, different parameters
    UNAVAILABLE = 8  # 503: outage
    NOT_FOUND = 9  # status query: key unknown or expired
    IN_FLIGHT = 10  # status query: still processing


DEFINITE_SUCCESS: Final = frozenset({ReplyCode.APPROVED})
DEFINITE_FAILURE: Final = frozenset({ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT, ReplyCode.INVALID})
RETRYABLE: Final = frozenset({ReplyCode.ERROR_5XX, ReplyCode.RATE_LIMITED, ReplyCode.CONFLICT, ReplyCode.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer of the PSP. Frozen: the PSP hands out shared instances."""

    code: ReplyCode
    retry_after_s: float = 0.0


REPLIES: Final = tuple(Reply(code) for code in ReplyCode)
"""The shared reply of each code (without Retry-After), indexed by code."""


@dataclass
class ChargeRequest:
    """A charge as the platform sends it: a card *token*, never a card number. (A plain dataclass:
    compiled, mypyc makes it a class with fixed fields; with ``slots=True`` it would stay a Python
    class, built through its ``__init__`` on every charge.)"""

    key: int
    order_id: int
    amount_minor: int
    currency: int
    card_token: int
    admitted_at_us: int = -1
    """Set by the PSP when it admits the request as new, in integer µs (settlement file)."""
    deadline_s: float = math.inf
    """When the caller stops waiting for the answer (its timeout), as the request carries it: the PSP
    drops the request unserved past it only if its queue is set to ``drop_expired``."""

    def __init__(self, key: int, order_id: int, amount_minor: int, currency: int, card_token: int,
                 admitted_at_us: int = -1, deadline_s: float = math.inf) -> None:
        # Written out: compiled, a native call; the dataclass's generated one is a Python
        # function, run through the type's tp_init (~2.5k instructions a charge). The dataclass
        # keeps an __init__ of the class's own.
        self.key = key
        self.order_id = order_id
        self.amount_minor = amount_minor
        self.currency = currency
        self.card_token = card_token
        self.admitted_at_us = admitted_at_us
        self.deadline_s = deadline_s


class ReplyEvent(Answer):
    """Where a caller waiting in a SimPy process wants the PSP's answer: instead of calling back,
    the PSP schedules this event to fire when the reply arrives (one event for the network trip
    and the wake-up: :func:`~sim.kernel.scheduling.succeed_after`). It never fires when no reply
    comes; the caller's own timeout handles that (:func:`~sim.kernel.scheduling.first_of`, or an
    interrupt). ``value`` is the :class:`Reply`."""

    __slots__ = ()


OnReply = Union[Callable[[Reply], None], ReplyEvent]
"""A callback called with the reply when it arrives, or an event the PSP schedules to fire then."""
