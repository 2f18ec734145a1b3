"""Issuing banks behind the card scheme: buyer balances and authorisation decisions.

An authorisation crosses the card scheme to the card's issuing bank and comes back with one
``ReplyCode``: ERROR_5XX (bank system error, no money moves), DECLINED_FUNDS (balance too low),
DECLINED_LIMIT (limit or issuer decline, including a decline surge) or APPROVED, which takes the
amount from the buyer's available balance. With captures at authorisation (the default) that is the
capture, recorded in the ground truth at once; with delayed captures (:meth:`Banks.hold_funds`) it is
a hold, which a later :meth:`Banks.capture` turns into a capture, :meth:`Banks.void` releases, or
which expires. No SimPy process per call: the caller waits :meth:`Banks.delay_s`, then asks for
:meth:`Banks.decide`.

The scheme and each bank are stations (``sim.components.stations``): with ``servers`` set, an
authorisation queues there, and a full queue refuses it (the PSP sees a bank error). The PSP passes
its caller's deadline down with the authorisation: work finished after it counts as wasted, and a
queue with ``drop_expired`` drops an authorisation whose deadline passed while it waited (the PSP
sees a bank error when it leaves the queue). Where both are
unlimited (``direct``), the whole trip is one wait. Captures, voids and refunds at the bank are
asked of it directly by the PSP and take no station slot.
"""

from __future__ import annotations

import math
from array import array
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from sim.kernel.scheduling import call_after, clock
from sim.components.psp import ReplyCode
from sim.components.stations import DelayStation
from sim.config.distributions import make_sampler

if TYPE_CHECKING:
    import simpy

    from sim.components.chargebacks import Chargebacks
    from sim.config.model import BanksConfig, SchemeConfig
    from sim.domain.population import Population
    from sim.domain.truth import GroundTruth
    from sim.observe.metrics import Metrics
    from sim.rng import Streams

BALANCE_SIGMA: Final = 1.0
"""Spread of the lognormal initial balances (p99 ≈ 10× the median)."""

LOW_BALANCE_DIVISOR: Final = 100
"""A low-balance buyer holds between 0 and ``balance_median_minor / LOW_BALANCE_DIVISOR``."""

_APPROVED: Final = ReplyCode.APPROVED
_DECLINED_FUNDS: Final = ReplyCode.DECLINED_FUNDS
_DECLINED_LIMIT: Final = ReplyCode.DECLINED_LIMIT
_ERROR_5XX: Final = ReplyCode.ERROR_5XX
_NOT_FOUND: Final = ReplyCode.NOT_FOUND


class Hold:
    """One authorisation hold on a buyer's funds (delayed captures only)."""

    __slots__ = ("order_id", "buyer", "amount_minor", "currency", "captured_minor", "open", "expired")

    def __init__(self, order_id: int, buyer: int, amount_minor: int, currency: int) -> None:
        self.order_id = order_id
        self.buyer = buyer
        self.amount_minor = amount_minor
        self.currency = currency
        self.captured_minor = 0
        self.open = True
        self.expired = False
        """Closed by its validity running out (not a capture or a void)."""

    @property
    def rest_minor(self) -> int:
        return self.amount_minor - self.captured_minor


