"""The report's money block: what happened to the money of a run, in human units ("1,234.50 EUR").

Amounts summed over several currencies cannot be one currency's amount: with more than one
currency in the workload each amount reads in every currency (``summary.money_by_currency``:
"11,704.95 EUR + 7,090.10 USD"). Results written before that split existed show their sums in minor
units, with a first row naming the currencies summed."""

from __future__ import annotations

from sim import format as fmt
from sim.components.money_back_matching import MONEY_BACK_BREAKS, bucket_of
from sim.components.reconciliation import BUCKETS


def money_rows(data: dict) -> list[dict]:
    """Rows (label, value) for the run's money: held twice and captured twice, refunds,
    chargebacks, payouts and the seller's wait, reconciliation breaks by bucket and amount, FX,
    late bookings."""
    summary = data["summary"]
    codes = data["config"]["scenario"]["workload"]["currencies"]
    currency = fmt.workload_currency(data["config"]["scenario"])
    split = summary.get("money_by_currency")

    def amount(minor: int | None, parts: dict[str, int] | None = None) -> str:
        """An amount in the run's currency; with several, in each (``parts``: currency code ->
        minor units), or the sum in minor units when the results have no split."""
        if minor is None:
            return "–"
        if currency is not None:
            return fmt.money(minor, currency)
        if parts is not None:
            return fmt.amounts(parts)
        return f"{minor:,}"

    recon = data.get("reconciliation")
    scheduled = (recon or {}).get("scheduled")
    summed = currency is None and (split is None or scheduled and "amounts_minor_by_currency" not in scheduled)
    rows = [("amounts", f"{fmt.MINOR_UNITS}, summed over {', '.join(codes)}")] if summed else []
    rows += [
        ("held twice (a hold released later)", f"{summary['held_twice']:,} cart lines · "
                                               f"{amount(summary['held_twice_minor'], _each(split, 'held_twice_minor'))}"),
        ("captured twice (money taken twice)", f"{summary['double_charges']:,} cart lines · "
                                               f"{amount(summary['double_charged_minor'], _each(split, 'double_charged_minor'))}"),
    ]
    refunds = summary.get("refunds")
    if refunds and refunds["requested"]:
        waiting = refunds["requested"] - refunds["refunded"] - refunds["failed"] - refunds["gave_up"]
        rows.append(("refunds", f"{refunds['requested']:,} requested ({refunds['partial']:,} of them partial): "
                                f"{refunds['refunded']:,} refunded, {refunds['failed']:,} declined, "
                                f"{refunds['gave_up']:,} given up, {waiting:,} still waiting at the end · "
                                f"{amount(refunds['refunded_minor'], _each(split, 'refunded_minor'))} booked, "
                                f"{amount(refunds['paid_back_minor'], _each(split, 'paid_back_minor'))} paid back"))
    chargebacks = summary.get("chargebacks")
    if chargebacks and chargebacks["disputed"]:
        rows.append(("chargebacks", f"{chargebacks['disputed']:,} disputed ({100 * chargebacks['rate']:.2f} % of captures), "
                                    f"{chargebacks['lost']:,} lost, {chargebacks['won']:,} won, "
                                    f"{chargebacks['disputed'] - chargebacks['lost'] - chargebacks['won']:,} still open · taken back so far "
                                    f"{amount(chargebacks['losses_minor'], _losses(split))} "
                                    f"(fees {amount(chargebacks['fees_minor'], _each(split, 'chargeback_fees_minor'))})"))
    payouts = summary.get("payouts")
    if payouts:
        delay = fmt.duration(payouts["mean_delay_s"]) if payouts["mean_delay_s"] is not None else "–"
        rows.append(("payouts", f"{payouts['paid']:,} paid of {payouts['requested']:,} ({payouts['returned']:,} returned, "
                                f"{payouts['open']:,} open) · {amount(payouts['paid_out_minor'], _each(split, 'paid_out_minor'))} · "
                                f"{delay} mean from request to confirmed transfer"))
        waited = payouts.get("seller_wait_mean_s")
        rows.append(("seller's wait (capture to money in the bank)",
                     "–" if waited is None else f"{fmt.duration(waited)} mean, {fmt.duration(payouts['seller_wait_p95_s'])} "
                     f"p95 · {amount(payouts['seller_unpaid_minor'], _each(split, 'seller_unpaid_minor'))} still owed at the end"))
    late_clearing = next((o["count"] for o in data["oracles"] if o["oracle"] == "clearing_closed"), 0)
    if payouts:
        rows.append(("clearing balances open past their deadline", f"{late_clearing:,}"))
    if recon:
        at_end = _each(split, "reconciliation_minor")
        amounts = recon.get("amounts_minor", {})
        rows.append(("reconciliation breaks (end of run)", " · ".join(
            f"{name.replace('_', ' ')} {recon['buckets'][name]:,} ({amount(amounts.get(name, 0), _each(at_end, name))})"
            for name in BUCKETS)))
        if scheduled:
            rows.append((f"reconciliation during the run ({scheduled['runs']} runs)",
                         f"{scheduled['matched']:,} matched, {scheduled['timing_differences']:,} timing differences · "
                         + " · ".join(f"{name.replace('_', ' ')} {scheduled['buckets'][name]:,} ("
                                      f"{amount(scheduled['amounts_minor'][name], _each(scheduled.get('amounts_minor_by_currency'), name))})"
                                      for name in BUCKETS)))
        auto_fix = data["config"]["model"]["reconciliation"]["auto_fix"]
        for when, found in (("end of run", recon), ("during the run", scheduled)):
            money_back = _money_back(found.get("kinds", {}) if found else {}, auto_fix)
            if money_back:
                rows.append((f"refund and chargeback breaks ({when})", money_back))
    fx = summary.get("fx")
    if fx:
        code = fx["settlement_currency"]
        netted = " + ".join(fmt.money(-fx[key], code) for key in ("netted_refunds_minor", "netted_chargebacks_minor"))
        rows.append(("FX", f"{fx['converted_payments']:,} payments converted, {fx['settled_captures']:,} captures settled "
                           f"({fmt.money(fx['settled_minor'], code)} net of refunds and chargebacks {netted} and fees "
                           f"{fmt.money(fx['netted_fees_minor'], code)}) · FX result {fmt.money(fx['fx_result_minor'], code)}"))
    rows.append(("late ledger bookings", f"{summary.get('late_ledger_bookings', 0):,}"))
    return [{"label": label, "value": value} for label, value in rows]


def _each(per_currency: dict[str, dict] | None, name: str) -> dict | None:
    """``name`` of each currency's entry (currency code -> that), or None when the results have
    no split by currency."""
    return None if per_currency is None else {code: entry[name] for code, entry in per_currency.items()}


def _losses(split: dict[str, dict] | None) -> dict[str, int] | None:
    """Each currency's chargeback losses: the amounts not won back and the PSP's fees."""
    if split is None:
        return None
    return {code: money["charged_back_minor"] + money["chargeback_fees_minor"] for code, money in split.items()}


def _money_back(kinds: dict[str, int], auto_fix: bool) -> str:
    """The refund and chargeback breaks among ``kinds`` (kind -> count), each with its bucket
    ("chargeback not booked 2, auto fixed"); empty when there are none."""
    return " · ".join(f"{kind.replace('_', ' ')} {count:,}, {bucket_of(kind, auto_fix).replace('_', ' ')}"
                      for kind, count in kinds.items() if kind in MONEY_BACK_BREAKS)
