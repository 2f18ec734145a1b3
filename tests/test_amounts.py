"""``AmountsByOrder``: reads as the dict of lists of amounts it replaces, in recording order."""

from __future__ import annotations

import sys

from sim.domain.amounts import AmountsByOrder


def test_reads_as_a_dict_of_lists():
    amounts = AmountsByOrder()
    assert amounts == {} and not amounts and amounts.get(7, ()) == ()
    amounts.append(7, 500)
    amounts.append(3, -20)
    amounts.append(7, 250)
    amounts.append(7, 1)
    assert amounts == {7: [500, 250, 1], 3: [-20]}
    assert list(amounts) == [7, 3] and list(amounts.items()) == [(7, [500, 250, 1]), (3, [-20])]
    assert amounts[3] == [-20] and amounts.get(3) == [-20] and 3 in amounts and 4 not in amounts
    assert (amounts.total_of(7), amounts.total_of(3), amounts.total_of(4)) == (751, -20, 0)
    assert (amounts.count_of(7), amounts.count_of(3), amounts.count_of(4)) == (3, 1, 0)


def test_a_read_is_a_copy():
    amounts = AmountsByOrder()
    amounts.append(1, 10)
    amounts.append(2, 10)
    amounts.append(2, 20)
    amounts[1].append(99)
    amounts[2].append(99)
    assert amounts == {1: [10], 2: [10, 20]}


def test_a_lone_amount_costs_no_list():
    """The point of the class: one amount per order is stored as the int itself."""
    amounts = AmountsByOrder()
    for order_id in range(1000):
        amounts.append(order_id, 1000 + order_id)
    lists = {order_id: [1000 + order_id] for order_id in range(1000)}
    list_bytes = sum(sys.getsizeof(v) for v in lists.values())
    assert amounts._more == {} and len(amounts._first) == 1000  # no list: the first amounts' int64 columns
    assert sys.getsizeof(lists) > 0 and list_bytes > 0 and amounts == lists
