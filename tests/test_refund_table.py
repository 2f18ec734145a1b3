"""The refund table reads like the dicts it replaced: every id (issued 1, 2, ..., negative, any
other) finds its row, iteration keeps request order, statuses are set per id."""

from __future__ import annotations

import pytest

from sim.components.refund_table import RefundRequests


def test_reads_back_like_a_dict_in_request_order():
    table, expected, status = RefundRequests(), {}, {}
    for refund_id, order_id, amount in [(1, 10, 500), (-2561, 10, 500), (2, 11, 70), (77, 3, 9), (3, 12, 1 << 40)]:
        table.add(refund_id, order_id, amount, 0)
        expected[refund_id], status[refund_id] = (order_id, amount), 0
    table.status[-2561] = 2
    table.status[3] = 1
    status[-2561], status[3] = 2, 1
    assert list(table) == list(expected) and dict(table.items()) == expected and table == expected
    assert list(table.status.items()) == list(status.items())
    assert [table[i] for i in expected] == list(expected.values())
    assert 4 not in table and 0 not in table and -1 not in table and 78 not in table and "1" not in table
    assert table.get(5) is None and len(table) == len(table.status) == 5
    with pytest.raises(KeyError):
        table.status[4] = 1  # only known refunds have a status
    with pytest.raises(KeyError):
        table.add(77, 1, 1, 0)  # an id is recorded once
    assert RefundRequests() == {}
