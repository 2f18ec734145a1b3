"""Reconciliation during the run, on a schedule (nightly by default).

Each run takes the settlement rows of the PSP days closed since the last run (by the PSP's
dating: a clock skew moves a capture across the cut-off) and our side's payments of the same days
(SUCCESS orders our clock finished before the close; with delayed captures, those our capture
service captured), and matches them by order id and amount:

- one row, our payment, the amount the ledger booked: matched;
- a row whose order is not on our side yet (not final, or finished after the close), or our
  payment with no row yet: a **timing difference**, carried to the next run, where its counterpart
  normally clears it; our payment still without a row one run later is a real break;
- real breaks, in the three buckets, with their amounts: more than one capture (auto-fixed: the
  extra captures refunded through our refund API under ids derived from the order, so a re-run
  asks for the same refunds), a booking missing from the ledger or the wallet (auto-fixed:
  posted), an amount that differs from the booking (by hand), a capture of a failed order (by
  hand), our payment the PSP never settled (unknown); with FX, a settled capture the ledger carries
  at another value than the PSP paid (auto-fixed: the difference booked to FX gains/losses).

The refund and chargeback lines of the same days are matched per order against the ledger's
refunds and chargebacks by amount (:mod:`sim.components.money_back_matching`): a difference is
carried one run as a timing difference (a refund booked after the close, a dispute notice on its
way), and is a break in its bucket if it is still there a run later.

The end-of-run reconciliation (:mod:`sim.components.reconciliation`) still runs over everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generator

import numpy as np

from sim.components.capture import CAPTURED, GAVE_UP, REFUSED, STATUS_NAMES
from sim.components.money_back_matching import (
    MATCHED, TIMING, MoneyBack, match_chargebacks, match_refunds, refunds_by_order,
)
from sim.components.psp import DAY_S
from sim.components.reconciliation import AUTO, HAND, UNKNOWN, Break, ReconciliationReport
from sim.domain.orders import OrderState

if TYPE_CHECKING:
    import simpy

    from sim.components.capture import Capturer
    from sim.components.chargebacks import Chargebacks
    from sim.components.ledger import Ledger
    from sim.components.psp import Psp
    from sim.components.refunds import Refunds
    from sim.components.settlement import Settlements
    from sim.components.wallet import Wallet
    from sim.config.model import ReconciliationConfig
    from sim.domain.orders import Orders
    from sim.observe.metrics import Metrics

_SUCCESS = int(OrderState.SUCCESS)
REFUND_ID_STRIDE = 256
"""Refund id of an order's n-th extra capture: ``-(order id) * 256 - n`` (as the refund sweep's)."""


def extra_capture_refund_id(order_id: int, extra: int) -> int:
    return -order_id * REFUND_ID_STRIDE - extra


@dataclass
class NightlyRun:
    """What one scheduled run found."""

    at_s: float
    closed_day: int
    matched: int = 0
    timing: int = 0
    """Differences carried to the next run (they settle later)."""
    breaks: list[Break] = field(default_factory=list)


class NightlyReconciliation:
    """Runs every ``every_s`` from ``first_run_s``; ``runs`` and :meth:`report` say what it found."""

    def __init__(
        self, env: "simpy.Environment", cfg: "ReconciliationConfig", psps: "list[Psp]", orders: "Orders",
        ledger: "Ledger", wallet: "Wallet", refunds: "Refunds | None", capture: "Capturer | None",
        settlements: "Settlements | None", metrics: "Metrics", chargebacks: "Chargebacks | None" = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.psps = psps
        self.orders = orders
        self.ledger = ledger
        self.wallet = wallet
        self.refunds = refunds
        self.capture = capture
        self.settlements = settlements
        self.chargebacks = chargebacks
        """Disputes (their notices in flight are timing differences)."""
        self._counters = metrics.counters
        self.runs: list[NightlyRun] = []
        self._rows_seen = {psp.slots.name: (0, 0, np.zeros(0, dtype=np.uint8)) for psp in psps}
        """Per PSP: (rows before this index all seen, how many rows from it on are tracked, which
        of them are seen: one bit a row, ``np.packbits`` little-endian)."""
        self._rows_of = bytearray()
        """Per order: settlement rows seen so far (saturating at 255)."""
        self._done = bytearray()
        """Per order, one bit (order ``o``: bit ``o % 8`` of byte ``o // 8``): reconciled (matched or
        broken); later rows of it are extra captures."""
        self._waiting_rows: dict[int, int] = {}
        """Order -> amount of its rows seen while our side did not have it yet (timing)."""
        self._waiting_ours: dict[int, int] = {}
        """Order -> the run that first found our payment without a row (timing, then a break)."""
        self._lines_seen = {psp.slots.name: [0, set()] for psp in psps}
        """Per PSP: [refund and chargeback lines before this index all seen, those after seen already]."""
        self._given_back = MoneyBack()
        """Per order: what the refund and chargeback lines of closed days gave back."""
        ledger.track_money_back()  # the orders whose ledger refunds or chargebacks change between runs
        self._booked_before: dict[str, np.ndarray] = {"refund": np.zeros(0, np.int64), "chargeback": np.zeros(0, np.int64)}
        """Per kind: orders whose ledger total changed between the last two runs (candidates now; an
        int64 column, a tenth of a set's bytes)."""
        self._acknowledged: dict[str, dict[int, int]] = {"refund": {}, "chargeback": {}}
        """Per kind, per order: a difference reported already (not reported again)."""
        self._money_waiting: dict[tuple[str, int], int] = {}
        """(kind, order) -> the run that first found its difference (timing, then a break)."""

    def start(self) -> None:
        self.env.process(self._run())

    def _run(self) -> Generator["simpy.Event", None, None]:
        env, cfg = self.env, self.cfg
        if cfg.first_run_s > env.now:
            yield env.timeout(cfg.first_run_s - env.now)
        while True:
            self.reconcile_now()
            yield env.timeout(cfg.every_s)

    def report(self) -> ReconciliationReport:
        """Every run's findings together (timing: what the last run carried forward)."""
        total = ReconciliationReport()
        for run in self.runs:
            total.matched += run.matched
            total.breaks.extend(run.breaks)
        total.timing = self.runs[-1].timing if self.runs else 0
        return total

    def reconcile_now(self) -> NightlyRun:
        now, orders = self.env.now, self.orders
        primary = self.psps[0]
        closed_day = math.floor((now - primary.cfg.settlement_cutoff_s) / DAY_S) - 1
        run = NightlyRun(now, closed_day)
        self._grow(len(orders))
        new_rows = self._new_rows(now)
        close_s = primary.cfg.settlement_cutoff_s + (closed_day + 1) * DAY_S
        ours = self._our_payments(close_s)
        for order_id, amount in new_rows.items():
            if order_id in self._waiting_rows:
                self._waiting_rows[order_id] += amount
            else:
                self._waiting_rows[order_id] = amount
        candidates = sorted(set(self._waiting_rows) | set(ours) | set(self._waiting_ours))
        ours_set = set(ours)
        index = len(self.runs)
        for order_id in candidates:
            self._match(order_id, order_id in ours_set or order_id in self._waiting_ours, index, run)
        self._match_money_back(now, index, run)
        run.timing = len(self._waiting_rows) + len(self._waiting_ours) + len(self._money_waiting)
        if self.settlements is not None and self.cfg.auto_fix:
            self._book_fx_differences(run)
        self.runs.append(run)
        self._counters["reconciliation.scheduled_runs"] += 1
        return run

    def _grow(self, count: int) -> None:
        if len(self._rows_of) < count:
            self._rows_of.extend(bytes(count - len(self._rows_of)))
        if len(self._done) < (count + 7) >> 3:
            self._done.extend(bytes(((count + 7) >> 3) - len(self._done)))

    def _is_done(self, order_id: int) -> bool:
        return bool(self._done[order_id >> 3] >> (order_id & 7) & 1)

    def _new_rows(self, now: float) -> dict[int, int]:
        """Order -> amount of the rows of PSP days closed by now, not seen before."""
        found: dict[int, int] = {}
        for psp in self.psps:
            days = psp.settlement_column("day")
            name = psp.slots.name
            first, tracked, packed = self._rows_seen[name]
            seen = np.zeros(tracked, dtype=bool)
            if tracked:  # (unpackbits of an empty buffer with a count reads garbage)
                seen[:] = np.unpackbits(packed, count=tracked, bitorder="little")
            if first + len(seen) < len(days):
                seen = np.concatenate([seen, np.zeros(len(days) - first - len(seen), dtype=bool)])
            closed = math.floor((now - psp.cfg.settlement_cutoff_s) / DAY_S) - 1
            due = np.nonzero(~seen & (days[first:] <= closed))[0]
            seen[due] = True
            due += first
            done = int(np.argmin(seen)) if not seen.all() else len(seen)  # the seen prefix is dropped
            self._rows_seen[name] = (first + done, len(seen) - done, np.packbits(seen[done:], bitorder="little"))
            order_ids = psp.settlement_column("order_id")[due].tolist()
            amounts = psp.settlement_column("amount_minor")[due].tolist()
            for order_id, amount in zip(order_ids, amounts):
                found[order_id] = found.get(order_id, 0) + amount
                if 0 <= order_id < len(self._rows_of) and self._rows_of[order_id] < 255:
                    self._rows_of[order_id] += 1
        return found

    def _our_payments(self, close_s: float) -> list[int]:
        """SUCCESS orders finished before ``close_s`` not reconciled yet (delayed captures: captured)."""
        orders = self.orders
        count = len(orders)
        state = np.frombuffer(bytes(orders.state), dtype=np.uint8)[:count]
        finished = orders.finished_at_column()[:count]
        done = np.zeros(count, dtype=np.uint8)
        have = min(count, 8 * len(self._done))
        if have:  # (unpackbits of an empty buffer with a count reads garbage)
            done[:have] = np.unpackbits(np.frombuffer(self._done, dtype=np.uint8), count=have, bitorder="little")
        mask = (state == _SUCCESS) & (finished >= 0) & (finished < close_s) & (done == 0)
        candidates = np.nonzero(mask)[0].tolist()
        if self.capture is None:
            return candidates
        return [o for o in candidates if self.capture.status_of(o) in (CAPTURED, REFUSED, GAVE_UP)]

    def _match(self, order_id: int, on_our_side: bool, index: int, run: NightlyRun) -> None:
        orders, ledger, auto_fix = self.orders, self.ledger, self.cfg.auto_fix
        if not 0 <= order_id < len(orders):
            self._waiting_rows.pop(order_id, None)
            run.breaks.append(Break("capture_without_order", UNKNOWN, order_id, "the PSP charged an order we do not have"))
            return
        amount = orders.amount_minor[order_id]
        settled = self._waiting_rows.get(order_id)
        rows = self._rows_of[order_id]
        if self._is_done(order_id):  # reconciled already: a row now is one more capture
            self._waiting_rows.pop(order_id, None)
            self._extra_captures(order_id, rows, amount, run)
            return
        if rows > 1:
            self._finish(order_id)
            self._extra_captures(order_id, rows, amount, run)
            self._book(order_id, run)
            return
        state = orders.state[order_id]
        if settled is not None and state == OrderState.FAILED:
            self._finish(order_id)
            run.breaks.append(Break("charged_but_failed", HAND, order_id, "refund the buyer or fulfil the order", settled))
            return
        if settled is not None and not on_our_side:  # a timing difference: our side has not got it yet
            return
        if settled is None:
            status = self.capture.status_of(order_id) if self.capture is not None else None
            if status in (REFUSED, GAVE_UP):
                self._finish(order_id)
                run.breaks.append(Break("capture_failed", HAND, order_id,
                                        f"capture {STATUS_NAMES[status]}: the goods left, the money was not taken", amount))
                return
            first = self._waiting_ours.setdefault(order_id, index)
            if first < index:  # a whole run later, still nothing from the PSP
                self._finish(order_id)
                run.breaks.append(Break("success_without_capture", UNKNOWN, order_id,
                                        "we say paid, the PSP settled nothing", amount))
            return
        self._finish(order_id)
        # what we meant to capture: the order's amount, or with delayed captures the capture service's
        # (a partial capture takes part; the ledger reverses the rest)
        expected = amount if self.capture is None else self.capture.amount_minor.get(order_id, amount)
        if settled != expected:
            run.breaks.append(Break("amount_differs", HAND, order_id,
                                    f"the PSP settled {settled}, we booked {expected}", abs(settled - expected)))
            return
        if self._book(order_id, run):
            return
        run.matched += 1

    def _match_money_back(self, now: float, index: int, run: NightlyRun) -> None:
        """Match the refund and chargeback lines of the days closed since the last run, and the
        orders whose ledger refunds or chargebacks changed before the last run (their day is closed
        by now), against the ledger."""
        candidates: dict[str, set[int]] = {"refund": set(), "chargeback": set()}
        for psp in self.psps:
            closed = math.floor((now - psp.cfg.settlement_cutoff_s) / DAY_S) - 1
            seen = self._lines_seen[psp.slots.name]
            lines = psp.settlement.adjustments
            for at in range(seen[0], len(lines)):
                line = lines[at]
                if at in seen[1] or line.day > closed:
                    continue
                seen[1].add(at)
                self._given_back.add(line)
                candidates["refund" if line.type == "refund" else "chargeback"].add(line.order_id)
            while seen[0] in seen[1]:
                seen[1].discard(seen[0])
                seen[0] += 1
        ledger = self.ledger
        for kind in ("refund", "chargeback"):
            changed = ledger.take_money_back_touched(kind)  # total differs from the last run's
            # booked before the last run: its day is closed now (booked since: the next run's business)
            candidates[kind].update(self._booked_before[kind].tolist())
            self._booked_before[kind] = np.array(sorted(changed), dtype=np.int64)
            candidates[kind].update(order for waiting_kind, order in self._money_waiting if waiting_kind == kind)
        ours = refunds_by_order(self.refunds) if candidates["refund"] else {}
        for kind in ("refund", "chargeback"):
            for order_id in sorted(candidates[kind]):
                found = self._money_back(kind, order_id, ours, apply=False)
                if found == MATCHED:
                    self._money_waiting.pop((kind, order_id), None)
                    continue
                first = self._money_waiting.setdefault((kind, order_id), index)
                if found == TIMING or first == index:  # carried: its counterpart normally comes by the next run
                    continue
                del self._money_waiting[(kind, order_id)]
                run.breaks.extend(self._money_back(kind, order_id, ours, apply=True))
                at_psp, booked = ((self._given_back.refunded, ledger.refunded_minor_of) if kind == "refund"
                                  else (self._given_back.charged_back, ledger.charged_back_minor_of))
                left = at_psp.get(order_id, 0) - booked.get(order_id, 0)
                if kind == "chargeback" and self.chargebacks is not None:  # a notice on its way will book its part
                    left -= self.chargebacks.unnoticed_of.get(order_id, 0)
                self._acknowledged[kind][order_id] = left

    def _money_back(self, kind: str, order_id: int, ours: dict, apply: bool) -> "str | list[Break]":
        """One order's refunds or chargebacks matched (``apply``: fixing what auto-fix fixes)."""
        offset, given_back = self._acknowledged[kind].get(order_id, 0), self._given_back
        if kind == "refund":
            return match_refunds(order_id, given_back.refunded.get(order_id, 0), given_back.refund_keys_of(order_id),
                                 ours.get(order_id, []), self.ledger, self.wallet, self.refunds, self.cfg.auto_fix,
                                 offset, apply)
        return match_chargebacks(order_id, given_back.charged_back.get(order_id, 0), self.ledger, self.chargebacks, offset,
                                 given_back.dispute_fees.get(order_id, 0), self.wallet, self.cfg.auto_fix, apply)

    def _finish(self, order_id: int) -> None:
        self._done[order_id >> 3] |= 1 << (order_id & 7)
        self._waiting_rows.pop(order_id, None)
        self._waiting_ours.pop(order_id, None)

    def _book(self, order_id: int, run: NightlyRun) -> bool:
        """Post what the ledger or the wallet is missing for a settled payment; True if a break."""
        orders, ledger, wallet = self.orders, self.ledger, self.wallet
        if orders.state[order_id] != OrderState.SUCCESS:
            return False
        amount = orders.amount_minor[order_id]
        broke = False
        if ledger.times_recorded(order_id) == 0:
            run.breaks.append(Break("missing_ledger_entry", AUTO if self.cfg.auto_fix else HAND, order_id,
                                    "ledger transaction posted", amount))
            if self.cfg.auto_fix:
                ledger.post_transaction(order_id)
            broke = True
        if wallet.times_applied(order_id) == 0:
            run.breaks.append(Break("missing_wallet_credit", AUTO if self.cfg.auto_fix else HAND, order_id,
                                    "seller credited", amount))
            if self.cfg.auto_fix:
                wallet.apply_credit(order_id)
            broke = True
        return broke

    def _extra_captures(self, order_id: int, rows: int, amount: int, run: NightlyRun) -> None:
        """Captures beyond the first: refund each through our refund API (auto-fix), once."""
        refunds = self.refunds
        if refunds is None or not self.cfg.auto_fix:
            run.breaks.append(Break("captured_more_than_once", HAND, order_id, f"{rows} captures: refund {rows - 1}",
                                    (rows - 1) * amount))
            return
        asked = 0
        for extra in range(1, rows):
            refund_id = extra_capture_refund_id(order_id, extra)
            if refund_id not in refunds.requests:
                refunds.request(order_id, amount, refund_id=refund_id)
                asked += 1
        if asked:
            self._counters["reconciliation.extra_captures_refunded"] += asked
            run.breaks.append(Break("captured_more_than_once", AUTO, order_id, f"{rows} captures: {asked} refunded",
                                    asked * amount))

    def _book_fx_differences(self, run: NightlyRun) -> None:
        """Settled converted captures the ledger carries at another value than the PSP paid: book
        the difference to FX gains/losses (a compensating entry)."""
        for order_id, difference in self.settlements.take_unbooked():
            self.ledger.book_fx_difference(difference)
            run.breaks.append(Break("fx_difference_not_booked", AUTO, order_id,
                                    f"settled {difference:+d} from the ledger's value: booked to FX gains/losses",
                                    abs(difference)))


def refunded_extra(refunds: "Refunds | None"):
    """For the end-of-run reconciliation: whether every extra capture of an order was refunded
    through the refund API (by a scheduled run or the refund sweep)."""
    if refunds is None:
        return None

    def check(order_id: int, times: int) -> bool:
        return all(extra_capture_refund_id(order_id, extra) in refunds.requests for extra in range(1, times))

    return check
