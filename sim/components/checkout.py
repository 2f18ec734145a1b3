"""Checkout clients: Poisson arrivals with spikes (open) or a closed population of buyers who think
between checkouts, carts drawn from the population, buyers who double-click and retry on timeout with
the same idempotency key (or, in a flawed client, a new one).
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any, Generator, Protocol, Sequence, Final

import simpy

from sim.components.payment_service import OrderLine, Response, new_order_line
from sim.components.deadlines import Deadlines
from sim.kernel.scheduling import Wait, Waitable, call_after, clock, fire_now, sleep, until_fired
from sim.config.distributions import lognormal_sampler, make_sampler
from sim.config.model import ClientConfig
from sim.config.scenario import Workload
from sim.domain.population import Population
from sim.observe.metrics import Metrics
from sim.policies.retry import Retrier
from sim.rng import Streams

_Z99: Final = 2.3263478740408408
_FINAL = {Response.ACCEPTED: "accepted", Response.SUCCEEDED: "succeeded", Response.FAILED: "failed",
          Response.IN_PROGRESS: "in_progress", Response.REJECTED: "rejected", Response.UNAVAILABLE: "unavailable"}
_FINAL_COUNTER: Final = {response: f"client.{name}" for response, name in _FINAL.items()}
_UNAVAILABLE: Final = Response.UNAVAILABLE  # read once, as in payment_service
_THROTTLED: Final = Response.THROTTLED
_DEFINITE: Final = (Response.FAILED, Response.REJECTED)
"""Definite failures: a client retries them only with the ``retry.retry_non_retryable`` flaw."""
_log: Final = math.log
_floor: Final = math.floor


class _Attempt:
    """One request of a buyer, as the client's timeout sees it."""

    __slots__ = ("key", "buyer", "lines", "started", "retrier", "waiting", "timed_out", "patience_s")

    def __init__(self, key: int, buyer: int, lines: list[OrderLine], started: float, retrier: Retrier | None) -> None:
        self.key = key
        self.buyer = buyer  # the card token is the buyer's index (the PSP's hosted page)
        self.lines = lines
        self.started = started  # when the buyer first clicked (latency is counted from there)
        self.retrier = retrier
        self.waiting = True  # until the answer comes
        self.timed_out = False
        self.patience_s = math.inf


class _Session:
    """A buyer process of the pool and what it is to do next: play the buyer who arrived at
    ``arrived``, or, when ``timed_out`` is set, decide whether to retry that attempt."""

    __slots__ = ("buyer", "lines", "arrived", "timed_out", "wake")

    def __init__(self, buyer: int, lines: list[OrderLine], arrived: float, timed_out: _Attempt | None = None) -> None:
        self.buyer = buyer
        self.lines = lines
        self.arrived = arrived
        self.timed_out = timed_out
        self.wake: Wait | None = None


_NO_LINES: Final[list[OrderLine]] = []

_waiting: Final = attrgetter("waiting")
"""The client timeout's "still pending?" test: a C call, no Python frame per checkout."""


class CheckoutService(Protocol):
    """What the buyers call: the payment service, or a test's stand-in (a protocol, not the class:
    compiled, an argument typed with a class is checked to be one)."""

    retry_after_s: float

    def handle_checkout(self, key: int, buyer: int, card_token: int, lines: Sequence[OrderLine],
                        deadline_s: float = math.inf) -> Generator[Waitable, Any, Response]: ...


