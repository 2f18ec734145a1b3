"""The double-entry ledger, fed at-least-once by the payment-success topic.

Each successful order is one transaction whose entries sum to zero: the PSP owes the platform
(debit ``psp_receivable``), the platform owes the seller (credit ``seller_payable``) its share;
with fees, the platform's commission (credit ``platform_revenue``) and the PSP's fee (debit
``psp_fees``, credit ``psp_receivable``). Refunds, chargebacks (and their fees), the parts of
authorisations never captured and payouts are transactions of their own.
Balances are kept per account and currency; entries are counted, not stored (append-only in
spirit, constant memory). Dedupe is by event id (the order id).

With FX (``fx`` set), what the PSP holds for us is in the settlement currency: every receivable
entry of a payment in another currency goes through the FX conversion account at the rate of the
moment (presentment in, settlement out), and when the PSP settles a line (a capture net of its fee,
a refund, a chargeback with its fee) the difference between that conversion and what it paid is
booked to FX gains/losses.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Final, Generator, SupportsIndex

import simpy

from sim.components.stations import DelayStation
from sim.kernel.scheduling import Waitable, clock, sleep
from sim.components.dlq import DeadLetterQueue, consume_order_ids
from sim.components.psp import DAY_S
from sim.components.fees import Fees
from sim.components.fx import FxRates, convert_minor
from sim.components.fx_money_back import FxMoneyBack
from sim.domain.intmap import IntMap
from sim.components.psp_settlement import CHARGEBACK, REFUND
from sim.config.distributions import make_sampler
from sim.config.model import LedgerConfig
from sim.domain.orders import BOTH_UPDATED, LEDGER_UPDATED, Checkouts, Orders
from sim.observe.metrics import Metrics
from sim.rng import Streams

PSP_RECEIVABLE: Final = -1
"""Account id of the PSP receivable (what the PSP holds for us); seller payables use the seller id."""
CHARGEBACK_FEES: Final = -4
"""Account id of the dispute fees the PSP charged us (an expense)."""
PLATFORM_REVENUE: Final = -2
"""Account id of the platform's commission (revenue)."""
PSP_FEES: Final = -3
"""Account id of the PSP's fees per capture (an expense)."""
PAYOUT_CLEARING: Final = -5
"""Account id of payouts requested and not yet known paid or returned (must close by a deadline)."""
FX_CONVERSION: Final = -6
"""Account id of currency conversion (one per currency): a converted amount enters it in the
presentment currency and leaves it in the settlement currency, so each currency balances."""
FX_GAINS_LOSSES: Final = -7
"""Account id of FX gains (credits) and losses (debits), in the settlement currency."""
PSP_CLEARING: Final = -8
"""Account id of captures booked and not yet paid by the PSP's settlement (``ledger.psp_clearing_deadline``
set): each capture's entry must be closed by its settlement within a deadline."""

ACCOUNT_BASE: Final = 8
"""Added to an account id to find its cell in a currency's row of balances (the lowest id is -8)."""
CURRENCY_ROWS: Final = 256
"""Currencies the ledger keeps balances for (ids 0-255, as the orders table stores them)."""
ROW_GROWTH: Final = 64
"""Cells a row of balances grows by beyond the account that needs it."""
UNPOSTED: Final = -(1 << 62)
"""A cell of an account no entry was posted to (in no balance's reach: 4.6e18 minor units)."""
_RECEIVABLE_CELL: Final = PSP_RECEIVABLE + ACCOUNT_BASE
_REVENUE_CELL: Final = PLATFORM_REVENUE + ACCOUNT_BASE
_FEES_CELL: Final = PSP_FEES + ACCOUNT_BASE

EFFECTS_GROWTH: Final = 1024
"""Slots the per-order effect counts (ledger ``recorded``, wallet ``applied``) grow by beyond the
order that needs them: events come in about order id order, so not a bytes object and an extend
per event. Slots past the last order count 0, as absent ones do."""


