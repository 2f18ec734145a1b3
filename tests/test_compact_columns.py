"""The compact columns that keep a run's history (issue 20), each against a plain Python reference
fed the same values: a drift column against a list, the int map against a dict, the settlement
file's refund and chargeback lines against a list of ``Line`` tuples."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sim.components.money_back_matching import MoneyBack
from sim.components.psp_settlement import CHARGEBACK, REFUND, Adjustments, Line
from sim.domain.drift import DriftColumn
from sim.domain.intmap import IntMap
from sim.domain.microtimes import CHUNK


def _drifting(rng: random.Random, count: int) -> list[int]:
    """About ``position + drift``, with the odd far jump, negative value and 70-bit value."""
    values, drift = [], 5
    for position in range(count):
        drift += rng.choice((-1, 0, 0, 1))
        roll = rng.random()
        if roll < 0.01:
            values.append(rng.randrange(-10**6, 10**6))
        elif roll < 0.012:
            values.append(rng.choice((2**40, -(2**33), 2**63 - 1, -(2**63))))
        else:
            values.append(position + drift)
    return values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drift_column_reads_back_every_value(seed):
    rng = random.Random(seed)
    values = _drifting(rng, 3 * CHUNK + 17)
    column = DriftColumn()
    for value in values:
        column.append(value)
    assert len(column) == len(values)
    assert [column[i] for i in range(len(values))] == values
    assert column[-1] == values[-1]
    for start in (0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 5, len(values), len(values) + 3):
        assert column.tolist(start) == values[start:]
        assert column.to_numpy(start).tolist() == values[start:]
        assert column.to_numpy(start).dtype == np.int64
    with pytest.raises(IndexError):
        column[len(values)]


def test_drift_column_keeps_values_beyond_64_bits_exact():
    column = DriftColumn()
    for value in (0, 1, 2**70, 3, -(2**65)):
        column.append(value)
    assert column.tolist() == [0, 1, 2**70, 3, -(2**65)] and column[2] == 2**70
    assert column.tolist(3) == [3, -(2**65)]


def test_drift_column_costs_two_bytes_an_entry_when_in_step():
    column = DriftColumn()
    for position in range(10 * CHUNK):
        column.append(position + 1000 + position // 100)
    assert column._offsets.itemsize == 2 and not column._odd and len(column._bases) == 10


@pytest.mark.parametrize("seed", [1, 2])
def test_int_map_against_a_dict(seed):
    rng = random.Random(seed)
    ours, reference = IntMap(), {}
    for _ in range(5000):
        key = rng.choice((rng.randrange(50), rng.randrange(10**6), rng.randrange(-50, 0)))
        if rng.random() < 0.7:
            value = rng.randrange(-10**12, 10**12)
            ours[key] = value
            reference[key] = value
        else:
            assert ours.get(key) == reference.get(key) and (key in ours) == (key in reference)
    assert len(ours) == len(reference) and ours == reference and reference == ours
    assert list(ours) == list(reference) and ours.keys() == list(reference.keys())  # insertion order
    assert ours.values() == list(reference.values()) and ours.items() == list(reference.items())
    assert ours.get(np.int64(next(iter(reference)))) == next(iter(reference.values()))  # a numpy key
    assert ours.get("1") is None and ours.get(12345678901, -1) == -1
    with pytest.raises(KeyError):
        ours[10**7]


def test_int_map_turns_into_a_dict_for_big_ints_keeping_order():
    ours = IntMap()
    ours[5], ours[1] = 50, 10
    ours[3] = 2**70
    ours[2**80] = 1
    ours[5] = 51
    assert ours.items() == [(5, 51), (1, 10), (3, 2**70), (2**80, 1)] and ours == {5: 51, 1: 10, 3: 2**70, 2**80: 1}
    ours.clear()
    assert ours == {} and len(ours) == 0 and ours.get(5) is None
    ours.put(7, 70)
    assert ours == {7: 70}


def _line(rng: random.Random, settlement_days: int) -> Line:
    day = rng.randrange(-1, 40)
    return Line(day, rng.choice((rng.randrange(10**6), 2**40)), rng.choice((REFUND, CHARGEBACK)),
                rng.choice((-rng.randrange(1, 10**5), 2**35, rng.randrange(10**4))), rng.choice((0, 150, 2**33)),
                rng.randrange(3), day + 1 + settlement_days, rng.random() * 10**6, rng.randrange(-10**9, 10**9))


@pytest.mark.parametrize("settlement_days", [0, 2])
def test_adjustments_read_back_the_lines_appended(settlement_days):
    rng = random.Random(settlement_days)
    lines = [_line(rng, settlement_days) for _ in range(500)]
    columns = Adjustments(settlement_days)
    for line in lines:
        columns.append(line)
    assert len(columns) == 500 and list(columns) == lines and columns == lines
    assert [columns[i] for i in range(500)] == lines and columns[-1] == lines[-1]
    assert all(type(line) is Line and type(line.at_s) is float for line in columns)
    assert columns != lines[:-1] and Adjustments() == []


def test_adjustments_refuse_a_line_settling_on_another_day():
    with pytest.raises(ValueError, match="settles_on"):
        Adjustments(2).append(Line(3, 1, REFUND, -5, 0, 0, 4, 1.0, 1))


def test_money_back_keeps_each_orders_refund_keys():
    given_back = MoneyBack()
    for order_id, kind, amount, fee, key in ((1, REFUND, -100, 0, 11), (2, CHARGEBACK, -300, 15, 2),
                                             (1, REFUND, -50, 0, 12), (1, REFUND, -5, 0, 12), (3, REFUND, -7, 0, -1),
                                             (4, REFUND, -9, 0, 40), (2, CHARGEBACK, 300, 0, 2)):
        given_back.add(Line(0, order_id, kind, amount, fee, 0, 1, 1.0, key))
    assert given_back.refunded == {1: 155, 4: 9} and given_back.charged_back == {2: 0}
    assert given_back.dispute_fees == {2: 15}
    assert given_back.refund_keys_of(1) == {11, 12} and given_back.refund_keys_of(4) == {40}
    assert given_back.refund_keys_of(3) == set() and given_back.refund_keys_of(2) == set()


@pytest.mark.parametrize("seed", [1, 2])
def test_int_map_with_removals_against_a_dict(seed):
    """Removed keys read as absent, come back at the end when put again, and survive regrowth."""
    rng = random.Random(seed)
    ours, reference = IntMap(), {}
    for _ in range(4000):
        key, roll = rng.randrange(300), rng.random()
        if roll < 0.5:
            ours[key] = reference[key] = rng.randrange(10**9)
        elif roll < 0.75:
            ours.discard(key)
            reference.pop(key, None)
        else:
            assert ours.get(key) == reference.get(key)
    assert ours.items() == list(reference.items()) and len(ours) == len(reference)
    ours[2**70] = 1  # into a dict: the removed stay removed
    reference[2**70] = 1
    assert ours.items() == list(reference.items())
    ours.discard(2**70)
    assert ours == {k: v for k, v in reference.items() if k != 2**70}


def test_transfer_report_reads_back_its_transfers():
    from sim.components.payout_provider import Transfer, TransferReport

    transfers = [Transfer(i + 1, i % 7, i % 2, 1000 * i - 5, 3600.0 * i + 0.125) for i in range(50)]
    report = TransferReport()
    for transfer in transfers:
        report.append(transfer)
    assert list(report) == transfers and report == transfers and len(report) == 50 and report[-1] == transfers[-1]
    assert report.has_payout(50) and not report.has_payout(51) and TransferReport() == []


def test_payout_book_reads_and_writes_its_columns():
    from sim.components.payouts import PayoutBook

    book = PayoutBook()
    rows = [(i % 5, i % 2, 100 * i + 7, 3600.0 * i) for i in range(20)]
    for seller, currency, amount, at in rows:
        book.open(seller, currency, amount, at)
    book[3].closed_at_s, book[3].outcome = 7300.5, "paid"
    book[20].outcome = "returned"
    assert len(book) == 20 and list(book) == list(range(1, 21)) and 0 not in book and 21 not in book
    assert [(p.seller, p.currency, p.amount_minor, p.opened_at_s) for p in book.values()] == rows
    assert [(p.payout_id, p.outcome, p.closed_at_s) for p in book.values() if p.outcome != "open"] == [
        (3, "paid", 7300.5), (20, "returned", None)]
    assert book.get(21) is None and book.get(0) is None
    with pytest.raises(KeyError):
        book[21]


def test_payout_book_lists_its_open_payouts_in_id_order():
    from sim.components.payouts import PayoutBook

    book = PayoutBook()
    for i in range(6):
        book.open(i, 0, 100, 1.0)
    book[2].outcome, book[5].outcome = "paid", "returned"
    assert book.open_ids() == [1, 3, 4, 6] == [p.payout_id for p in book.values() if p.outcome == "open"]
    assert PayoutBook().open_ids() == []


def test_payout_book_counts_its_outcomes_and_gives_the_paid_ones_amounts_and_delays_from_its_columns():
    from sim.components.payouts import PayoutBook

    book = PayoutBook()
    for i in range(8):
        book.open(i, 0, 100 + i, 10.0 * i)
    for payout_id, outcome, closed in ((2, "paid", 25.5), (3, "returned", 31.0), (7, "paid", 60.25)):
        book[payout_id].outcome, book[payout_id].closed_at_s = outcome, closed
    assert [book.count(o) for o in ("open", "paid", "returned")] == [5, 2, 1]
    views = [p for p in book.values() if p.outcome == "paid"]  # what it stands for, through the views
    assert book.paid() == ([p.amount_minor for p in views], [p.closed_at_s - p.opened_at_s for p in views])
    assert book.paid() == ([101, 106], [15.5, 0.25]) and PayoutBook().paid() == ([], [])
