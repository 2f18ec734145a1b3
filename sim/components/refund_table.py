"""The refunds our refund API accepted, as columns: refund id -> (order id, amount) and each one's
status, read like the dicts they replace (``refund_id in requests``, ``requests.items()``,
``status[refund_id] = REFUNDED``), in the order they were requested.

A run requests refunds for a few per cent of its payments and keeps them all (the oracles and
reconciliation read them at the end): as dicts of tuples that was about 200 bytes a refund, as
columns it is about 30. The ids our API issues (1, 2, 3, ...) find their row by position; any
other id (the negative ids of extra-capture refunds) through a small dict.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping

import numpy as np

_ABSENT = -1


class RefundRequests(Mapping[int, tuple[int, int]]):
    """Refund id -> (order id, amount minor), in request order; :attr:`status` holds each one's status."""

    def __init__(self) -> None:
        self._ids = array("q")
        self._orders = array("q")
        self._amounts = array("q")
        self._status = bytearray()
        self._row_of_issued = array("i")  # refund id k >= 1 -> its row (ids issued in order 1, 2, ...)
        self._row_of_other: dict[int, int] = {}  # any other refund id -> its row
        self.status = RefundStatus(self)
        """Refund id -> status (a small int, e.g. WAITING, REFUNDED, FAILED, GAVE_UP)."""

    def add(self, refund_id: int, order_id: int, amount_minor: int, status: int) -> None:
        """Record a new refund (its id must not be known yet)."""
        if refund_id in self:
            raise KeyError(f"refund {refund_id} is recorded already")
        row = len(self._ids)
        if refund_id == len(self._row_of_issued) + 1:
            self._row_of_issued.append(row)
        else:
            self._row_of_other[refund_id] = row
        self._ids.append(refund_id)
        self._orders.append(order_id)
        self._amounts.append(amount_minor)
        self._status.append(status)

    def columns(self) -> "tuple[np.ndarray, np.ndarray, np.ndarray]":
        """(refund ids, order ids, amounts) of every refund in request order (int64, new arrays)."""
        return tuple(np.array(column, dtype=np.int64) for column in (self._ids, self._orders, self._amounts))  # type: ignore[return-value]

    def row(self, refund_id: int) -> int:
        """The row of ``refund_id``, or -1 if it is not recorded."""
        if 1 <= refund_id <= len(self._row_of_issued):
            return self._row_of_issued[refund_id - 1]
        return self._row_of_other.get(refund_id, _ABSENT)

    def __contains__(self, refund_id: object) -> bool:
        return isinstance(refund_id, int) and self.row(refund_id) != _ABSENT

    def known_row(self, refund_id: int) -> int:
        """The row of ``refund_id``; KeyError when it was never requested (a dict's lookup)."""
        row = self.row(refund_id)
        if row == _ABSENT:
            raise KeyError(refund_id)
        return row

    def __getitem__(self, refund_id: int) -> tuple[int, int]:
        row = self.known_row(refund_id)
        return self._orders[row], self._amounts[row]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"RefundRequests({dict(self.items())!r})"


class RefundStatus(Mapping[int, int]):
    """Refund id -> status of the refunds in a :class:`RefundRequests`; settable per known id."""

    def __init__(self, requests: RefundRequests) -> None:
        self._requests = requests

    def __getitem__(self, refund_id: int) -> int:
        return self._requests._status[self._requests.known_row(refund_id)]

    def __setitem__(self, refund_id: int, status: int) -> None:
        self._requests._status[self._requests.known_row(refund_id)] = status

    def __iter__(self) -> Iterator[int]:
        return iter(self._requests)

    def __len__(self) -> int:
        return len(self._requests)

    def __repr__(self) -> str:
        return f"RefundStatus({dict(self.items())!r})"
