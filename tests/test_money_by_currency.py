"""Money of a run in several currencies reads in each currency, never as cents and pence summed.

Each part is checked against a record kept apart from the one it was split from: the bank's
refunds (recorded with their currency), the ledger's chargeback-fee account per currency, the
payout provider's transfers. The parts add up to the sums that expectations, rankings and sweeps use."""

from __future__ import annotations

import pytest
from helpers import money_taken_twice

from sim import format as fmt
from sim.components.ledger import CHARGEBACK_FEES
from sim.reports.money import money_rows
from sim.reports.tables import kpi_rows
from sim.runners.kpis import MONEY_KPI_PARTS, enrich
from sim.runners.money_by_currency import AMOUNTS
from sim.runners.run import run_scenario

SUMMED = {
    "money_at_risk_minor": ("money_at_risk_minor",),
    "held_twice_minor": ("held_twice_minor",),
    "double_charged_minor": ("double_charged_minor",),
    "refunded_minor": ("refunds", "refunded_minor"),
    "paid_back_minor": ("refunds", "paid_back_minor"),
    "charged_back_minor": ("chargebacks", "charged_back_minor"),
    "chargeback_fees_minor": ("chargebacks", "fees_minor"),
    "paid_out_minor": ("payouts", "paid_out_minor"),
    "seller_unpaid_minor": ("payouts", "seller_unpaid_minor"),
}
"""Where each split amount's sum is in the summary."""


@pytest.fixture(scope="module")
def flawed_two_currency_run(tmp_path_factory):
    """A design without a stable idempotency key (so money is taken twice), with refunds,
    disputes and payouts, in EUR and USD."""
    loaded = money_taken_twice(tmp_path_factory.mktemp("money"))
    result = run_scenario(loaded, explain=False)
    enrich(result.data, result.world)  # the KPIs, as the report and a replication add them
    return result


def _sum(summary: dict, path: tuple[str, ...]) -> int:
    for key in path:
        summary = summary[key]
    return summary


def test_every_amount_splits_into_parts_that_add_up_to_its_sum(flawed_two_currency_run):
    data = flawed_two_currency_run.data
    summary = data["summary"]
    split = summary["money_by_currency"]
    assert list(split) == ["EUR", "USD"]
    assert set(AMOUNTS) == set(SUMMED)
    for name, path in SUMMED.items():
        assert sum(money[name] for money in split.values()) == _sum(summary, path), name
    for bucket, total in summary["reconciliation_minor"].items():
        assert sum(money["reconciliation_minor"][bucket] for money in split.values()) == total
    for key in MONEY_KPI_PARTS:
        assert sum(data["kpis_by_currency"][key].values()) == data["kpis"][key], key
    for name in ("double_charged_minor", "refunded_minor", "charged_back_minor", "paid_out_minor"):
        assert all(money[name] > 0 for money in split.values()), name  # both currencies have some: the split is tested


def test_each_currency_s_part_matches_the_record_kept_in_that_currency(flawed_two_currency_run):
    world, split = flawed_two_currency_run.world, flawed_two_currency_run.data["summary"]["money_by_currency"]
    codes = world.population.currencies
    transfers = {code: 0 for code in codes}
    for transfer in world.payout_provider.report:
        transfers[codes[transfer.currency]] += transfer.amount_minor
    for index, code in enumerate(codes):
        money = split[code]
        assert money["refunded_minor"] == money["paid_back_minor"] == world.truth.refunded_minor_by_currency[index]
        assert money["chargeback_fees_minor"] == world.ledger.balances.get((CHARGEBACK_FEES, index), 0) > 0
        assert money["paid_out_minor"] == transfers[code]


def test_the_report_shows_money_of_several_currencies_in_each(flawed_two_currency_run):
    data = flawed_two_currency_run.data
    split = data["summary"]["money_by_currency"]
    cards = {row["key"]: row for row in kpi_rows(data)}
    taken = cards["captured_twice_minor"]
    assert taken["label"] == "money taken twice"  # no "in minor units summed over EUR, USD"
    assert taken["value"] == " + ".join(fmt.money(split[code]["double_charged_minor"], code) for code in ("EUR", "USD"))
    rows = {row["label"]: row["value"] for row in money_rows(data)}
    assert "amounts" not in rows  # the row saying amounts are summed minor units
    refunds = " + ".join(fmt.money(split[code]["refunded_minor"], code) for code in ("EUR", "USD"))
    assert f"· {refunds} booked, {refunds} paid back" in rows["refunds"]
    assert rows["captured twice (money taken twice)"].endswith(taken["value"])


def test_results_written_before_the_split_still_say_their_sums_are_minor_units(flawed_two_currency_run):
    data = dict(flawed_two_currency_run.data)
    data["summary"] = {k: v for k, v in data["summary"].items() if k != "money_by_currency"}
    data.pop("kpis_by_currency")
    rows = {row["label"]: row["value"] for row in money_rows(data)}
    assert rows["amounts"] == "minor units, summed over EUR, USD"
    cards = {row["key"]: row for row in kpi_rows(data)}
    assert cards["captured_twice_minor"]["label"] == "money taken twice, in minor units summed over EUR, USD"
    assert cards["captured_twice_minor"]["value"] == f"{data['kpis']['captured_twice_minor']:,}"