class Banks:
    """The issuing banks: one balance per buyer, authorisations after scheme + bank latency."""

    _error_p: Any
    _decline_p: Any
    """The configuration's error and decline probabilities, read per authorisation: fields (a
    pydantic model's attribute is a lookup through its ``__getattr__`` hook), kept by :attr:`cfg`."""

    @property
    def cfg(self) -> "BanksConfig":
        """The banks' configuration (a test may swap it mid-run)."""
        return self._cfg

    @cfg.setter
    def cfg(self, cfg: "BanksConfig") -> None:
        self._cfg = cfg
        self._error_p = cfg.error_probability
        self._decline_p = cfg.decline_limit_probability

    def __init__(
        self,
        env: "simpy.Environment",
        banks_cfg: "BanksConfig",
        scheme_cfg: "SchemeConfig",
        population: "Population",
        streams: "Streams",
        truth: "GroundTruth",
        metrics: "Metrics",
    ) -> None:
        self.env = env
        self.cfg = banks_cfg
        self.population = population
        self.truth = truth
        self.metrics = metrics
        self._counters = metrics.counters
        self._authorisations = metrics.count("banks.authorisations")
        self._captures = metrics.count("banks.captures")
        """The counters every charge increments, as fields (Metrics.count)."""
        self._cards = population.cards
        self.decline_surge_probability = 0.0
        """Fault knob (issuer decline surge): extra probability of DECLINED_LIMIT; injectors add
        and subtract, so surges stack."""
        self.error_surge_probability = 0.0
        """Fault knob (bank errors): extra probability of ERROR_5XX at every bank."""
        self.bank_surges: list[list[float]] | None = None
        """Fault knob for one issuer: per bank, [extra decline, extra error] probability; None
        (the usual case) costs one check per authorisation."""

        rng = streams.stream("banks.balances")
        mu = math.log(banks_cfg.balance_median_minor)
        low_fraction = banks_cfg.low_balance_fraction
        low_ceiling = banks_cfg.balance_median_minor // LOW_BALANCE_DIVISOR
        balances = array("q")
        for _ in range(population.buyers):
            if rng.random() < low_fraction:
                balances.append(rng.randint(0, low_ceiling))
            else:
                balances.append(int(rng.lognormvariate(mu, BALANCE_SIGMA)))
        self.balance_minor = balances
        """Current balance of each buyer's account (index = buyer), integer minor units."""
        self.initial_total_minor = sum(balances)

        self._scheme_latency = make_sampler(scheme_cfg.latency, streams.stream("banks.scheme"))
        self._bank_latency = make_sampler(banks_cfg.latency, streams.stream("banks.latency"))
        self._decisions = streams.stream("banks.decisions")
        self.scheme = DelayStation(env, "scheme", scheme_cfg.servers, scheme_cfg.queue)
        self.stations = [DelayStation(env, f"bank-{i}", banks_cfg.servers, banks_cfg.queue) for i in range(banks_cfg.count)]
        """One station per issuing bank."""
        self.bank_unlimited = banks_cfg.servers is None
        self.direct = self.bank_unlimited and self.scheme.unlimited
        """No queue anywhere between the PSP and the issuer: :meth:`delay_s` is the whole trip."""
        self.disputes: "Chargebacks | None" = None
        """When chargebacks are on (see :meth:`connect`): told of every capture (one draw decides a dispute)."""
        self.holds: dict[int, list[Hold]] | None = None
        """Open and closed holds per order id when captures are delayed; None: captured at once."""
        self.hold_expiry_s = math.inf

    def connect(self, disputes: "Chargebacks") -> None:
        """Tell ``disputes`` of every capture (built after the banks: it reads their balances)."""
        self.disputes = disputes

    def hold_funds(self, expiry_s: float) -> None:
        """From now on an approval places a hold that expires after ``expiry_s`` unless captured or
        voided (delayed captures), instead of capturing at once."""
        self.holds = {}
        self.hold_expiry_s = expiry_s
        self.truth.holds_apart = True

    def delay_s(self, after_s: float = 0.0) -> float:
        """When an authorisation sent ``after_s`` from now is decided: ``after_s`` + scheme latency
        + bank latency (one draw of each). The caller waits that long, then calls :meth:`decide`."""
        return after_s + self._scheme_latency() + self._bank_latency()

    def scheme_latency_s(self) -> float:
        """One draw of the scheme's latency (an unlimited scheme: no queue)."""
        return self.scheme.stretched_s(self._scheme_latency(), clock(self.env))

    def scheme_delay_s(self, deadline_s: float = math.inf) -> float:
        """An authorisation reaching the scheme now: until it leaves for the bank (-1: refused; -2:
        dropped, its caller's ``deadline_s`` passed in the queue, after ``scheme.drop_wait_s()``)."""
        return self.scheme.delay_s(self._scheme_latency(), deadline_s)

    def bank_latency_s(self, card_token: int) -> float:
        """One draw of the issuer's latency, with its slowdown (an unlimited bank: no queue)."""
        return self.stations[self._cards[card_token].bank].stretched_s(self._bank_latency(), clock(self.env))

    def bank_delay_s(self, card_token: int, deadline_s: float = math.inf) -> float:
        """An authorisation reaching the card's issuer now: until it decides (-1: refused; -2:
        dropped, its caller's ``deadline_s`` passed in the queue, after :meth:`bank_drop_wait_s`)."""
        return self.stations[self._cards[card_token].bank].delay_s(self._bank_latency(), deadline_s)

    def bank_drop_wait_s(self, card_token: int) -> float:
        """After :meth:`bank_delay_s` answered -2: how long the authorisation waited in the queue."""
        return self.stations[self._cards[card_token].bank].drop_wait_s()

    def decide(self, order_id: int, card_token: int, amount_minor: int, currency: int, now: float) -> ReplyCode:
        """The issuer's decision on a charge at ``now``: an APPROVED charge debits the buyer and
        records the capture in the ground truth at that instant. (The caller schedules the wait
        and passes ``now``: no callback object, no second clock read per authorisation.)"""
        self._authorisations.n += 1
        counters = self._counters
        rng = self._decisions
        card = self._cards[card_token]
        error_p = self._error_p + self.error_surge_probability
        decline_p = self._decline_p + self.decline_surge_probability
        surges = self.bank_surges
        if surges is not None:
            decline_extra, error_extra = surges[card.bank]
            error_p += error_extra
            decline_p += decline_extra
        if error_p > 0.0 and rng.random() < error_p:
            counters["banks.errors"] += 1
            return _ERROR_5XX
        buyer = card.buyer
        balances = self.balance_minor
        balance = balances[buyer]
        if balance < amount_minor:
            counters["banks.declined_funds"] += 1
            return _DECLINED_FUNDS
        if decline_p > 0.0 and rng.random() < decline_p:
            counters["banks.declined_limit"] += 1
            return _DECLINED_LIMIT
        balances[buyer] = balance - amount_minor
        if self.holds is not None:
            self._hold(order_id, buyer, amount_minor, currency)
            return _APPROVED
        self.truth.record_capture(order_id, amount_minor, currency, now)
        self._captures.n += 1
        if self.disputes is not None:
            self.disputes.on_capture(order_id, buyer, amount_minor, currency)
        return _APPROVED

    def _hold(self, order_id: int, buyer: int, amount_minor: int, currency: int) -> None:
        hold = Hold(order_id, buyer, amount_minor, currency)
        self.holds.setdefault(order_id, []).append(hold)  # type: ignore[union-attr]  # (only when holding)
        self.truth.record_hold(order_id, amount_minor, currency)
        self._counters["banks.holds"] += 1
        call_after(self.env, self.hold_expiry_s, partial(self._expire, hold))

    def _expire(self, hold: Hold, _event: object) -> None:
        """The hold's validity ran out: the rest not captured goes back to the buyer."""
        if hold.open:
            self._counters["banks.holds_expired"] += 1
            hold.expired = True
            self._release(hold, "expiry")

    def _release(self, hold: Hold, why: str) -> None:
        hold.open = False
        rest = hold.rest_minor
        if rest > 0:
            self.balance_minor[hold.buyer] += rest
            self.truth.record_release(rest, hold.currency, why)

    def capture(self, order_id: int, amount_minor: int, now: float) -> ReplyCode:
        """Capture ``amount_minor`` of the order's oldest open hold: APPROVED (the money is taken),
        DECLINED_LIMIT (more than the hold has left), NOT_FOUND (no open hold: voided, expired or
        fully captured). A hold stays open after a partial capture (multicapture, for later
        shipments) until fully captured or expired."""
        for hold in (self.holds or {}).get(order_id, ()):
            if not hold.open:
                continue
            if amount_minor > hold.rest_minor:
                self._counters["banks.captures_over_hold"] += 1
                return _DECLINED_LIMIT
            hold.captured_minor += amount_minor
            if hold.rest_minor == 0:
                hold.open = False
            self.truth.record_capture(order_id, amount_minor, hold.currency, now)
            self._captures.n += 1
            if self.disputes is not None:
                self.disputes.on_capture(order_id, hold.buyer, amount_minor, hold.currency)
            return _APPROVED
        self._counters["banks.captures_without_hold"] += 1
        return _NOT_FOUND

    def void(self, order_id: int) -> ReplyCode:
        """Release the order's oldest open hold: APPROVED, or NOT_FOUND when none is open."""
        for hold in (self.holds or {}).get(order_id, ()):
            if hold.open:
                self._counters["banks.voids"] += 1
                self._release(hold, "void")
                return _APPROVED
        return _NOT_FOUND

    def refund(self, order_id: int, card_token: int, amount_minor: int, currency: int) -> None:
        """Credit the card's buyer ``amount_minor`` for the order (the PSP checked it was captured)."""
        self.balance_minor[self._cards[card_token].buyer] += amount_minor
        self.truth.record_refund(order_id, amount_minor, currency)
        self._counters["banks.refunds"] += 1

    @property
    def total_balance_minor(self) -> int:
        """Sum of all buyers' current balances (for the money-conservation oracle)."""
        return sum(self.balance_minor)
