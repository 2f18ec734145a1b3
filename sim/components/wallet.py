"""Seller wallets, fed at-least-once by the payment-success topic.

Each seller's balance row is updated with optimistic concurrency: read (value, version), compute,
write if the version is unchanged, else back off and retry. A hot seller makes writers contend:
the setting of the AWS backoff-and-jitter experiment.
"""

from __future__ import annotations

import random
from typing import Any, Generator, SupportsIndex

import simpy

from sim.components.dlq import DeadLetterQueue, consume_order_ids
from sim.components.fees import Fees
from sim.components.stations import DelayStation
from sim.kernel.scheduling import Waitable, clock, sleep
from sim.components.ledger import record_effect
from sim.config.distributions import make_sampler
from sim.config.model import WalletConfig
from sim.domain.orders import WALLET_UPDATED, Checkouts, Orders
from sim.observe.metrics import Metrics
from sim.policies.retry import Retrier
from sim.rng import Streams


class Wallet:
    def __init__(
        self, env: simpy.Environment, cfg: WalletConfig, orders: Orders, checkouts: Checkouts,
        sellers: int, currencies: int, streams: Streams, metrics: Metrics, dlq: DeadLetterQueue,
        fees: Fees | None = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self._dedupe = cfg.dedupe
        """``cfg.dedupe``, read per payment: a field, not a pydantic lookup."""
        self.orders = orders
        self.checkouts = checkouts
        self.metrics = metrics
        self.dlq = dlq
        self.handle = consume_order_ids(self.credit, dlq, cfg.poison_pills, "wallet", env, metrics.counters)
        """The Kafka handler of the payment-success topic."""
        self.currencies = currencies
        draw = make_sampler(cfg.latency, streams.stream("wallet.latency"))
        self.db = DelayStation(env, "wallet_db", cfg.connections, cfg.queue)
        """The service's database connection pool: each call queues for a connection."""
        self._draw_s = draw
        """A call's time: ``db.delay_s(_draw_s())`` (compiled, the station's a direct C call)."""
        self._backoff: random.Random = streams.stream("wallet.backoff")
        self.balance = [0] * (sellers * currencies)
        self.version = [0] * (sellers * currencies)
        self.applied = bytearray()
        """Times each order's event changed a balance (more than one = a duplicate effect)."""
        self.fees = fees if fees is not None and fees.commission_rate else None
        """The platform's commission, when there is one: sellers are credited their share."""
        self.write_attempts = 0
        self.conflicts = 0

    def times_applied(self, order_id: int) -> int:
        return self.applied[order_id] if order_id < len(self.applied) else 0

    def applied_at_write(self, order_id: int) -> bool:
        """The dedupe mark, read in the write's own transaction: two deliveries of one order in
        flight at once (a zombie consumer and the partition's next owner) both pass the check
        before the read, and only this one stops the second (a unique key on the processed event,
        not a read before the transaction)."""
        return order_id < len(self.applied) and self.applied[order_id] > 0

    def credit(self, order_id: int) -> Generator[Waitable, Any, None]:
        """Add the order's amount to its seller's balance (once, when dedupe is on: the mark is
        read first, a delivery already applied costs one read, and again in the write, see
        :meth:`applied_at_write`)."""
        env, orders = self.env, self.orders
        if self._dedupe and order_id < len(self.applied) and self.applied[order_id]:
            yield sleep(env, self.db.delay_s(self._draw_s()))
            self.metrics.counters["wallet.deduplicated"] += 1
            return
        at: SupportsIndex = order_id  # boxed once (see ``sim.domain.orders.Orders.transition``)
        row = orders.seller[at] * self.currencies + orders.currency[at]
        version = self.version
        retrier: Retrier | None = None
        while True:
            seen_version = version[row]
            yield sleep(env, self.db.delay_s(self._draw_s()))  # read, compute, write
            self.write_attempts += 1
            if version[row] == seen_version:  # the conditional write: the row unchanged since read, and
                if self._dedupe and self.applied_at_write(order_id):  # the order's mark checked in it
                    self.metrics.counters["wallet.deduplicated"] += 1
                    return
                self._apply(order_id, row)
                return
            self.conflicts += 1
            if retrier is None:
                retrier = Retrier(self.cfg.occ_retry, self._backoff, clock(env))
            delay = retrier.next_delay_s(clock(env))
            if delay is None:
                self.metrics.counters["wallet.occ_gave_up"] += 1
                return
            yield sleep(env, delay)

    def apply_credit(self, order_id: int) -> None:
        """The write itself: balance and version of the seller's row, the dedupe mark, the flag."""
        orders = self.orders
        self._apply(order_id, orders.seller[order_id] * self.currencies + orders.currency[order_id])

    def _apply(self, order_id: int, row: int) -> None:
        orders = self.orders
        fees = self.fees
        amount = orders.amount_minor[order_id]
        self.balance[row] += amount if fees is None else fees.seller_share_minor(amount)
        self.version[row] += 1
        record_effect(self.applied, orders, self.checkouts, order_id, WALLET_UPDATED)

    def take_back(self, order_id: int, amount_minor: int) -> None:
        """Take ``amount_minor`` of an order back from its seller (a refund, or the part never
        captured: see ``Ledger.post_reversal``)."""
        orders = self.orders
        row = orders.seller[order_id] * self.currencies + orders.currency[order_id]
        self.balance[row] -= amount_minor if self.fees is None else self.fees.seller_share_minor(amount_minor)
        self.version[row] += 1

    def adjust(self, seller: int, currency: int, delta_minor: int) -> None:
        """Change a seller's balance by ``delta_minor`` (a payout takes, a returned payout gives back)."""
        row = seller * self.currencies + currency
        self.balance[row] += delta_minor
        self.version[row] += 1

    def seller_balance(self, seller: int, currency: int) -> int:
        return self.balance[seller * self.currencies + currency]