def test_replicated_money_kpis_have_a_mean_and_interval_per_currency():
    from sim.runners.replicate import Replicated

    def run(eur: int, usd: int, seed: int) -> dict:
        return {"seed": seed, "verdict": "pass", "kpis": {"captured_twice_minor": eur + usd},
                "kpis_by_currency": {"captured_twice_minor": {"EUR": eur, "USD": usd}}}

    stats = Replicated([run(100, 0, 1), run(300, 0, 2)]).stats_by_currency()
    assert stats["captured_twice_minor"]["EUR"]["mean"] == 200.0
    assert stats["captured_twice_minor"]["USD"]["mean"] == 0.0


def test_amounts_of_several_currencies_read_as_a_sum_of_each():
    assert fmt.amounts({"EUR": 1_170_495, "USD": 709_010}) == "11,704.95 EUR + 7,090.10 USD"
    assert fmt.amounts({"EUR": 0, "USD": 250}) == "2.50 USD"  # a currency with nothing is left out
    assert fmt.amounts({"EUR": 0, "USD": 0}) == "0"
    assert fmt.amounts({"EUR": None, "USD": 1}) == "–"


def test_a_comparison_shows_each_currency_s_money_and_its_paired_difference():
    from sim.config.kpis import KPIS
    from sim.reports.tables import comparison_rows
    from sim.runners.compare import paired_by_currency
    from sim.runners.replicate import Replicated

    def run(seed: int, eur: int, usd: int) -> dict:
        return {"seed": seed, "verdict": "pass", "kpis": {"captured_twice_minor": eur + usd},
                "kpis_by_currency": {"captured_twice_minor": {"EUR": eur, "USD": usd}}}

    results = {"keyless": Replicated([run(1, 1_000, 200), run(2, 1_200, 300), run(3, 1_100, 250)]),
               "keyed": Replicated([run(1, 0, 0), run(2, 0, 0), run(3, 0, 0)])}
    diffs = paired_by_currency(results, "keyless")
    assert diffs["keyed"]["captured_twice_minor"]["EUR"]["mean"] == -1_100.0
    assert diffs["keyed"]["captured_twice_minor"]["USD"]["mean"] == -250.0
    stat = {"mean": 1.0, "half_width": 0.0, "low": 1.0, "high": 1.0, "n": 3}
    comp = {"config": {"workload": {"currencies": ["EUR", "USD"]}}, "variants": ["keyless", "keyed"], "baseline": "keyless",
            "ranking": {k.key: [{"variant": "keyed", "rank": 1, "mean": 0.0}] if k.key == "captured_twice_minor" else []
                        for k in KPIS},
            "stats": {v: {"captured_twice_minor": stat} for v in results},
            "paired_differences": {v: {"captured_twice_minor": stat} for v in results},
            "stats_by_currency": {v: rep.stats_by_currency() for v, rep in results.items()},
            "paired_differences_by_currency": diffs}
    [row] = comparison_rows(comp)
    assert row["label"] == "money taken twice"
    keyless, keyed = row["cells"]
    assert keyless["text"].startswith("11.00 EUR ± ") and "; 2.50 USD ± " in keyless["text"]
    assert keyed["text"] == "0"  # nothing in any currency
    assert keyed["diff"].startswith("-11.00 EUR ± ") and "; -2.50 USD ± " in keyed["diff"] and keyed["significant"]


def test_compare_on_the_command_line_reports_money_per_currency(tmp_path):
    import json

    from helpers import write_scenario

    from sim.cli import main

    path = write_scenario(tmp_path, "async-kafka.yaml", duration="1m", drain="1m", seed=3,
                          workload={"rate": "8/s", "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"]},
                          overrides={"chargebacks.probability": 0.3, "chargebacks.delay": "5s"},
                          variants={"none": {"executor.retry": {"strategy": "none"}},
                                    "fixed": {"executor.retry": {"strategy": "fixed", "max_attempts": 4, "base": "1s"}}})
    out = tmp_path / "cmp"
    assert main(["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(out)]) == 0
    comp = json.loads((out / "results.json").read_text())
    losses = comp["stats_by_currency"]["fixed"]["chargeback_losses_minor"]
    assert set(losses) == {"EUR", "USD"} and all(stat["mean"] > 0 for stat in losses.values())
    assert sum(stat["mean"] for stat in losses.values()) == pytest.approx(comp["stats"]["fixed"]["chargeback_losses_minor"]["mean"])
    [row] = [line for line in (out / "summary.md").read_text().splitlines() if line.startswith("| chargeback losses")]
    assert "EUR ±" in row and "USD ±" in row and "minor units" not in row
