"""Completeness both ways and timeliness: exact timelines (constant latencies, see
``test_timelines``) of a refund the PSP declines booked too early (the FLAW ``refunds.book_on:
request``), a dispute whose notice is on its way, a capture the ledger never booked, and a
booking later than ``ledger.on_time_within``."""

from __future__ import annotations

import json

from test_chargebacks import HOUR, disputing
from test_refunds import paid_order, refunding
from test_timelines import quiet_world

from sim.oracles.completeness import ledger_complete


def test_a_declined_refund_booked_when_requested_is_a_ledger_event_without_a_refund():
    world = refunding(failure_probability=1.0, book_on="request")
    order = paid_order(world)
    world.env.run(until=10.2)  # asked at 10.178 s: booked at once, the PSP's answer not back yet
    assert world.ledger.refunded_minor_of == {order: 1000} and ledger_complete(world) == []  # outcome unknown yet
    world.env.run(until=60)
    [violation] = ledger_complete(world)
    assert violation.orders == [order] and violation.message == (
        f"order {order}: the ledger booked refunds of 1000, the bank refunded 0, 1000 of it declined by the PSP "
        "(ledger events without a refund)")


def test_a_declined_refund_booked_on_confirmation_is_never_booked():
    world = refunding(failure_probability=1.0)
    paid_order(world)
    world.env.run(until=60)
    assert world.ledger.refunded_minor_of == {} and ledger_complete(world) == []


def test_a_refund_the_ledger_lost_is_a_refund_without_a_ledger_event():
    world = refunding()
    order = paid_order(world)
    world.env.run(until=60)
    assert ledger_complete(world) == []
    world.ledger.refunded_minor_of.clear()  # as if the ledger's consumer had dropped the refund event
    [violation] = ledger_complete(world)
    assert "the bank refunded 1000, the ledger booked 0" in violation.message and violation.orders == [order]


def test_a_dispute_notice_on_its_way_is_allowed_a_dropped_one_is_not():
    world = disputing(0.0)
    order = paid_order(world)
    world.env.run(until=HOUR + 1)  # disputed at the bank, the PSP's notice a minute away
    assert world.chargebacks.unnoticed_of == {order: 1000} and ledger_complete(world) == []
    world.env.run(until=HOUR + 61)
    assert world.chargebacks.unnoticed_of == {} and ledger_complete(world) == []
    world.ledger.charged_back_minor_of.clear()
    assert [v.message for v in ledger_complete(world)] == [
        f"order {order}: disputes took back 1000 at the bank, the ledger booked 0"]


def test_a_successful_capture_without_a_booking_and_a_booking_without_a_capture():
    world = quiet_world()
    order = paid_order(world)
    world.env.run(until=5)
    assert ledger_complete(world) == []
    world.ledger.recorded[order] = 0
    assert [v.message for v in ledger_complete(world)] == [
        f"order {order}: the bank took the payment, the order is SUCCESS, the ledger has no booking of it"]
    world.ledger.recorded[order] = 1
    world.truth.captures[order] = 0
    assert [v.message for v in ledger_complete(world)] == [
        f"order {order}: booked in the ledger, never authorised at the bank"]


def test_a_booking_later_than_on_time_within_is_counted_late():
    on_time = quiet_world(ledger={"latency": "2ms", "on_time_within": "1s"})
    paid_order(on_time)
    on_time.env.run(until=5)
    late = quiet_world(ledger={"latency": "2s", "on_time_within": "1s"})
    paid_order(late)
    late.env.run(until=5)
    assert (on_time.ledger.late_bookings, late.ledger.late_bookings) == (0, 1)


def test_late_bookings_can_be_expected_and_fail_the_run(tmp_path):
    """``expect: late_ledger_bookings`` reads the timeliness KPI: a ledger slower than its on-time
    limit fails the run (exit 1); the same run with the default limit passes."""
    from helpers import write_scenario

    from sim.cli import main

    common = dict(duration="1m", drain="1m", seed=4, workload={"rate": "5/s", "buyers": 100, "sellers": 10},
                  expect={"late_ledger_bookings": 0})
    on_time = write_scenario(tmp_path, "async-kafka.yaml", name="on-time", **common)
    late = write_scenario(tmp_path, "async-kafka.yaml", name="late",
                          overrides={"ledger.latency": "3s", "ledger.on_time_within": "1s"}, **common)
    assert main(["run", str(on_time), "--out", str(tmp_path / "a")]) == 0
    assert main(["run", str(late), "--out", str(tmp_path / "b")]) == 1
    observed = json.loads((tmp_path / "b" / "results.json").read_text())["expectations"]
    assert [(e["name"], e["held"]) for e in observed] == [("late_ledger_bookings", False)]
    assert observed[0]["observed"] > 0
