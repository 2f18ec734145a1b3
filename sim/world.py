"""Build the SimPy world of one run from a model and a scenario: every component, wired.

The world is the only place that knows the whole graph; components get their dependencies
explicitly. Random streams are named after the component that draws from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import simpy

from sim.components.bank import Banks
from sim.components.capture import Capturer
from sim.components.capturing_psp import CapturingPsp, RefundsAtCapturingPsp
from sim.components.chargebacks import Chargebacks
from sim.components.checkout import CheckoutClients
from sim.components.database import Database
from sim.components.dlq import DeadLetterQueue
from sim.components.executor import Executor
from sim.components.fees import Fees
from sim.components.fx import FxRates
from sim.components.kafka import ConsumerGroup, Topic
from sim.kernel.engine import Engine
from sim.components.ledger import Ledger
from sim.components.monitor import InFlightMonitor
from sim.components.nightly_reconciliation import NightlyReconciliation
from sim.components.outbox import OutboxRelay
from sim.components.outcomes import Outcomes
from sim.components.payout_provider import PayoutProvider
from sim.components.payouts import Payouts
from sim.components.payment_service import PaymentService, retries_executor
from sim.components.producer import Producer
from sim.components.psp import DAY_S, Psp
from sim.components.psp_operations import PspOperations
from sim.components.psp_settlement import Line
from sim.components.refunds import Refunds
from sim.components.retry_topics import build_retry_topics
from sim.components.risk import RiskService
from sim.components.secondary_psp import build_secondary_psp, secondary_streams
from sim.components.settlement import Settlements
from sim.components.stations import DelayStation, SlotStation
from sim.components.wallet import Wallet
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.config.topics import ORDERS_TOPIC, SUCCESS_TOPIC
from sim.domain.orders import COLUMN_CHUNK, Checkouts, Orders
from sim.domain.population import Population, generate_population
from sim.domain.truth import GroundTruth
from sim.faults.runner import FaultWindow, start_faults
from sim.observe.metrics import Metrics
from sim.observe.trace import Trace
from sim.rng import Streams

CAPTURE_INSTANCES = 2
"""Consumer instances of the capture service (delayed captures)."""


class SettlementFile:
    """The settlement files of the PSPs as one: rows (day, order_id, amount_minor, currency,
    captured_at) in capture order when iterated, and :meth:`order_ids` as one numpy column (what
    reconciliation needs, without a tuple per row)."""

    def __init__(self, psps: list[Psp]) -> None:
        self._psps = psps

    def rows(self) -> list[tuple[int, int, int, int, float]]:
        rows = self._psps[0].settlement_file()
        if len(self._psps) > 1:
            rows = sorted(rows + self._psps[1].settlement_file(), key=lambda row: (row[4], row[1]))
        return rows

    def __iter__(self):
        return iter(self.rows())

    def lines(self) -> "list[Line]":
        """Every capture, refund and chargeback line of every PSP, in the order they were made."""
        lines = self._psps[0].settlement.lines()
        if len(self._psps) > 1:
            lines = sorted(lines + self._psps[1].settlement.lines(), key=lambda line: (line.at_s, line.order_id))
        return lines

    def adjustments(self) -> "Iterator[Line]":
        """The refund and chargeback lines of every PSP, one at a time (without the millions of
        capture lines)."""
        return (line for psp in self._psps for line in psp.settlement.adjustments)

    def __len__(self) -> int:
        return sum(len(p.settlement_column("day")) for p in self._psps)

    def order_ids(self) -> np.ndarray:
        """The order id of every row (in no particular order)."""
        return np.concatenate([p.settlement_column("order_id") for p in self._psps]).astype(np.int64)

    def order_id_chunks(self, size: int) -> "Iterator[np.ndarray]":
        """:meth:`order_ids` ``size`` rows at a time (int64 arrays; an end-of-run check's bounded read)."""
        for psp in self._psps:
            for start in range(0, len(psp.settlement), size):
                yield psp.settlement.order_ids(start, start + size)

    def timing_differences(self) -> int:
        """Rows the PSP settled on another day than our clock puts their capture in (its clock is
        skewed across the daily cut-off): they settle a day early or late, a timing difference for
        reconciliation, not a break."""
        count = 0
        for psp in self._psps:
            settlement = psp.settlement
            for start in range(0, len(settlement), COLUMN_CHUNK):  # a slice of rows at a time
                stop = start + COLUMN_CHUNK
                ours = np.floor((settlement.column("captured_at", start, stop) - psp.cfg.settlement_cutoff_s) / DAY_S)
                count += int((settlement.column("day", start, stop) != ours.astype(np.int64)).sum())
        return count


@dataclass
class World:
    env: simpy.Environment
    model: SystemModel
    scenario: Scenario
    seed: int
    streams: Streams
    metrics: Metrics
    trace: Trace
    population: Population
    truth: GroundTruth
    orders: Orders
    checkouts: Checkouts
    banks: Banks
    psp: Psp
    topics: dict[str, Topic]
    consumer_groups: dict[str, ConsumerGroup]
    payment_service: PaymentService
    executor: Executor
    wallet: Wallet
    ledger: Ledger
    dlq: DeadLetterQueue
    monitor: InFlightMonitor
    clients: CheckoutClients
    fault_windows: list[FaultWindow] = field(default_factory=list)
    fault_stacks: dict[str, list[float]] = field(default_factory=dict)
    secondary_psp: Psp | None = None
    database: Database | None = None
    risk: RiskService | None = None
    producers: dict[str, Producer] = field(default_factory=dict)
    capture: Capturer | None = None
    """Our capture service, when captures are delayed (``capture.mode: delayed``)."""
    refunds: Refunds | None = None
    chargebacks: Chargebacks | None = None
    payouts: Payouts | None = None
    payout_provider: PayoutProvider | None = None
    psp_operations: PspOperations | None = None
    """The PSP's capture, void and refund API."""
    settlements: Settlements | None = None
    """The PSPs' daily settlement in one currency, when FX is on (``fx.settlement_currency``)."""
    nightly: NightlyReconciliation | None = None
    """Reconciliation on a schedule during the run (``reconciliation.every``)."""

    @property
    def stations(self) -> dict[str, "DelayStation | SlotStation"]:
        """Every finite-capacity service by name (fault targets, queue gauges, per-service KPIs)."""
        found: dict[str, DelayStation | SlotStation] = {
            "payment_service": self.payment_service.request_threads,
            "psp": self.psp.slots,
            "scheme": self.banks.scheme,
            "wallet_db": self.wallet.db,
            "ledger_db": self.ledger.db,
        }
        if self.payment_service.threads is not None:
            found["executor"] = self.payment_service.threads
        if self.database is not None:
            found["database"] = self.database.pool
        if self.risk is not None:
            found["risk"] = self.risk.station
        if self.secondary_psp is not None:
            found["secondary_psp"] = self.secondary_psp.slots
        for index, bank in enumerate(self.banks.stations):
            found[f"bank-{index}"] = bank
        return found

    def psp_named(self, name: str) -> Psp:
        """``psp`` or ``secondary_psp`` (fault targets)."""
        if name == "secondary_psp" and self.secondary_psp is not None:
            return self.secondary_psp
        return self.psp

    def settlement_file(self) -> "SettlementFile":
        """Every PSP's settlement file, merged in capture order (iterate it for the rows)."""
        return SettlementFile([p for p in (self.psp, self.secondary_psp) if p is not None])

    @property
    def load_end_s(self) -> float:
        return self.scenario.duration_s

    @property
    def end_s(self) -> float:
        return self.scenario.duration_s + self.scenario.drain_s


def build_world(model: SystemModel, scenario: Scenario, seed: int, trace: Trace | None = None) -> World:
    """Every component of ``model`` under ``scenario``'s workload, seeded by ``seed``."""
    env = Engine()
    streams = Streams(seed)
    metrics = Metrics(bin_s=scenario.bin_s or _bin_s(scenario.duration_s + scenario.drain_s))
    trace = trace or Trace(enabled=scenario.trace)
    workload = scenario.workload
    population = generate_population(
        streams.stream("population"), workload.buyers, workload.sellers, model.banks.count, tuple(workload.currencies)
    )
    checkouts = Checkouts()
    orders = Orders(checkouts)
    truth = GroundTruth(orders.created_at_of)
    kafka = model.kafka

    banks = Banks(env, model.banks, model.scheme, population, streams, truth, metrics)
    psp = Psp(env, model.psp, banks, population, streams, metrics, orders=orders)
    secondary = None
    if model.secondary_psp is not None:
        secondary = build_secondary_psp(env, model.secondary_psp, banks, population, streams, metrics, orders)
    topics = {
        name: Topic(env, name, topic.partitions, metrics)
        for name, topic in sorted(kafka.topics.items())
    }
    for required in (ORDERS_TOPIC, SUCCESS_TOPIC):
        if required not in topics:
            topics[required] = Topic(env, required, 12, metrics)

    db = Database(env, model.payment_service.database, streams)
    producer = Producer(env, "payment_service", kafka, model.payment_service.producer, streams.stream("producer"), metrics)
    outcomes = Outcomes(env, orders, producer, topics[SUCCESS_TOPIC], metrics, trace)
    dlq = DeadLetterQueue()
    executor_producer = None  # async: the executor publishes to the retry topics and replays to payment-orders
    if model.wiring == "async":
        executor_producer = Producer(
            env, "executor", kafka, model.payment_service.producer, streams.stream("executor.producer"), metrics
        )
    executor = Executor(
        env, model.executor, psp, db, orders, checkouts, outcomes, dlq, streams.stream("executor.backoff"), metrics, trace,
        secondary=secondary,
        fallback_after_timeout=model.secondary_psp is not None and model.secondary_psp.fallback_after_timeout,
        producer=executor_producer, orders_topic=topics[ORDERS_TOPIC] if model.wiring == "async" else None,
        defer_exhausted=retries_executor(model.payment_service, model.wiring),
    )
    risk = RiskService(env, model.payment_service.risk, streams, metrics)
    outbox = None
    if model.wiring == "async" and model.payment_service.outbox.enabled:
        outbox = OutboxRelay(env, model.payment_service.outbox, orders, producer, topics[ORDERS_TOPIC], metrics)
    payment_service = PaymentService(
        env, model.payment_service, model.wiring, db, risk, orders, checkouts, producer,
        topics[ORDERS_TOPIC], executor, model.executor.instances * model.executor.threads, outcomes, streams, metrics,
        executor_queue=model.executor.queue, outbox=outbox,
        card_number_of=(lambda token: population.cards[token].number) if model.payment_service.log_card_numbers else None,
    )
    fees = Fees(model.fees)  # all zero: no fee entries at all, two entries per payment
    for charging in (psp, secondary):  # the PSP's fee per capture, a column of its settlement file
        if charging is not None:
            charging.settlement.charge_fees(fees)
    wallet = Wallet(
        env, model.wallet, orders, checkouts, workload.sellers, len(workload.currencies), streams, metrics, dlq,
        fees=fees,
    )
    fx = None
    if model.fx.settlement_currency and any(code != model.fx.settlement_currency for code in population.currencies):
        fx = FxRates(model.fx, population.currencies, streams.stream("fx.rates"))  # off, or one currency: no FX
    ledger = Ledger(
        env, model.ledger, orders, checkouts, streams, metrics, dlq, fees=fees, fx=fx,
        fx_revalue=model.fx.revalue_at_settlement,
        psp_clearing=None if model.ledger.psp_clearing_deadline_s is None  # else captures in PSP clearing until settled
        else (model.psp.settlement_days, model.psp.settlement_cutoff_s),
        clearing_at_capture=model.capture.mode == "delayed" and model.ledger.psp_clearing_opens_at == "capture",
    )

    def group(name: str, topic: str, instances: int, handler, commit: str = "after") -> ConsumerGroup:
        return ConsumerGroup(
            env, topics[topic], name, instances, handler, commit=commit,
            rebalance_pause_s=kafka.rebalance_pause_s, session_timeout_s=kafka.session_timeout_s,
            max_poll_interval_s=kafka.max_poll_interval_s, max_poll_records=kafka.max_poll_records,
            metrics=metrics,
        )

    groups = {
        "wallet": group("wallet", SUCCESS_TOPIC, model.wallet.instances, wallet.handle, model.wallet.commit),
        "ledger": group("ledger", SUCCESS_TOPIC, model.ledger.instances, ledger.handle, model.ledger.commit),
    }
    operations = PspOperations(psp, banks, truth, streams, model.refunds.failure_probability)  # capture, void, refund
    capturing = CapturingPsp(psp, secondary)  # refund and dispute lines go to the file of the PSP that captured
    operations.lists_refunds_of = capturing.of
    if secondary is not None and ledger.clearing_open is not None:  # each PSP's settlement closes its own captures
        primary_schedule = (model.psp.settlement_days, model.psp.settlement_cutoff_s)
        secondary_schedule = (secondary.cfg.settlement_days, secondary.cfg.settlement_cutoff_s)
        ledger.settlement_schedule_of = lambda order_id: (
            secondary_schedule if capturing.of(order_id) is secondary else primary_schedule)
    refund_api: PspOperations | RefundsAtCapturingPsp = operations
    if secondary is not None:  # a refund is asked of the PSP that captured the payment
        secondary_operations = PspOperations(secondary, banks, truth, secondary_streams(streams),
                                             model.refunds.failure_probability)
        secondary_operations.lists_refunds_of = capturing.of
        refund_api = RefundsAtCapturingPsp(capturing, operations, secondary_operations)
    refunds = Refunds(env, model.refunds, orders, checkouts, refund_api, ledger, wallet, streams, metrics, trace)
    payout_provider = payouts = None
    if model.payouts.enabled:
        payout_provider = PayoutProvider(env, model.payouts.provider, streams, metrics)
        payouts = Payouts(env, model.payouts, ledger, wallet, payout_provider, workload.sellers,
                          len(workload.currencies), streams, metrics)
        payouts.start()
    chargebacks = None
    if model.chargebacks.probability > 0.0:
        chargebacks = Chargebacks(env, model.chargebacks, banks.balance_minor, truth, ledger, wallet, streams, metrics)
        chargebacks.settle_through(capturing.of)
        banks.connect(chargebacks)
    capturer = None
    delayed_capture = model.capture.mode == "delayed"
    psp.connect(payment_service.on_webhook, capture_api=operations if delayed_capture else None)
    if secondary is not None:
        secondary.connect(payment_service.on_webhook)
    if delayed_capture:  # the issuer holds, our capture service captures at shipment
        banks.hold_funds(model.capture.hold_expiry_s)
        capturer = Capturer(env, model.capture, orders, operations, dlq, streams, metrics, trace)
        groups["capture"] = group("capture", SUCCESS_TOPIC, CAPTURE_INSTANCES, capturer.handle)

        def uncaptured(order_id: int, amount_minor: int) -> None:
            ledger.post_reversal(order_id, amount_minor, "uncaptured")
            wallet.take_back(order_id, amount_minor)

        capturer.on_uncaptured.append(uncaptured)
        if ledger.clearing_at_capture:  # the capture opens the PSP clearing entry its settlement closes
            capturer.on_captured.append(ledger.open_clearing)
        if model.refunds.probability > 0.0:
            capturer.on_captured.append(refunds.on_captured)
    elif model.refunds.probability > 0.0:  # captured at authorisation: refunds follow the booking
        ledger.connect(refunds.on_captured)
    if model.wiring == "async":
        groups["executor"] = group("executor", ORDERS_TOPIC, model.executor.instances, executor.handle, model.executor.commit)
    if model.executor.retry_topics.enabled:
        def retry_group(topic: Topic, name: str, instances: int, handler) -> ConsumerGroup:
            topics[topic.name] = topic
            return group(name, topic.name, instances, handler)

        _retry_topics, retry_groups = build_retry_topics(
            env, model.executor.retry_topics, ORDERS_TOPIC, executor, metrics, retry_group
        )
        groups.update(retry_groups)
    for consumer_group in groups.values():
        consumer_group.start()

    monitor = InFlightMonitor(env, model.monitor, orders, executor, outcomes, metrics)
    monitor.start()
    if outbox is not None:
        outbox.start()
    clients = CheckoutClients(
        env, workload, model.client, population, payment_service, streams, metrics, until_s=scenario.duration_s
    )
    clients.start()
    world = World(
        env=env, model=model, scenario=scenario, seed=seed, streams=streams, metrics=metrics, trace=trace,
        population=population, truth=truth, orders=orders, checkouts=checkouts, banks=banks, psp=psp,
        topics=topics, consumer_groups=groups, payment_service=payment_service, executor=executor,
        wallet=wallet, ledger=ledger, dlq=dlq, monitor=monitor, clients=clients,
        secondary_psp=secondary, database=db, risk=risk, capture=capturer, refunds=refunds, chargebacks=chargebacks,
        payouts=payouts, payout_provider=payout_provider,
        psp_operations=operations, producers={"payment_service": producer, **({"executor": executor.producer} if executor.producer else {})},
    )
    if model.refunds.extra_captures_every_s is not None:
        refunds.start_sweeps(world.settlement_file())
    if ledger.fx is not None or ledger.clearing_open is not None:  # the PSPs pay their settlement days
        world.settlements = Settlements(env, [p for p in (psp, secondary) if p is not None], ledger.fx, ledger, metrics,
                                        book=model.ledger.import_settlements)
        world.settlements.start()
    if model.reconciliation.enabled and model.reconciliation.every_s is not None:  # nightly reconciliation
        world.nightly = NightlyReconciliation(env, model.reconciliation, [p for p in (psp, secondary) if p is not None],
                                              orders, ledger, wallet, refunds, capturer, world.settlements, metrics,
                                              chargebacks=chargebacks)
        world.nightly.start()
    world.fault_windows = start_faults(world, list(scenario.faults), scenario.duration_s)
    env.process(_sample_gauges(world))
    return world


def _bin_s(total_s: float) -> float:
    """Time-bin width giving a few hundred points over the run."""
    for width in (1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0):
        if total_s / width <= 400:
            return width
    return 3600.0


def _sample_gauges(world: World):
    """Queue depth and consumer lag, once per time bin."""
    env, series = world.env, world.metrics.series
    stations = {name: s for name, s in world.stations.items() if not s.unlimited and not name.startswith("bank-")}
    while True:
        for name, consumer_group in world.consumer_groups.items():
            series.gauge(f"lag.{name}", env.now, consumer_group.lag())
        series.gauge("dlq_depth", env.now, len(world.dlq.entries))
        series.gauge("in_flight_orders", env.now, len(world.orders.in_flight))
        for name, station in stations.items():
            series.gauge(f"queue.{name}", env.now, station.queue_length)
            series.gauge(f"busy.{name}", env.now, station.in_service)
        yield env.timeout(series.bin_s)