class Ledger:
    def __init__(
        self, env: simpy.Environment, cfg: LedgerConfig, orders: Orders, checkouts: Checkouts,
        streams: Streams, metrics: Metrics, dlq: DeadLetterQueue, *, fees: "Fees | None" = None,
        fx: "FxRates | None" = None, fx_revalue: bool = True,
        psp_clearing: "tuple[int, float] | None" = None, clearing_at_capture: bool = False,
    ) -> None:
        """``fees``: None or all zero: each payment is the two entries receivable / seller payable.
        ``fx``: the FX rate series when payments settle in one currency (``fx_revalue`` False is
        the FLAW of not booking the settlement difference). ``psp_clearing``: (settlement days,
        daily cut-off in s) to book captures in PSP clearing until settled; None: straight to the
        PSP receivable. ``clearing_at_capture`` (delayed captures): the payment is booked to the
        receivable at authorisation and each capture (:meth:`open_clearing`) moves what it took to
        PSP clearing; False: the payment's booking opens the clearing entry."""
        self.env = env
        self.cfg = cfg
        self._dedupe = cfg.dedupe
        self._atomic = cfg.atomic_entries
        """``cfg.dedupe`` and ``cfg.atomic_entries``, read per payment: fields, not a pydantic lookup."""
        self.orders = orders
        self.checkouts = checkouts
        self.metrics = metrics
        self.dlq = dlq
        self.handle = consume_order_ids(self.record, dlq, cfg.poison_pills, "ledger", env, metrics.counters)
        """The Kafka handler of the payment-success topic."""
        draw = make_sampler(cfg.latency, streams.stream("ledger.latency"))
        self.db = DelayStation(env, "ledger_db", cfg.connections, cfg.queue)
        """The service's database connection pool: each call queues for a connection."""
        self._draw_s = draw
        """A call's time: ``db.delay_s(_draw_s())`` (compiled, the station's a direct C call)."""
        self._balances: dict[tuple[int, int], int] = {}
        """What :attr:`balances` answers: brought up to date from ``_cells`` when read."""
        self._cells: list[list[int]] = [[] for _ in range(CURRENCY_ROWS)]
        """Per currency, per account + ``ACCOUNT_BASE``: the sum of its entries, ``UNPOSTED`` until
        the first (a list read per entry, where a dictionary keyed by (account, currency) built,
        hashed and looked up a tuple)."""
        self._posted: list[tuple[int, int]] = []
        """(account, currency) of every balance, in the order of its first entry (the keys of
        :attr:`balances`, in their order)."""
        self.recorded = bytearray()
        """Transactions recorded per order id (more than one = a duplicate effect)."""
        self.transactions = 0
        self.entries = 0
        self.reversed_minor: dict[str, int] = {}
        """Amounts taken back by compensating transactions, by why (refund, uncaptured)."""
        self.paid_out_minor: dict[int, int] = {}
        """Per currency, payouts the ledger booked as paid (the money left the platform)."""
        self.fees = fees if fees is not None and fees.on else None
        """The PSP's fee and the platform's commission (None: no fee entries)."""
        self.on_booked: Callable[[int, int], None] | None = None
        """Called with (order id, amount) when a payment's transaction is first posted (captures at
        authorisation: the refund service decides then whether it will be refunded; see :meth:`connect`)."""
        self.unbalanced: list[tuple[int, float]] = []
        """(order, time) of transactions whose entries do not sum to zero."""
        self.fx = fx
        """The FX rate series when payments settle in one currency; None: no FX."""
        self.fx_revalue = fx_revalue
        """Book the settlement difference of a converted capture (False: the FLAW of not doing so)."""
        self.fx_booked: dict[int, list] = {}
        """Per converted order: [rate the ledger booked it at, presentment amount not yet settled]."""
        self.fx_money_back = FxMoneyBack()
        """The rates the refunds and chargebacks of converted orders were booked at, until settled."""
        self.fx_carried_minor = 0
        """What the ledger carries for the converted lines the PSP settled (captures net of their
        fees, refunds, chargebacks; settlement currency): its conversion at booking plus the
        differences it booked."""
        self.fx_result_minor = 0
        """FX gains less losses booked (settlement minor units)."""
        self.refunded_minor_of = IntMap()
        """Per refunded order: refunds booked (presentment minor units; completeness reads it)."""
        self.charged_back_minor_of = IntMap()
        """Per disputed order: chargebacks booked, less disputes won back."""
        self.chargeback_fees_of = IntMap()
        """Per disputed order: the dispute fees booked (reconciliation books a missing one)."""
        self.money_back_touched: dict[str, dict[int, int | None]] | None = None
        """Per kind (``refund``, ``chargeback``): the orders whose total above changed since a reader
        last took them (:meth:`take_money_back_touched`), each with its total before that (None:
        none); None until a reader asks (:meth:`track_money_back`), so nobody keeps every order."""
        self.clearing_open: dict[int, list] | None = None if psp_clearing is None else {}
        """With PSP clearing: per booked capture not yet settled, [presentment amount still open,
        when its clearing entry is due closed]; None: captures go straight to the PSP receivable."""
        self.clearing_at_capture = clearing_at_capture and psp_clearing is not None
        """Captures, not bookings, open the clearing entries (delayed captures)."""
        self.capture_account = PSP_CLEARING if psp_clearing is not None and not self.clearing_at_capture else PSP_RECEIVABLE
        """Where a payment's booking puts its amount: the PSP receivable, or PSP clearing."""
        self._settled_unopened: dict[int, int] = {}
        """Clearing at capture: per order, settled before its capture's answer opened its entry."""
        self.clearing_days, self.clearing_cutoff_s = psp_clearing if psp_clearing is not None else (0, 0.0)
        self.settlement_schedule_of: Callable[[int], tuple[int, float]] | None = None
        """With a secondary PSP: the settlement schedule (days, cut-off) of the PSP that captured an
        order, whose settlement closes its clearing entry; None: the primary's for every order."""
        self.clearing_closed = 0
        """Captures whose clearing entry the settlement closed."""
        self.late_after_s = cfg.on_time_within_s
        self.late_bookings = 0
        """Payments booked more than ``late_after_s`` after the order succeeded (timeliness)."""

    @property
    def balances(self) -> dict[tuple[int, int], int]:
        """(account, currency) -> sum of entries (debits positive, credits negative): every balance
        an entry was posted to, in the order of its first entry. Brought up to date at each read
        (a pass over the balances: read it at the end, or in tests)."""
        balances, cells = self._balances, self._cells
        for key in self._posted:
            account, currency = key
            balances[key] = cells[currency][account + ACCOUNT_BASE]
        return balances

    def balance(self, account: int, currency: int) -> int:
        """The sum of ``account``'s entries in ``currency`` (0 before any)."""
        index = account + ACCOUNT_BASE
        if not 0 <= currency < len(self._cells) or index < 0:
            return 0
        row = self._cells[currency]
        if index >= len(row):
            return 0
        value = row[index]
        return 0 if value == UNPOSTED else value

    def _row(self, account: int, currency: int) -> list[int]:
        """``currency``'s row of balances, long enough for ``account``, whose cell is marked posted
        (0 the first time: it becomes a key of :attr:`balances`)."""
        index = account + ACCOUNT_BASE
        if not 0 <= currency < CURRENCY_ROWS or index < 0:
            raise ValueError(f"ledger: no balance for account {account} in currency {currency}")
        row = self._cells[currency]
        if index >= len(row):
            row.extend([UNPOSTED] * (index + 1 - len(row) + ROW_GROWTH))
        if row[index] == UNPOSTED:
            row[index] = 0
            self._posted.append((account, currency))
        return row

    def _post(self, account: int, currency: int, amount_minor: int) -> None:
        row = self._cells[currency] if 0 <= currency < CURRENCY_ROWS else self._row(account, currency)
        index = account + ACCOUNT_BASE
        if index >= len(row) or index < 0 or row[index] == UNPOSTED:
            row = self._row(account, currency)
        row[index] += amount_minor
        self.entries += 1

    def times_recorded(self, order_id: int) -> int:
        return self.recorded[order_id] if order_id < len(self.recorded) else 0

    def record(self, order_id: int) -> Generator[Waitable, Any, None]:
        """Post the transaction of a successful order (once, when dedupe is on)."""
        yield sleep(self.env, self.db.delay_s(self._draw_s()))
        if self._dedupe and order_id < len(self.recorded) and self.recorded[order_id]:
            self.metrics.counters["ledger.deduplicated"] += 1
            return
        if self._atomic:
            self.post_transaction(order_id)
            return
        orders = self.orders
        # FLAW: two separate writes; a crash in between leaves half a transaction
        self._receivable(orders.currency[order_id], orders.amount_minor[order_id], self.capture_account)
        half = (order_id, clock(self.env))
        self.unbalanced.append(half)
        yield sleep(self.env, self.db.delay_s(self._draw_s()))
        self.unbalanced.remove(half)  # this one: other partitions' halves may have come since
        self.post_transaction(order_id, receivable_posted=True)

    def post_transaction(self, order_id: int, receivable_posted: bool = False) -> None:
        """Both entries of the order's transaction, atomically (only the seller's when the flawed
        two-write path posted the receivable already), and the order's marks: the ledger-updated
        flag, ``is_payment_done`` when the wallet was first. Written out in one function: it runs
        once per payment, and each call it made cost a Python frame."""
        orders = self.orders
        at: SupportsIndex = order_id  # boxed once (see ``sim.domain.orders.Orders.transition``)
        currency, amount = orders.currency[at], orders.amount_minor[at]
        if self.clearing_open is not None or (self.fx is not None and currency != self.fx.settlement):
            self._post_slow(order_id, receivable_posted)
            return
        # ``_post``, inlined (it runs once per payment): the currency's row, each cell checked posted
        # (first posted in the order of ``_post``'s calls: the order of :attr:`balances`)
        row = self._cells[currency]
        if receivable_posted:
            self.entries += 1
        else:  # debit the PSP receivable
            if len(row) <= _RECEIVABLE_CELL or row[_RECEIVABLE_CELL] == UNPOSTED:
                row = self._row(PSP_RECEIVABLE, currency)
            row[_RECEIVABLE_CELL] += amount
            self.entries += 2
        seller = orders.seller[at] + ACCOUNT_BASE
        if seller >= len(row) or row[seller] == UNPOSTED:
            row = self._row(seller - ACCOUNT_BASE, currency)
        fees = self.fees
        if fees is None:  # credit the seller payable (its share)
            row[seller] -= amount
        else:  # ``_post_fees``, inlined
            commission = int(amount * fees.commission_rate)
            row[seller] -= amount - commission
            if commission:
                if row[_REVENUE_CELL] == UNPOSTED:
                    row = self._row(PLATFORM_REVENUE, currency)
                row[_REVENUE_CELL] -= commission
            fee = fees.fixed_minor + int(amount * fees.rate)
            if row[_FEES_CELL] == UNPOSTED:
                row = self._row(PSP_FEES, currency)
            row[_FEES_CELL] += fee
            row[_RECEIVABLE_CELL] -= fee
            self.entries += 3 if commission else 2
        self._booked(order_id, amount)

    def _post_slow(self, order_id: int, receivable_posted: bool) -> None:
        """:meth:`post_transaction` with FX or PSP clearing: the same entries, the receivable ones
        through the FX conversion account at the rate of now (a payment the PSP converts), the
        captured amount to PSP clearing (when on), opening its clearing entry."""
        orders = self.orders
        currency, amount, seller = orders.currency[order_id], orders.amount_minor[order_id], orders.seller[order_id]
        if not receivable_posted:
            self._receivable(currency, amount, self.capture_account)
        if self.fees is None:
            self._post(seller, currency, -amount)
        else:
            self._post_fees(seller, currency, amount)
        now = clock(self.env)
        if self.fx is not None and currency != self.fx.settlement and order_id not in self.fx_booked:
            self.fx_booked[order_id] = [self.fx.rate(currency, now), amount]
        clearing = self.clearing_open
        if clearing is not None and not self.clearing_at_capture and order_id not in clearing:
            clearing[order_id] = [amount, self._clearing_due(order_id, now)]
        self._booked(order_id, amount)

    def _clearing_due(self, order_id: int, now: float) -> float:
        """When a clearing entry opened at ``now`` must be closed: the settlement of its day by the
        PSP that captured it (paid at the start of day + 1 + N after its cut-off), plus the deadline."""
        days, cutoff_s = self.clearing_days, self.clearing_cutoff_s
        schedule_of = self.settlement_schedule_of
        if schedule_of is not None:
            days, cutoff_s = schedule_of(order_id)
        day = math.floor((now - cutoff_s) / DAY_S)
        return cutoff_s + (day + 1 + days) * DAY_S + self.cfg.psp_clearing_deadline_s

    def open_clearing(self, order_id: int, amount_minor: int) -> None:
        """A delayed capture took ``amount_minor`` (clearing at capture): move it from the PSP
        receivable, where the authorisation booked it, to PSP clearing, opening its entry, due by
        its settlement plus the deadline. A settlement that paid it before our capture service
        heard of it closes it at once."""
        clearing = self.clearing_open
        if clearing is None or order_id in clearing:
            return
        currency = self.orders.currency[order_id]
        fx, settlement_currency = self.fx, currency
        carried = amount_minor
        if fx is not None and currency != fx.settlement:
            booked = self.fx_booked.setdefault(order_id, [fx.rate(currency, clock(self.env)), self.orders.amount_minor[order_id]])
            carried, settlement_currency = convert_minor(amount_minor, booked[0]), fx.settlement
        self._post(PSP_RECEIVABLE, settlement_currency, -carried)
        self._post(PSP_CLEARING, settlement_currency, carried)
        self.transactions += 1
        clearing[order_id] = [amount_minor, self._clearing_due(order_id, clock(self.env))]
        early = self._settled_unopened.pop(order_id, None)
        if early is not None:  # closed at its booked value (no FX difference: the settlement booked none)
            part = min(early, amount_minor)
            closed = part if settlement_currency == currency else convert_minor(part, self.fx_booked[order_id][0])
            self._post(PSP_CLEARING, settlement_currency, -closed)
            self._post(PSP_RECEIVABLE, settlement_currency, closed)
            self.transactions += 1
            if part >= amount_minor:
                del clearing[order_id]
                self.clearing_closed += 1
            else:
                clearing[order_id][0] -= part

    def connect(self, on_booked: Callable[[int, int], None]) -> None:
        """Tell ``on_booked`` (the refund service, built after the ledger it books through) of each
        payment's first posting."""
        self.on_booked = on_booked

    def _booked(self, order_id: int, amount: int) -> None:
        """A payment's transaction is in: count it (late or not), tell the listener, flag the order."""
        orders = self.orders
        self.transactions += 1
        if clock(self.env) - orders.finished_at_of(order_id) > self.late_after_s:
            self.late_bookings += 1
        recorded = self.recorded
        if self.on_booked is not None and (order_id >= len(recorded) or not recorded[order_id]):
            self.on_booked(order_id, amount)
        record_effect(recorded, orders, self.checkouts, order_id, LEDGER_UPDATED)

    def _receivable(self, currency: int, amount_minor: int, account: int = PSP_RECEIVABLE) -> None:
        """Change what the PSP holds for us (``account``: the receivable, or PSP clearing for a
        capture not settled yet) by ``amount_minor`` of ``currency``: in that currency, or with FX
        converted into the settlement currency at the rate of now (conversion account debited in the
        presentment currency, credited in the settlement currency)."""
        fx = self.fx
        if fx is None or currency == fx.settlement:
            self._post(account, currency, amount_minor)
            return
        converted = fx.convert(currency, amount_minor, clock(self.env))
        self._post(FX_CONVERSION, currency, amount_minor)
        self._post(FX_CONVERSION, fx.settlement, -converted)
        self._post(account, fx.settlement, converted)

    def post_settlement(self, order_id: int, amount_minor: int, currency: int, rate: float,
                        fee_minor: int = 0) -> tuple[int, int] | None:
        """The PSP paid a capture of ``amount_minor`` (presentment) less its ``fee_minor`` at ``rate``
        (its conversion; 1 in the settlement currency): close its clearing entry (PSP clearing →
        receivable, when on) and, converted, book the FX difference (:meth:`post_fx_settlement`). Returns (what the ledger
        carries for it, what the PSP paid) in settlement minor units, or None for a capture the
        ledger did not book (a duplicate, or not booked yet: reconciliation's business)."""
        clearing = self.clearing_open
        converted = self.fx is not None and currency != self.fx.settlement
        if clearing is None:
            return self.post_fx_settlement(order_id, amount_minor, currency, rate, fee_minor) if converted else None
        item = clearing.get(order_id)
        if item is None:
            if self.clearing_at_capture:  # paid before the capture's answer reached us (or never will)
                self._settled_unopened[order_id] = self._settled_unopened.get(order_id, 0) + amount_minor
            return None
        part = min(amount_minor, item[0])
        item[0] -= part
        if item[0] <= 0:
            del clearing[order_id]
            self.clearing_closed += 1
        account_currency = self.fx.settlement if converted else currency  # type: ignore[union-attr]  # (never None here)
        carried = convert_minor(part, self.fx_booked[order_id][0]) if converted else part
        self._post(PSP_CLEARING, account_currency, -carried)
        self._post(PSP_RECEIVABLE, account_currency, carried)
        self.transactions += 1
        if not converted:
            return carried, carried
        return self.post_fx_settlement(order_id, part, currency, rate, fee_minor)

    def post_fx_settlement(self, order_id: int, amount_minor: int, currency: int, rate: float,
                           fee_minor: int = 0) -> tuple[int, int] | None:
        """The PSP settled a capture of ``amount_minor`` (presentment) of a converted order at
        ``rate``, less its ``fee_minor``: returns (what the ledger carries for it, what the PSP
        paid), net of the fee, in settlement minor units, after booking the difference
        (:meth:`_revalue`). The ledger carries the fee, as the amount, at the rate it booked the
        payment at. None for a capture the ledger did not book (a duplicate, or one not booked yet:
        reconciliation's business)."""
        booked = self.fx_booked.get(order_id)
        if booked is None or booked[1] <= 0:
            return None
        part = min(amount_minor, booked[1])
        booked[1] -= part
        return self._revalue(_net(part, fee_minor, booked[0]), _net(part, fee_minor, rate))

    def post_money_back_settlement(self, kind: str, order_id: int, amount_minor: int, fee_minor: int,
                                   rate: float) -> tuple[int, int] | None:
        """The PSP settled a ``kind`` (refund or chargeback) line of a converted order (``amount_minor``
        signed as the PSP lists it, its ``fee_minor``) at ``rate``: returns (what the ledger carries
        for it, what the PSP paid), after booking the difference against the ledger's own booking of
        the line (:meth:`_revalue`). None when the ledger has not booked it yet: the booking books
        the difference (:meth:`_money_back_booked`)."""
        booked_rate = self.fx_money_back.settled(kind, order_id, amount_minor, fee_minor, rate)
        if booked_rate is None:
            return None
        return self._revalue(_net(amount_minor, fee_minor, booked_rate), _net(amount_minor, fee_minor, rate))

    def _money_back_booked(self, kind: str, order_id: int, amount_minor: int, fee_minor: int) -> None:
        """A refund or chargeback line (``amount_minor`` signed as the PSP lists it) was booked now:
        with FX, keep the rate for its settlement, or, settled already, book the difference now."""
        fx, currency = self.fx, self.orders.currency[order_id]
        if fx is None or currency == fx.settlement:
            return
        rate = fx.rate(currency, clock(self.env))
        paid_rate = self.fx_money_back.booked(kind, order_id, amount_minor, fee_minor, rate)
        if paid_rate is not None and self.fx_revalue:
            difference = _net(amount_minor, fee_minor, paid_rate) - _net(amount_minor, fee_minor, rate)
            if difference:
                self._book_fx(difference)

    def _revalue(self, carried: int, paid: int) -> tuple[int, int]:
        """A settled line the ledger carries at ``carried`` and the PSP paid ``paid`` for (settlement
        minor units): book the difference to FX gains/losses (unless the FLAW
        ``fx.revalue_at_settlement: false``); returns (what the ledger carries now, what was paid)."""
        difference = paid - carried
        if self.fx_revalue and difference:
            self._book_fx(difference)
            carried = paid
        self.fx_carried_minor += carried
        return carried, paid

    def _book_fx(self, difference_minor: int) -> None:
        """The PSP receivable and the FX result move by ``difference_minor`` (settlement currency)."""
        fx = self.fx
        assert fx is not None, "an FX difference without FX"
        settlement = fx.settlement
        self._post(PSP_RECEIVABLE, settlement, difference_minor)
        self._post(FX_GAINS_LOSSES, settlement, -difference_minor)
        self.transactions += 1
        self.fx_result_minor += difference_minor

    def book_fx_difference(self, difference_minor: int) -> None:
        """A compensating entry for a settlement difference the ledger did not book (reconciliation's
        fix): the PSP receivable and the FX result move by it, in the settlement currency."""
        self._book_fx(difference_minor)
        self.fx_carried_minor += difference_minor

    def reverse_duplicates(self, order_id: int) -> int:
        """Compensating entries for every transaction of the order beyond the first."""
        orders = self.orders
        amount, currency, seller = orders.amount_minor[order_id], orders.currency[order_id], orders.seller[order_id]
        extra = self.times_recorded(order_id) - 1
        for _ in range(extra):
            self._receivable(currency, -amount, self.capture_account)
            if self.fees is not None and self.fees.on:
                self._post_fees(seller, currency, -amount)
            else:
                self._post(seller, currency, amount)
            self.transactions += 1
        if extra > 0:
            self.recorded[order_id] = 1
        return max(extra, 0)

    def _post_fees(self, seller: int, currency: int, amount_minor: int) -> None:
        """The credit side of a payment of ``amount_minor`` (negative: its reversal) with fees: the
        seller is owed its share, the platform its commission; the PSP's fee is an expense netted
        from what the PSP holds for us."""
        fees = self.fees
        commission = fees.commission_minor(amount_minor)  # type: ignore[union-attr]  # (never None here)
        self._post(seller, currency, commission - amount_minor)
        if commission:
            self._post(PLATFORM_REVENUE, currency, -commission)
        fee = fees.psp_fee_minor(amount_minor) if amount_minor > 0 else -fees.psp_fee_minor(-amount_minor)  # type: ignore[union-attr]  # (never None here)
        self._post(PSP_FEES, currency, fee)
        self._receivable(currency, -fee)

    def _post_give_back(self, order_id: int, amount_minor: int) -> None:
        """Take ``amount_minor`` of a payment back: out of the PSP receivable, from the seller's share
        and the platform's commission in proportion (the PSP keeps its fee)."""
        orders = self.orders
        currency, seller = orders.currency[order_id], orders.seller[order_id]
        self._receivable(currency, -amount_minor)
        fees = self.fees
        if fees is not None and fees.on:
            commission = fees.commission_minor(amount_minor)
            self._post(seller, currency, amount_minor - commission)
            if commission:
                self._post(PLATFORM_REVENUE, currency, commission)
        else:
            self._post(seller, currency, amount_minor)

    def post_reversal(self, order_id: int, amount_minor: int, why: str) -> None:
        """Compensating transaction taking ``amount_minor`` of an order back (``why``: ``refund``,
        or ``uncaptured`` for the part of an authorisation never captured): the PSP owes, and the
        seller is owed, that much less."""
        self._post_give_back(order_id, amount_minor)
        fees = self.fees
        if why == "uncaptured" and fees is not None and fees.on:  # no fee on what was never captured
            orders = self.orders
            amount = orders.amount_minor[order_id]
            kept = amount - amount_minor
            refund = fees.psp_fee_minor(amount) - (fees.psp_fee_minor(kept) if kept > 0 else 0)
            self._post(PSP_FEES, orders.currency[order_id], -refund)
            self._receivable(orders.currency[order_id], refund)
        self.transactions += 1
        self.reversed_minor[why] = self.reversed_minor.get(why, 0) + amount_minor
        if why == "refund":
            self._money_back_booked(REFUND, order_id, -amount_minor, 0)
            before = self.refunded_minor_of.get(order_id)
            if self.money_back_touched is not None:
                self.money_back_touched["refund"].setdefault(order_id, before)
            self.refunded_minor_of.put(order_id, (before or 0) + amount_minor)

    def post_chargeback(self, order_id: int, amount_minor: int, fee_minor: int) -> None:
        """A dispute the PSP told us about: it took ``amount_minor`` (given back when negative: a
        won dispute) and ``fee_minor`` from what it holds for us; the seller owes the amount back,
        the platform bears the fee. One balanced transaction."""
        currency = self.orders.currency[order_id]
        self._post_give_back(order_id, amount_minor)
        if fee_minor:
            self._receivable(currency, -fee_minor)
            self._post(CHARGEBACK_FEES, currency, fee_minor)
        self.transactions += 1
        self._money_back_booked(CHARGEBACK, order_id, -amount_minor, fee_minor)
        self.reversed_minor["chargeback"] = self.reversed_minor.get("chargeback", 0) + amount_minor
        before = self.charged_back_minor_of.get(order_id)
        if self.money_back_touched is not None:
            self.money_back_touched["chargeback"].setdefault(order_id, before)
        self.charged_back_minor_of.put(order_id, (before or 0) + amount_minor)
        if fee_minor:
            self.chargeback_fees_of.put(order_id, (self.chargeback_fees_of.get(order_id) or 0) + fee_minor)
        self.reversed_minor["chargeback_fee"] = self.reversed_minor.get("chargeback_fee", 0) + fee_minor

    def track_money_back(self) -> None:
        """Start logging which orders' refund and chargeback totals change (see ``money_back_touched``)."""
        if self.money_back_touched is None:
            self.money_back_touched = {"refund": {}, "chargeback": {}}

    def take_money_back_touched(self, kind: str) -> set[int]:
        """The orders whose ``kind`` total (``refund`` or ``chargeback``) differs from what it was
        at the last take (a change undone since is no change); the log starts afresh."""
        touched = self.money_back_touched[kind]  # type: ignore[index]  # (never None here)
        totals = self.refunded_minor_of if kind == "refund" else self.charged_back_minor_of
        changed = {order_id for order_id, before in touched.items() if totals.get(order_id) != before}
        self.money_back_touched[kind] = {}  # type: ignore[index]  # (never None here)
        return changed

    def post_payout(self, seller: int, currency: int, amount_minor: int, stage: str) -> None:
        """A payout's transaction at ``stage``: ``requested`` (seller payable → payout clearing),
        ``paid`` (clearing → out of the PSP receivable: the money left), ``returned`` (clearing →
        back to the seller)."""
        if stage == "requested":
            self._post(seller, currency, amount_minor)
            self._post(PAYOUT_CLEARING, currency, -amount_minor)
        elif stage == "paid":
            self._post(PAYOUT_CLEARING, currency, amount_minor)
            self._receivable(currency, -amount_minor)
            self.paid_out_minor[currency] = self.paid_out_minor.get(currency, 0) + amount_minor
        else:
            self._post(PAYOUT_CLEARING, currency, amount_minor)
            self._post(seller, currency, -amount_minor)
        self.transactions += 1

    def seller_payable(self, seller: int, currency: int) -> int:
        """What the ledger says the platform owes ``seller`` (positive)."""
        return -self.balance(seller, currency)


