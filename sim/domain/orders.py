"""The payment service's database: checkouts (payment events) and payment orders, columnar.

Ids are sequential integers and every column is an ``array``/``bytearray``, so a finished order
costs a few dozen bytes and no Python object. The ``line`` column is ground truth (the buyer's cart
line an order was created for) used only by the oracles to see client-level duplicates.
"""

from __future__ import annotations

from array import array
from enum import IntEnum


class OrderState(IntEnum):
    NOT_STARTED = 0
    EXECUTING = 1
    PENDING = 2
    UNKNOWN = 3
    SUCCESS = 4
    FAILED = 5
    DEAD_LETTERED = 6


TERMINAL_STATES = frozenset({OrderState.SUCCESS, OrderState.FAILED, OrderState.DEAD_LETTERED})
_TERMINAL = bytes(1 if s in TERMINAL_STATES else 0 for s in range(len(OrderState)))

_SUCCESS = int(OrderState.SUCCESS)
_FAILED_STATE = int(OrderState.FAILED)

WALLET_UPDATED = 1
LEDGER_UPDATED = 2
BOTH_UPDATED = WALLET_UPDATED | LEDGER_UPDATED
HANDED_ON = 4
"""Outbox column: the order's record reached the payment-orders topic (the broker acked it)."""


class Orders:
    """Payment orders (one per seller of a checkout)."""

    def __init__(self) -> None:
        self.checkout = array("i")  # 32-bit ids: 4 bytes a column (2^31 orders is out of reach)
        self.seller = array("i")
        self.amount_minor = array("q")
        self.currency = bytearray()
        self.line = array("i")
        self.state = bytearray()
        self.flags = bytearray()
        self.created_at = array("d")
        self.finished_at = array("d")
        self.psp_attempts = array("H")
        self.in_flight: dict[int, None] = {}
        """Non-terminal orders in creation order (the monitor scans the oldest first)."""
        self.illegal_transitions: list[tuple[int, float, int, int]] = []
        """(order, time, from, to) for every transition out of a definite outcome (SUCCESS, or
        FAILED: a decline is final): oracle 5 reads it."""

    def __len__(self) -> int:
        return len(self.state)

    def add(self, checkout: int, seller: int, amount_minor: int, currency: int, line: int, now: float) -> int:
        order_id = len(self.state)
        self.checkout.append(checkout)
        self.seller.append(seller)
        self.amount_minor.append(amount_minor)
        self.currency.append(currency)
        self.line.append(line)
        self.state.append(0)  # OrderState.NOT_STARTED
        self.flags.append(0)
        self.created_at.append(now)
        self.finished_at.append(-1.0)
        self.psp_attempts.append(0)
        self.in_flight[order_id] = None
        return order_id

    def is_terminal(self, order_id: int) -> bool:
        return bool(_TERMINAL[self.state[order_id]])

    def transition(self, order_id: int, new_state: int, now: float) -> None:
        """Set the state; a move out of SUCCESS or FAILED is recorded (it must never happen)."""
        old = self.state[order_id]
        if old == new_state:
            return
        if old == _SUCCESS or old == _FAILED_STATE:
            self.illegal_transitions.append((order_id, now, old, new_state))
        self.state[order_id] = new_state
        if _TERMINAL[new_state]:
            if self.finished_at[order_id] < 0:
                self.finished_at[order_id] = now
            self.in_flight.pop(order_id, None)
        elif order_id not in self.in_flight:
            self.in_flight[order_id] = None

    def count_attempt(self, order_id: int) -> None:
        attempts = self.psp_attempts[order_id]
        if attempts < 65535:
            self.psp_attempts[order_id] = attempts + 1


class Checkouts:
    """Payment events: one per accepted checkout, holding a contiguous range of order ids."""

    def __init__(self) -> None:
        self.by_key = array("i")  # client idempotency key -> checkout id, -1 when unseen
        self.buyer = array("i")
        self.card_token = array("i")  # from the PSP's hosted page: never a card number
        self.first_order = array("i")
        self.order_count = bytearray()
        self.created_at = array("d")
        self.done = bytearray()  # is_payment_done

    def __len__(self) -> int:
        return len(self.buyer)

    def find(self, key: int) -> int:
        """The checkout created for idempotency key ``key``, or -1 (the unique constraint)."""
        return self.by_key[key] if key < len(self.by_key) else -1

    def add(self, key: int, buyer: int, card_token: int, first_order: int, order_count: int, now: float) -> int:
        checkout_id = len(self.buyer)
        if key >= len(self.by_key):
            self.by_key.extend([-1] * (key + 1 - len(self.by_key)))
        self.by_key[key] = checkout_id
        self.buyer.append(buyer)
        self.card_token.append(card_token)
        self.first_order.append(first_order)
        self.order_count.append(order_count)
        self.created_at.append(now)
        self.done.append(0)
        return checkout_id

    def orders_of(self, checkout_id: int) -> range:
        first = self.first_order[checkout_id]
        return range(first, first + self.order_count[checkout_id])
