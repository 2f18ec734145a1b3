"""The report's money block: held twice vs captured twice, refunds, chargebacks, payouts and the
seller's wait, clearing,
reconciliation breaks by bucket and amount, FX, in human units ("1,234.50 EUR")."""

from __future__ import annotations

from helpers import scenario

from sim.format import money
from sim.reports.output import write_run_outputs
from sim.reports.money import money_rows
from sim.runners.run import run_scenario


def test_money_in_human_units_per_currency():
    assert (money(123450, "EUR"), money(1234, "JPY"), money(-5, "USD")) == ("1,234.50 EUR", "1,234 JPY", "-0.05 USD")


def test_a_single_currency_run_reports_its_money_flows_in_that_currency(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="10m", seed=3,
                      overrides={"refunds.probability": 0.5, "refunds.delay": "10s",
                                 "chargebacks.probability": 0.2, "chargebacks.delay": "20s",
                                 "payouts": {"enabled": True, "interval": "1m", "first_run": "1m", "lag": "0s"}},
                      workload={"rate": "5/s", "currencies": ["EUR"]})
    result = run_scenario(loaded, explain=False)
    rows = {row["label"]: row["value"] for row in money_rows(result.data)}
    refunds = result.data["summary"]["refunds"]
    assert refunds["refunded"] > 0
    assert rows["refunds"].endswith(f"{money(refunds['refunded_minor'], 'EUR')} booked, "
                                    f"{money(refunds['paid_back_minor'], 'EUR')} paid back")
    assert rows["captured twice (money taken twice)"] == "0 cart lines · 0.00 EUR"
    assert "disputed" in rows["chargebacks"] and "paid of" in rows["payouts"]
    assert rows["reconciliation breaks (end of run)"].startswith("auto fixed 0 (0.00 EUR)")
    out = tmp_path / "report"
    write_run_outputs(out, result)
    assert rows["refunds"] in (out / "summary.md").read_text() and "<h2>Money</h2>" in (out / "report.html").read_text()
    kpis, summary = result.data["kpis"], result.data["summary"]  # ranked by compare
    assert kpis["chargeback_losses_minor"] == summary["chargebacks"]["losses_minor"] > 0
    assert kpis["payout_delay_s"] == summary["payouts"]["mean_delay_s"] > 0
    assert kpis["seller_wait_s"] == summary["payouts"]["seller_wait_mean_s"] > kpis["payout_delay_s"]
    assert rows["seller's wait (capture to money in the bank)"].endswith(
        f"p95 · {money(summary['payouts']['seller_unpaid_minor'], 'EUR')} still owed at the end")
    assert rows["seller's wait (capture to money in the bank)"] in (out / "report.html").read_text()
    assert (kpis["captured_twice_minor"], kpis["held_twice"], kpis["recon_open_minor"]) == (0, 0, 0)


def test_several_currencies_are_summed_in_minor_units_and_said_so(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="30s", drain="1m", seed=3,
                      workload={"rate": "2/s", "currencies": ["EUR", "USD"]})
    rows = money_rows(run_scenario(loaded, explain=False).data)
    assert rows[0] == {"label": "amounts", "value": "minor units, summed over EUR, USD"}


def test_refund_and_chargeback_breaks_are_counted_by_kind_with_their_bucket():
    from sim.reports.money import _money_back

    kinds = {"chargeback_booked_not_made": 1, "chargeback_not_booked": 2, "missing_ledger_entry": 3, "refund_not_booked": 4}
    assert _money_back(kinds, True) == ("chargeback booked not made 1, by hand · chargeback not booked 2, auto fixed · "
                                        "refund not booked 4, auto fixed")
    assert _money_back(kinds, False).count("by hand") == 3 and _money_back({"missing_ledger_entry": 3}, True) == ""