def _net(amount_minor: int, fee_minor: int, rate: float) -> int:
    """A line's amount less its fee, each converted at ``rate`` (as the ledger books them: apart)."""
    return convert_minor(amount_minor, rate) - convert_minor(fee_minor, rate)


def record_effect(counts: bytearray, orders: Orders, checkouts: Checkouts, order_id: int, flag: int) -> None:
    """One consumer's effect of ``order_id`` happened: count it in ``counts`` (its per-order effect
    counts, saturating at 255), set its ``flag`` on the order, and mark the checkout's payment done
    when this was the second of wallet and ledger for every order of the checkout."""
    if order_id >= len(counts):
        counts.extend(bytes(order_id + 1 - len(counts) + EFFECTS_GROWTH))
    at: SupportsIndex = order_id  # boxed once (see ``sim.domain.orders.Orders.transition``)
    count = counts[at]  # each column read once
    if count < 255:
        counts[at] = count + 1
    flags = orders.flags
    both = flags[at] | flag
    flags[at] = both
    if both & BOTH_UPDATED == BOTH_UPDATED:
        mark_payment_done(orders, checkouts, order_id)


def mark_payment_done(orders: Orders, checkouts: Checkouts, order_id: int) -> None:
    """Set ``is_payment_done`` when every order of the checkout has wallet and ledger updated.
    Called once ``order_id`` has both (the second update checks: the first one has nothing to
    check, so it does not call this)."""
    flags = orders.flags
    checkout: SupportsIndex = orders.checkout_of(order_id)  # boxed once for its three columns
    first = checkouts.first_order[checkout]
    for other in range(first, first + checkouts.order_count[checkout]):  # checkouts.orders_of
        if flags[other] & BOTH_UPDATED != BOTH_UPDATED:
            return
    checkouts.done[checkout] = 1
