"""The report's money block: held twice vs captured twice, refunds, chargebacks, payouts and the
seller's wait, clearing,
reconciliation breaks by bucket and amount, FX, in human units ("1,234.50 EUR")."""

from __future__ import annotations

from helpers import scenario

from sim import format as fmt
from sim.format import money
from sim.reports.output import write_run_outputs
from sim.reports.money import money_rows
from sim.reports.tables import comparison_rows, kpi_rows
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
    import re  # every request and every dispute is accounted for, what is still under way included

    asked, _partial, done, declined, gave_up, waiting = map(int, re.findall(r"\d+(?= requested| of them| refunded| declined| given up| still waiting)",
                                                                          rows["refunds"].replace(",", "")))
    assert asked == done + declined + gave_up + waiting == refunds["requested"] and done == refunds["refunded"]
    disputed, lost, won, open_ = map(int, re.findall(r"\d+(?= disputed| lost| won| still open)", rows["chargebacks"].replace(",", "")))
    assert disputed == lost + won + open_ > 0
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
    cards = {row["key"]: row for row in kpi_rows(result.data)}  # the key indicators, in the same currency
    assert cards["chargeback_losses_minor"]["value"] == money(kpis["chargeback_losses_minor"], "EUR")
    assert cards["chargeback_losses_minor"]["label"] == "chargeback losses (amounts and fees)"
    assert cards["money_at_risk_minor"]["value"] == "0.00 EUR"
    assert f"| {money(kpis['chargeback_losses_minor'], 'EUR')} |" in (out / "summary.md").read_text()


def test_money_kpis_read_in_the_workload_currency_with_their_interval():
    key = "chargeback_losses_minor"
    assert fmt.value(key, 1_879_505) == "1,879,505"  # several currencies: the sum of minor units
    assert fmt.value(key, 1_879_505, currency="EUR") == "18,795.05 EUR"
    assert fmt.value(key, 1_879_505, currency="JPY") == "1,879,505 JPY"
    assert fmt.value(key, 250.5, signed=True, currency="USD") == "+2.50 USD"
    assert fmt.value(key, -250, signed=True, currency="USD") == "-2.50 USD"
    stat = {"mean": 360_650.0, "half_width": 550_200.0, "low": 0.0, "high": 910_850.0}
    assert fmt.ci(key, stat, currency="EUR") == "3,606.50 EUR ± 5,502.00"
    assert fmt.interval(key, stat, currency="EUR") == "[0.00 EUR, 9,108.50 EUR]"
    assert fmt.ci("success_rate", {"mean": 0.5, "half_width": 0.01}, currency="EUR") == "50.00 % ± 1.00"
    one, two = {"workload": {"currencies": ["EUR"]}}, {"workload": {"currencies": ["EUR", "USD"]}}
    assert (fmt.workload_currency(one), fmt.workload_currency(two)) == ("EUR", None)
    assert fmt.money_label("money at risk", "money_at_risk_minor", one) == "money at risk"
    assert fmt.money_label("money at risk", "money_at_risk_minor", two) == "money at risk, in minor units summed over EUR, USD"
    assert fmt.money_label("DLQ count", "dead_lettered", two) == "DLQ count"


def test_a_comparison_ranks_money_in_the_workload_currency():
    from sim.config.kpis import KPIS

    stat = {"mean": 1_000.0, "half_width": 20.0, "low": 980.0, "high": 1_020.0, "n": 2}
    diff = {"mean": -100.0, "half_width": 10.0, "low": -110.0, "high": -90.0, "n": 2}
    comp = {"config": {"workload": {"currencies": ["GBP"]}}, "variants": ["a", "b"], "baseline": "a",
            "ranking": {k.key: [{"variant": "b", "rank": 1, "mean": 900.0}, {"variant": "a", "rank": 2, "mean": 1_000.0}]
                        for k in KPIS},
            "stats": {v: {k.key: stat for k in KPIS} for v in "ab"},
            "paired_differences": {v: {k.key: diff for k in KPIS} for v in "ab"}}
    rows = {row["key"]: row for row in comparison_rows(comp)}
    cells = {cell["variant"]: cell for cell in rows["captured_twice_minor"]["cells"]}
    assert cells["a"]["text"] == "10.00 GBP ± 0.20" and cells["b"]["diff"] == "-1.00 GBP ± 0.10"
    assert rows["captured_twice_minor"]["label"] == "money taken twice"
    comp["config"]["workload"]["currencies"] = ["GBP", "EUR"]
    rows = {row["key"]: row for row in comparison_rows(comp)}
    assert rows["captured_twice_minor"]["cells"][0]["text"] == "1,000 ± 20"
    assert rows["captured_twice_minor"]["label"] == "money taken twice, in minor units summed over GBP, EUR"


def test_several_currencies_read_in_each_not_summed(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="30s", drain="1m", seed=3,
                      workload={"rate": "2/s", "currencies": ["EUR", "USD"]})
    from sim.runners.kpis import enrich

    result = run_scenario(loaded, explain=False)
    data = enrich(result.data, result.world)
    rows = money_rows(data)
    assert rows[0]["label"] != "amounts"  # no row saying amounts are minor units summed (tests/test_money_by_currency.py)
    cards = {row["key"]: row for row in kpi_rows(data)}
    assert cards["money_at_risk_minor"] == {**cards["money_at_risk_minor"], "value": "0", "label": "money at risk"}


def test_refund_and_chargeback_breaks_are_counted_by_kind_with_their_bucket():
    from sim.reports.money import _money_back

    kinds = {"chargeback_booked_not_made": 1, "chargeback_not_booked": 2, "missing_ledger_entry": 3, "refund_not_booked": 4}
    assert _money_back(kinds, True) == ("chargeback booked not made 1, by hand · chargeback not booked 2, auto fixed · "
                                        "refund not booked 4, auto fixed")
    assert _money_back(kinds, False).count("by hand") == 3 and _money_back({"missing_ledger_entry": 3}, True) == ""


def test_a_sweep_labels_its_money_kpis_as_minor_units():
    from sim.reports.sweep_report import kpi_label

    assert kpi_label("chargeback_losses_minor") == "chargeback losses (amounts and fees), in minor units"
    assert kpi_label("success_rate") == "success rate" and kpi_label("my_kpi") == "my kpi"