class CheckoutClients:
    """The store's front end: generates checkouts until ``until_s`` and plays each buyer."""

    def __init__(
        self, env: simpy.Environment, workload: Workload, cfg: ClientConfig, population: Population,
        service: CheckoutService, streams: Streams, metrics: Metrics, until_s: float,
    ) -> None:
        self.env = env
        self.workload = workload
        self.cfg = cfg
        self._timeout_s = cfg.timeout_s
        """``cfg.timeout_s``, read per session: a field, not a pydantic lookup."""
        self.population = population
        self.service = service
        self.metrics = metrics
        self._final_counts = [metrics.count(_FINAL_COUNTER[response]) for response in sorted(_FINAL)]
        """``client.<answer>`` per final answer, indexed by it (Metrics.count: fields the hot path increments)."""
        self.until_s = until_s
        self._arrivals = streams.stream("client.arrivals")
        self._carts = streams.stream("client.carts")
        self._behaviour = streams.stream("client.behaviour")
        self._double_click_s = make_sampler(cfg.double_click_delay, streams.stream("client.double_click"))
        self._patience_s = make_sampler(cfg.patience, streams.stream("client.patience")) if cfg.patience else None
        mu = math.log(workload.amount_median_minor)
        self._amount = lognormal_sampler(streams.stream("client.amounts"), mu, (math.log(workload.amount_p99_minor) - mu) / _Z99)
        # the cart's shape, read once: _draw_cart runs per checkout
        self._max_orders = workload.max_orders_per_checkout
        self._hot_seller_share = workload.hot_seller_share
        self._buyers = population.buyers
        self._sellers = population.sellers
        self._currencies = len(population.currencies)
        self._double_click_probability = cfg.double_click_probability
        self._retry_definite = cfg.retry.retry_non_retryable
        self.next_key = 0
        self.next_line = 0
        self.checkouts = 0
        self.latency = metrics.histogram("client_latency_s")
        self._varying = bool(workload.spikes or workload.daily_shape)
        self._idle_sessions: list[_Session] = []
        self.sessions_started = 0
        """Buyer sessions (processes) started: the pool's size, since a session never ends."""
        self._deadlines: Deadlines[_Attempt] = Deadlines(env, cfg.timeout_s, _waiting, self._give_up_waiting)
        closed = cfg.closed_population
        self._closed = closed.enabled
        """A closed population: a buyer's next checkout follows its think time after its answer."""
        self._think_s = make_sampler(closed.think_time, streams.stream("client.think_time")) if closed.enabled else None

    def start(self) -> None:
        if self._closed:
            for _ in range(self.cfg.closed_population.size):  # every buyer starts by thinking
                self._think()
        elif self.workload.rate_per_s > 0:
            self._next_arrival(clock(self.env))

    def _think(self) -> None:
        """Closed population: a buyer is done (answered, or gave up) and thinks before its next
        checkout, which starts only within the load phase."""
        gap = self._think_s()  # type: ignore[misc]  # (never None here)
        if clock(self.env) + gap < self.until_s:
            call_after(self.env, gap, self._arrive_closed)

    def _arrive_closed(self, _event: object) -> None:
        """Closed population: a buyer who finished thinking checks out (up to ``max_checkouts``)."""
        limit = self.workload.max_checkouts
        if limit is not None and self.checkouts >= limit:
            return
        self.checkouts += 1
        buyer, lines = self._draw_cart()
        now = clock(self.env)
        self._start(buyer, lines, now)

    def _start(self, buyer: int, lines: list[OrderLine], now: float) -> None:
        """Hand a new checkout to an idle buyer session, or start a session for it."""
        sessions = self._idle_sessions
        if sessions:
            session = sessions.pop()
            session.buyer, session.lines, session.arrived = buyer, lines, now
            fire_now(session.wake)  # type: ignore[arg-type]  # (never None here)
        else:
            self.sessions_started += 1
            self.env.process(self._session(_Session(buyer, lines, now)))  # type: ignore[arg-type]  # (SimPy's types know no Wait)

    def _rate_changed(self, _event: object) -> None:
        self._next_arrival(clock(self.env))

    def _next_arrival(self, now: float) -> None:
        """Schedule the next checkout: Poisson arrivals whose rate may change (spikes, daily
        shape). With neither, the rate is ``rate_per_s`` for good and is not recomputed. Arrivals
        are scheduled calls, not a process: each starts its buyer at once (:meth:`_arrive`)."""
        env, workload = self.env, self.workload
        rate, change = workload.rate_per_s, math.inf
        if self._varying:
            rate *= workload.rate_multiplier(now)
            change = workload.next_rate_change(now)
        gap = -_log(1.0 - self._arrivals.random()) / rate  # random.expovariate(rate), without its frame
        if now + gap > change:  # memoryless: redraw from the rate change
            call_after(env, change - now, self._rate_changed)
        elif now + gap < self.until_s:
            call_after(env, gap, self._arrive)

    def _arrive(self, _event: object) -> None:
        now = clock(self.env)
        self.checkouts += 1
        buyer, lines = self._draw_cart()
        limit = self.workload.max_checkouts
        if limit is None or self.checkouts < limit:
            self._next_arrival(now)
        self._start(buyer, lines, now)

    def _session(self, session: _Session) -> Generator[Waitable, Any, None]:
        """A long-lived buyer process: plays one buyer (its requests and retries), then waits in
        the idle pool for the next arrival. Buyers need a process (their requests wait), but not
        one each: a process costs two events to start and end, a session none once the pool is
        as large as the number of buyers waiting at once.

        The requests are played here rather than in a generator of their own: every generator
        level between the process and the payment service is resumed again at each of the
        request's waits. A request the client's timeout gave up on runs to its end here (its
        answer is not read); the buyer carries on in a new session (:meth:`_give_up_waiting`),
        which joins the pool in its turn."""
        env, counters, service, deadlines = self.env, self.metrics.counters, self.service, self._deadlines
        timeout_s = self._timeout_s
        idle = self._idle_sessions
        retry_definite = self._retry_definite
        attempt: _Attempt | None = session.timed_out
        if attempt is None:
            attempt, now = self._first_click(session), session.arrived
        else:  # started by the client's timeout: the buyer first waits, or gives up
            session.timed_out = None
            attempt = yield from self._retry(attempt)
            now = clock(env)
        while True:
            while attempt is not None:
                deadlines.arm(attempt, now)
                response = yield from service.handle_checkout(
                    attempt.key, attempt.buyer, attempt.buyer, attempt.lines, now + timeout_s)
                if attempt.timed_out:
                    break
                attempt.waiting = False
                if response < _UNAVAILABLE and not (retry_definite and response in _DEFINITE):
                    self.latency.add(clock(env) - attempt.started)
                    self._final_counts[response].n += 1
                    if self._closed:
                        self._think()
                    break
                retry_after_s = 0.0
                if response == _THROTTLED:  # 429: the next attempt waits at least its Retry-After
                    counters["client.throttled"] += 1
                    retry_after_s = service.retry_after_s
                elif response == _UNAVAILABLE:
                    counters["client.unavailable"] += 1
                else:  # FLAW (retry.retry_non_retryable): the buyer tries again after a decline
                    counters["client.definite_retried"] += 1
                attempt = yield from self._retry(attempt, retry_after_s)
                now = clock(env)
            session.wake = until_fired()
            idle.append(session)
            yield session.wake
            attempt, now = self._first_click(session), session.arrived

    def _draw_cart(self) -> tuple[int, list[OrderLine]]:
        # floor(random() * n): uniform over n, without randrange's cost; floor, not int, which is
        # the same for values >= 0 (every draw here is) at a fraction of the cost
        random = self._carts.random
        buyer = _floor(random() * self._buyers)
        count, max_orders = 1, self._max_orders
        while count < max_orders and random() < 0.35:
            count += 1
        currency = _floor(random() * self._currencies)
        hot_share, sellers, amount_of = self._hot_seller_share, self._sellers, self._amount
        lines: list[OrderLine] = []
        sellers_used: set[int] = set()
        next_line = self.next_line
        for _ in range(count):
            if hot_share and random() < hot_share:
                seller = 0
            else:
                seller = _floor(random() * sellers)
            if seller in sellers_used:  # one order per seller per checkout
                continue
            sellers_used.add(seller)
            amount = _floor(amount_of()) or 1  # at least 1 (a lognormal draw is > 0)
            lines.append(new_order_line((seller, amount, currency, next_line)))
            next_line += 1
        self.next_line = next_line
        return buyer, lines

    def _new_key(self) -> int:
        key = self.next_key
        self.next_key += 1
        return key

    def _first_click(self, session: _Session) -> _Attempt:
        """The session's new buyer clicks "pay" (and, now and then, clicks twice)."""
        buyer, lines = session.buyer, session.lines
        session.lines = _NO_LINES
        key = self._new_key()
        token = buyer  # the PSP's hosted page tokenised the buyer's card: token == card index
        double_click = self._double_click_probability
        if double_click and self._behaviour.random() < double_click:
            self.metrics.counters["client.double_clicks"] += 1
            self.env.process(self._second_click(key, buyer, token, lines))
        return _Attempt(key, buyer, lines, session.arrived, None)

    def _give_up_waiting(self, attempt: _Attempt) -> None:
        """The client's timeout: the buyer stops waiting and decides what to do next."""
        attempt.timed_out = True
        self.metrics.counters["client.timeouts"] += 1
        self.sessions_started += 1
        self.env.process(self._session(_Session(attempt.buyer, _NO_LINES, attempt.started, timed_out=attempt)))  # type: ignore[arg-type]  # (SimPy's types know no Wait)

    def _retry(self, attempt: _Attempt, retry_after_s: float = 0.0) -> Generator[Waitable, Any, _Attempt | None]:
        """Wait before the next attempt (at least ``retry_after_s`` when the policy honours a 429's
        Retry-After); None when the buyer gives up."""
        env, counters = self.env, self.metrics.counters
        retrier = attempt.retrier
        if retrier is None:
            retrier = Retrier(self.cfg.retry, self._behaviour, attempt.started)
            if self._patience_s is not None:
                attempt.patience_s = self._patience_s()
        delay = retrier.next_delay_s(clock(env), retry_after_s)
        patience = self._patience_s
        if delay is not None and patience is not None and clock(env) + delay - attempt.started > attempt.patience_s:
            counters["client.abandoned"] += 1  # the buyer's patience ran out before the next attempt
            delay = None
        if delay is None:
            counters["client.gave_up"] += 1
            self.latency.add(clock(env) - attempt.started)
            if self._closed:
                self._think()
            return None
        counters["client.retries"] += 1
        yield sleep(env, delay)
        key = self._new_key() if self.cfg.regenerate_key_on_retry else attempt.key  # FLAW: a new checkout
        retry = _Attempt(key, attempt.buyer, attempt.lines, attempt.started, retrier)
        retry.patience_s = attempt.patience_s
        return retry

    def _second_click(self, key: int, buyer: int, token: int, lines: list[OrderLine]) -> Generator:
        yield sleep(self.env, self._double_click_s())
        yield from self.service.handle_checkout(key, buyer, token, lines)
