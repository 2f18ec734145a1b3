"""Each oracle added for docs/design.md §9 can fail: a clean run passes it, and a precise break of the
property it guards (made on a real finished world, or by a flawed knob) is reported with the
orders and times involved."""

from __future__ import annotations

import pytest
from helpers import scenario, verdict, write_scenario

from sim.cli import main as cli_main
from sim.components.reconciliation import HAND, Break, ReconciliationReport
from sim.config.loader import load_scenario
from sim.domain.orders import BOTH_UPDATED, WALLET_UPDATED, OrderState
from sim.errors import ConfigError
from sim.oracles import card_data, effects, flags, reconciled
from sim.config.coverage import PATHS, path_counts
from sim.runners.run import run_scenario, simulate

SMALL = {"rate": "10/s", "buyers": 100, "sellers": 10, "max_checkouts": 60, "currencies": ["EUR", "USD"]}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A clean finished run (its world is rebuilt per test by ``fresh``)."""
    return write_scenario(tmp_path_factory.mktemp("oracles"), "async-kafka.yaml", duration="30s", drain="10m",
                          workload=SMALL)


def fresh(path):
    world, verdicts, recon = simulate(load_scenario(path))
    assert all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]
    return world, recon


def _success_order(world) -> int:
    return next(o for o in range(len(world.orders)) if world.orders.state[o] == OrderState.SUCCESS)


def test_flags_consistent_catches_a_decline_turned_success_and_a_success_left(finished):
    world, _ = fresh(finished)
    assert flags.flags_consistent(world) == []
    order = next(o for o in range(len(world.orders)) if world.orders.state[o] == OrderState.FAILED) \
        if any(s == OrderState.FAILED for s in world.orders.state) else None
    ok = _success_order(world)
    world.orders.transition(ok, OrderState.FAILED, 123.0)
    found = flags.flags_consistent(world)
    assert found[0].message == f"order {ok} moved from SUCCESS to FAILED at 123.000s (a definite outcome must never change)"
    assert found[0].orders == [ok] and found[0].at_s == 123.0
    messages = [v.message for v in found]
    assert f"order {ok} has wallet_updated set but is FAILED" in messages
    assert f"order {ok} has ledger_updated set but is FAILED" in messages
    assert any(m.startswith(f"checkout {world.orders.checkout[ok]}: is_payment_done set") for m in messages)
    if order is not None:  # FAILED is definite too
        world.orders.transition(order, OrderState.SUCCESS, 124.0)
        assert any(v.message.startswith(f"order {order} moved from FAILED to SUCCESS") for v in flags.flags_consistent(world))


def test_flags_consistent_catches_a_payment_done_flag_never_set(finished):
    world, _ = fresh(finished)
    checkout = world.orders.checkout[_success_order(world)]
    assert world.checkouts.done[checkout] == 1
    world.checkouts.done[checkout] = 0
    (found,) = flags.flags_consistent(world)
    assert found.message.startswith(f"checkout {checkout}: is_payment_done not set but its orders are all done")
    world.checkouts.done[checkout] = 1
    first = world.checkouts.orders_of(checkout)[0]
    world.orders.flags[first] &= ~WALLET_UPDATED & 0xFF
    assert world.orders.flags[first] & BOTH_UPDATED != BOTH_UPDATED
    (found,) = flags.flags_consistent(world)
    assert found.message.startswith(f"checkout {checkout}: is_payment_done set but its orders are not all done")


def test_exactly_once_effect_catches_a_duplicate_event_applied_by_a_ledger_without_dedupe(tmp_path):
    # A producer that publishes every success event twice (the producer-duplicates knob), and a
    # ledger that does not dedupe: every order is recorded twice, the deduping wallet credits once.
    loaded = scenario(tmp_path, "flawed/ledger-without-dedupe.yaml", duration="20s", drain="5m", workload=SMALL)
    from sim.config.loader import variant_model
    from sim.observe.trace import Trace
    from sim.oracles.registry import check
    from sim.world import build_world

    world = build_world(variant_model(loaded, None), loaded.scenario, 1, Trace())
    world.payment_service.producer.duplicate_probability = 1.0
    world.env.run(until=world.end_s)
    failed = {v.oracle: v for v in check(world) if not v.passed}
    assert set(failed) == {"exactly_once_effect", "wallet_equals_ledger", "money_conserved"}
    successes = sum(1 for s in world.orders.state if s == OrderState.SUCCESS)
    assert failed["exactly_once_effect"].count == successes > 10
    assert failed["exactly_once_effect"].violations[0].message.startswith("ledger recorded 2 times for order ")
    assert world.metrics.counters["wallet.deduplicated"] == successes  # the wallet did its job


def test_the_psp_self_check_catches_a_live_key_executed_twice(finished):
    world, _ = fresh(finished)
    assert effects.psp_executed_a_live_key_twice(world) == []
    psp = world.psp
    row = psp.settlement_file()[0]
    key, since = psp.settlement_keys()[0]
    # the PSP executes the same key again 5 s later (well inside its 24 h TTL)
    psp.settlement.append(*row[:4], row[4] + 5.0, key, since + 5.0)
    (found,) = effects.psp_executed_a_live_key_twice(world)
    assert found.orders == [row[1]]
    assert found.message.startswith(f"key {key} executed again at {since + 5.0:.3f}s, 5.000s after its first use (TTL 86400s)")
    # admitted a second after expiry: a new payment (not on the boundary itself: capture times are
    # kept to the microsecond, and ``since`` is not a whole number of microseconds)
    world, _ = fresh(finished)
    world.psp.settlement.append(*row[:4], since + 86401.0 + 5.0, key, since + 86401.0)
    assert effects.psp_executed_a_live_key_twice(world) == []


def test_charged_iff_succeeded_respects_reconciliation_buckets(finished):
    world, recon = fresh(finished)
    assert reconciled.charged_iff_succeeded(world, recon) == []
    ok = _success_order(world)
    world.orders.state[ok] = OrderState.FAILED
    (found,) = reconciled.charged_iff_succeeded(world, recon)
    assert found.message.startswith(f"order {ok} was captured at ") and "but is FAILED" in found.message
    recon.breaks.append(Break("charged_but_failed", HAND, ok, "refund"))
    assert reconciled.charged_iff_succeeded(world, recon) == []  # a human owns it now
    never = _success_order(world)
    world.truth.captures[never] = 0  # as if the bank had never captured it
    (found,) = reconciled.charged_iff_succeeded(world, recon)
    assert found.message == f"order {never} is SUCCESS but the bank never captured it, and no reconciliation bucket holds it"
    assert len(reconciled.charged_iff_succeeded(world, ReconciliationReport())) == 2


def test_no_card_data_scans_real_stored_values(finished):
    world, _ = fresh(finished)
    assert card_data.no_card_data(world) == []
    pan = world.population.cards[3].number
    world.dlq.add(0, f"psp said: card {pan} declined", 1.0)  # text in a store
    world.ledger.balances[(99, int(pan))] = 0  # a number, as a dict key
    found = card_data.no_card_data(world)
    masked = f"{pan[:6]}…{pan[-4:]}"
    assert [v.message for v in found] == [
        f"card number {masked} stored in dlq.entries[].reason",
        f"card number {masked} stored in ledger.balances[key][]",
    ]
    assert pan not in " ".join(v.message for v in found)  # the report itself never leaks it


def test_logging_card_numbers_is_caught_by_no_card_data(tmp_path):
    result = run_scenario(scenario(tmp_path, "flawed/logs-card-numbers.yaml", duration="10s", drain="2m", workload=SMALL))
    check = verdict(result, "no_card_data")
    assert not check["passed"] and check["count"] == 1
    assert check["violations"][0]["message"].endswith("stored in payment_service.request_log[]")
    assert not result.passed


def test_coverage_paths_are_counted_and_claims_fail_when_not_hit(tmp_path):
    faults = [{"kind": "psp_reply_lost_after_commit", "at": "0s", "for": "20s", "probability": 0.5}]
    claim = {"reply_lost_after_commit": ">= 1", "key_expiry": ">= 1"}
    result = run_scenario(scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="5m", workload=SMALL,
                                   faults=faults, coverage=claim))
    coverage = result.data["coverage"]
    counters = result.data["counters"]
    assert coverage["paths"]["reply_lost_after_commit"] == counters["psp.reply_lost_after_commit"] > 0
    assert coverage["paths"]["status_query"] == counters["executor.status_queries"]
    held = {c["path"]: c["held"] for c in coverage["required"]}
    assert held == {"reply_lost_after_commit": True, "key_expiry": False}
    assert all(v["passed"] for v in result.data["oracles"])
    assert not result.passed  # it claimed to test key expiry and never hit it


def test_path_counts_sum_glob_patterns():
    counts = path_counts({"kafka.payment-orders.redelivered": 3, "kafka.payment-success.redelivered": 2,
                          "dlq.unknown_outcome": 1, "dlq.retries_exhausted": 4}, {"auto_fixed": 7})
    assert counts["redelivery"] == 5 and counts["dlq"] == 5 and counts["reconciliation_fix"] == 7
    assert counts["key_expiry"] == 0 and set(counts) == set(PATHS)


def test_path_counts_add_a_paths_plain_names_and_count_a_counter_once_however_many_patterns_match_it(monkeypatch):
    from sim.config import coverage

    counters = {"psp.reply_lost_after_commit": 2, "psp.reply_lost": 3, "psp.other": 5}
    assert path_counts(counters, None)["reply_lost"] == 5  # two plain names, each counted
    monkeypatch.setitem(coverage.PATHS, "overlapping", coverage.Path("test", ("psp.reply_lost", "psp.*", "psp.reply_*")))
    assert path_counts(counters, None)["overlapping"] == 10  # each counter once, not once per pattern


def test_unknown_coverage_path_is_a_config_error_with_a_suggestion(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", coverage={"reply_lost_after_comit": ">= 1"})
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    assert "did you mean 'reply_lost_after_commit'" in str(error.value)
    assert cli_main(["run", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_reconcile_sorts_double_and_unknown_captures_in_order_id_order(finished):
    """A settlement file with an order captured twice and an order we never had (twice): the
    double capture goes to a human, the unknown order to the unknown bucket, in order id order;
    every other capture matches."""
    from sim.components.reconciliation import UNKNOWN, reconcile

    world, _ = fresh(finished)
    rows = list(world.settlement_file())
    assert rows
    count = len(world.orders)
    doubled = rows[len(rows) // 2]
    stranger = (doubled[0], count + 5, 100, 0, doubled[4])
    settlement = rows + [doubled, stranger, stranger]
    report = reconcile(settlement, world.orders, world.ledger, world.wallet, world.population.sellers,
                       len(world.population.currencies), world.env.now, auto_fix=True)
    assert [(b.kind, b.bucket, b.order_id, b.detail) for b in report.breaks] == [
        ("captured_more_than_once", HAND, doubled[1], "2 captures: refund 1"),
        ("capture_without_order", UNKNOWN, count + 5, "the PSP charged an order we do not have"),
    ]
    assert report.matched == len(rows)


def test_card_scan_finds_numbers_in_every_kind_of_container():
    """The scan's inline checks of a container's scalar items (floats, booleans, None, integers)
    skip nothing that holds a card number: integers in lists, tuples, sets and dict values, text
    anywhere, integer arrays; and a look-alike that is no issued card is not reported."""
    from array import array
    from types import SimpleNamespace

    pan = "4111111111111111"
    store = SimpleNamespace(
        floats=[1.5, None, True, 7, 4111111111111112],  # scalars only, one a near miss
        ints=[0.5, False, int(pan)],
        nested=(1, [2.0, {3: int(pan)}]),
        tags={"x", f"pan={pan}"},
        column=array("q", [5, int(pan)]),
        note="short",
    )
    scan = card_data._Scan({pan}, skip=set())
    scan.visit(store, "store", 0)
    assert [v.message.split(" stored in ")[1] for v in scan.violations] == [
        "store.ints[]", "store.nested[][][]", "store.tags[]", "store.column",
    ]
