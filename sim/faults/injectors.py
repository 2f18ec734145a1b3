"""How each fault kind acts on a running world: ``apply`` returns the function that undoes it.

Faults stack: each injector adds its effect and removes exactly that effect. Probabilities on one
knob combine as independent causes, 1 − Π(1 − pᵢ); counts are incremented and decremented;
"the strictest wins" knobs (a rate limit, a key TTL) take the minimum of the active values.
Injectors get the window's end (``end_s``) for faults that act once for a duration (a stall, a
failover pause).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Callable, Generator

import simpy

from sim.config.distributions import make_sampler
from sim.config import fault_specs as specs
from sim.kernel.scheduling import call_after

if TYPE_CHECKING:
    from sim.world import World

Undo = Callable[[], None]
Injector = Callable[["World", object, random.Random, float], Undo]


def _nothing() -> None:
    return None


def _stacked(world: "World", label: str, value, recompute: Callable[[list], None]) -> Undo:
    """Push ``value`` on the stack ``label`` and recompute the knob; undo pops it."""
    stack = world.fault_stacks.setdefault(label, [])
    stack.append(value)
    recompute(stack)

    def undo() -> None:
        stack.remove(value)
        recompute(stack)

    return undo


def _add_probability(world: "World", label: str, obj: object, name: str, probability: float) -> Undo:
    """Combine active faults' independent probabilities on ``obj.name``: 1 - (1 - p1)(1 - p2)...
    ``label`` names the knob in ``world.fault_stacks`` (one stack per knob)."""

    def recompute(stack: list) -> None:
        keep = 1.0
        for p in stack:
            keep *= 1.0 - p
        setattr(obj, name, 1.0 - keep)

    return _stacked(world, label, probability, recompute)


def _add_count(obj: object, name: str) -> Undo:
    setattr(obj, name, getattr(obj, name) + 1)
    return lambda: setattr(obj, name, getattr(obj, name) - 1)


def _add_sampler(samplers: list, sampler) -> Undo:
    samplers.append(sampler)
    return lambda: samplers.remove(sampler)


# -- the PSP -------------------------------------------------------------------------------------


def reply_lost(world: "World", fault: specs.PspReplyLostAfterCommit, rng: random.Random, end_s: float) -> Undo:
    psp = world.psp_named(fault.target)
    return _add_probability(world, f"{fault.target}.reply_lost", psp.faults, "reply_lost_probability", fault.probability)


def no_reply(world: "World", fault: specs.PspNoReply, rng: random.Random, end_s: float) -> Undo:
    psp = world.psp_named(fault.target)
    return _add_probability(world, f"{fault.target}.no_reply", psp.faults, "no_reply_probability", fault.probability)


def psp_errors(world: "World", fault: specs.PspErrors, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults
    if fault.status == 503:
        return _add_probability(world, f"{fault.target}.partial_outage", faults, "partial_outage_fraction", fault.probability)
    return _add_probability(world, f"{fault.target}.errors", faults, "error_probability", fault.probability)


def psp_outage(world: "World", fault: specs.PspOutage, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults
    if fault.fraction >= 1.0:
        return _add_count(faults, "outage")
    return _add_probability(world, f"{fault.target}.partial_outage", faults, "partial_outage_fraction", fault.fraction)


def psp_latency(world: "World", fault: specs.PspLatency, rng: random.Random, end_s: float) -> Undo:
    return _add_sampler(world.psp_named(fault.target).faults.extra_latency, make_sampler(fault.added, rng))


def psp_rate_limit(world: "World", fault: specs.PspRateLimit, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults

    def recompute(stack: list) -> None:
        if not stack:
            faults.rate_limit_per_s = None
            faults.rate_limit_burst = None
            return
        strictest = min(stack, key=lambda f: f.rate_per_s)
        faults.rate_limit_per_s = strictest.rate_per_s
        faults.rate_limit_burst = float(strictest.burst) if strictest.burst is not None else None
        faults.retry_after_s = strictest.retry_after_s

    return _stacked(world, f"{fault.target}.rate_limit", fault, recompute)


def psp_pending_storm(world: "World", fault: specs.PspPendingStorm, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults
    return _add_probability(world, f"{fault.target}.pending", faults, "pending_probability", fault.probability)


def psp_key_expiry(world: "World", fault: specs.PspKeyExpiry, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults

    def recompute(stack: list) -> None:
        faults.key_ttl_s = min(stack) if stack else None

    return _stacked(world, f"{fault.target}.key_ttl", fault.ttl_s, recompute)


def psp_clock_skew(world: "World", fault: specs.PspClockSkew, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults

    def recompute(stack: list) -> None:
        faults.clock_skew_s = float(sum(stack))

    return _stacked(world, f"{fault.target}.clock_skew", fault.skew_s, recompute)


# -- webhooks ------------------------------------------------------------------------------------


def webhook_delay(world: "World", fault: specs.WebhookDelay, rng: random.Random, end_s: float) -> Undo:
    return _add_sampler(world.psp_named(fault.target).faults.webhook_delay_extra, make_sampler(fault.added, rng))


def webhook_duplicate(world: "World", fault: specs.WebhookDuplicate, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults
    return _add_probability(
        world, f"{fault.target}.webhook_duplicate", faults, "webhook_duplicate_probability", fault.probability
    )


def webhook_loss(world: "World", fault: specs.WebhookLoss, rng: random.Random, end_s: float) -> Undo:
    faults = world.psp_named(fault.target).faults
    return _add_probability(world, f"{fault.target}.webhook_loss", faults, "webhook_loss_probability", fault.probability)


def webhook_reorder(world: "World", fault: specs.WebhookReorder, rng: random.Random, end_s: float) -> Undo:
    """Wrap the PSP's webhook sink: deliveries are held ``hold`` seconds, then released shuffled."""
    psp, env = world.psp_named(fault.target), world.env
    sink = psp.webhook_sink
    held: list[tuple[int, int]] = []
    counters = world.metrics.counters

    def release(_event: object = None) -> None:
        batch = held[:]
        held.clear()
        order = list(range(len(batch)))
        rng.shuffle(order)
        counters["faults.webhook_reorder.reordered"] += sum(1 for i, j in enumerate(order) if i != j)
        for j in order:
            if sink is not None:
                sink(*batch[j])

    def hold(order_id: int, code: int) -> None:
        if not held:
            call_after(env, fault.hold_s, release)
        held.append((order_id, code))

    psp.webhook_sink = hold

    def undo() -> None:
        psp.webhook_sink = sink
        release()

    return undo


# -- banks ---------------------------------------------------------------------------------------


def _bank_surge(world: "World", target: str, slot: int, probability: float, label: str) -> Undo:
    banks = world.banks
    if target == "banks":
        name = "decline_surge_probability" if slot == 0 else "error_surge_probability"
        return _add_probability(world, f"banks.{label}", banks, name, probability)
    index = int(target.removeprefix("bank-"))
    if banks.bank_surges is None:
        banks.bank_surges = [[0.0, 0.0] for _ in range(banks.cfg.count)]
    return _add_probability(world, f"{target}.{label}", _Slot(banks.bank_surges[index], slot), "value", probability)


class _Slot:
    """``value`` is one cell of a list (lets ``_add_probability`` set a per-bank probability)."""

    __slots__ = ("cells", "index")

    def __init__(self, cells: list[float], index: int) -> None:
        self.cells = cells
        self.index = index

    @property
    def value(self) -> float:
        return self.cells[self.index]

    @value.setter
    def value(self, v: float) -> None:
        self.cells[self.index] = v


def issuer_decline_surge(world: "World", fault: specs.IssuerDeclineSurge, rng: random.Random, end_s: float) -> Undo:
    return _bank_surge(world, fault.target, 0, fault.probability, "decline_surge")


def bank_errors(world: "World", fault: specs.BankErrors, rng: random.Random, end_s: float) -> Undo:
    return _bank_surge(world, fault.target, 1, fault.probability, "errors")


# -- Kafka and services --------------------------------------------------------------------------


def consumer_crash(world: "World", fault: specs.ConsumerCrash, rng: random.Random, end_s: float) -> Undo:
    group = world.consumer_groups[fault.target]
    instance = fault.instance
    group.crash(instance)
    return lambda: group.restart(instance)


def consumer_stall(world: "World", fault: specs.ConsumerStall, rng: random.Random, end_s: float) -> Undo:
    world.consumer_groups[fault.target].stall(fault.instance, end_s - world.env.now)
    return _nothing


def consumer_zombie(world: "World", fault: specs.ConsumerZombie, rng: random.Random, end_s: float) -> Undo:
    group = world.consumer_groups[fault.target]
    if fault.target.startswith("executor"):  # the executor's groups: their handler has a pause point
        world.executor.pause_in(group)
    group.stall(fault.instance, end_s - world.env.now, in_handler=True)
    return _nothing


def broker_outage(world: "World", fault: specs.BrokerOutage, rng: random.Random, end_s: float) -> Undo:
    topics = list(world.topics.values()) if fault.target == "kafka" else [world.topics[fault.target]]
    stacks = world.fault_stacks

    def recompute(_stack: list) -> None:
        for topic in topics:
            topic.set_available(not stacks.get(f"broker.{topic.name}"))

    undos = [_stacked(world, f"broker.{topic.name}", fault, recompute) for topic in topics]

    def undo_all() -> None:
        for undo in undos:
            undo()

    return undo_all


def producer_duplicates(world: "World", fault: specs.ProducerDuplicates, rng: random.Random, end_s: float) -> Undo:
    producer = world.producers[fault.target]
    return _add_probability(
        world, f"producer.{fault.target}.duplicates", producer, "duplicate_probability", fault.probability
    )


POISON = b"\x00\xffnot-a-payment-order"
"""The body of a poison pill: no handler can parse it."""


def _while_active(world: "World", rate_per_s: float, rng: random.Random, act: Callable[[], None]) -> Undo:
    """Call ``act`` at Poisson times of rate ``rate_per_s`` until undone."""
    env = world.env
    state = {"on": True}

    def loop() -> Generator[simpy.Event, None, None]:
        while True:
            yield env.timeout(rng.expovariate(rate_per_s))
            if not state["on"]:
                return
            act()

    env.process(loop())

    def undo() -> None:
        state["on"] = False

    return undo


def poison_pill(world: "World", fault: specs.PoisonPill, rng: random.Random, end_s: float) -> Undo:
    topic, counters = world.topics[fault.target], world.metrics.counters

    def publish() -> None:
        if topic.publish(rng.getrandbits(31), POISON) is not None:
            counters["faults.poison_pill.published"] += 1

    return _while_active(world, fault.rate_per_s, rng, publish)


def db_failover(world: "World", fault: specs.DbFailover, rng: random.Random, end_s: float) -> Undo:
    db, now = world.database, world.env.now
    assert db is not None
    # the design's failover takes failover_pause, whatever the fault window (which only marks it)
    db.unavailable_until = max(db.unavailable_until, now + world.model.payment_service.database.failover_pause_s)
    if fault.replication_lag_s > 0:
        lost = db.lose_recent_writes(world.orders, world.checkouts, now - fault.replication_lag_s, now)
        world.metrics.counters["db.lost_writes"] += len(lost)
    world.metrics.counters["db.failovers"] += 1
    return _nothing


def service_outage(world: "World", fault: specs.ServiceOutage, rng: random.Random, end_s: float) -> Undo:
    if fault.target == "risk":
        return _add_count(world.risk, "down")
    if fault.target == "payout_provider":
        return _add_count(world.payout_provider, "outage")
    service = world.payment_service
    return _stacked(world, "payment_service.down", fault, lambda stack: setattr(service, "available", not stack))


def network_partition(world: "World", fault: specs.NetworkPartition, rng: random.Random, end_s: float) -> Undo:
    a, b = sorted(fault.target.split("~"))
    link = f"{a}~{b}"
    executor = world.executor
    if link in ("executor~psp", "executor~secondary_psp"):
        index = 0 if link == "executor~psp" else 1
        executor.cut[index] += 1
        executor.cut_links += 1

        def undo() -> None:
            executor.cut[index] -= 1
            executor.cut_links -= 1

        return undo
    if link in ("payment_service~psp", "payment_service~secondary_psp"):
        name = "psp" if link == "payment_service~psp" else "secondary_psp"
        faults = world.psp_named(name).faults
        return _add_probability(world, f"{name}.webhook_loss", faults, "webhook_loss_probability", 1.0)
    if link == "payment_service~risk":
        return _add_count(world.risk, "down")
    if link == "psp~scheme":
        return _add_probability(world, "banks.errors", world.banks, "error_surge_probability", 1.0)
    raise ValueError(f"unknown link {fault.target!r}")  # targets.py rejects it at load time


def forged_redirect(world: "World", fault: specs.ForgedRedirect, rng: random.Random, end_s: float) -> Undo:
    """A buyer claims "paid" for the newest order that is not paid yet."""
    orders, service, counters = world.orders, world.payment_service, world.metrics.counters

    def forge() -> None:
        newest = len(orders) - 1
        if newest >= 0 and newest in orders.in_flight:
            counters["faults.forged_redirect.sent"] += 1
            service.on_redirect(newest, True)

    return _while_active(world, fault.rate_per_s, rng, forge)


def dlq_replay(world: "World", fault: specs.DlqReplay, rng: random.Random, end_s: float) -> Undo:
    replayed = world.executor.replay(world.dlq.take_all())
    world.metrics.counters["faults.dlq_replay.orders"] += replayed
    return _nothing


def _stations_named(world: "World", target: str) -> list:
    if target == "banks":
        return list(world.banks.stations)
    return [world.stations[target]]


def capacity_loss(world: "World", fault: specs.CapacityLoss, rng: random.Random, end_s: float) -> Undo:
    """Each targeted station loses round(fraction × servers) servers (one always stays)."""
    lost = []
    for station in _stations_named(world, fault.target):
        count = min(int(station.servers) - 1, round(fault.fraction * station.servers))
        if count > 0:
            station.lose_servers(count)
            lost.append((station, count))
    world.metrics.counters[f"capacity_loss.{fault.target}"] += 1

    def undo() -> None:
        for station, count in lost:
            station.restore_servers(count)

    return undo


def slowdown(world: "World", fault: specs.Slowdown, rng: random.Random, end_s: float) -> Undo:
    """Work in service at the targeted stations runs ``factor`` times slower until ``end_s``
    (``Station.stretched_s``; stacked slowdowns multiply while both are on)."""
    targets = _stations_named(world, fault.target)
    if fault.target == "scheme" or fault.target.startswith("bank"):
        world.banks.direct = False  # the trip to the issuer is no longer one unqueued wait

    def recompute(stack: list) -> None:
        for station in targets:
            station.slow_down(stack)

    return _stacked(world, f"slowdown.{fault.target}", (end_s, fault.factor), recompute)


INJECTORS: dict[str, Injector] = {
    "psp_reply_lost_after_commit": reply_lost,
    "psp_no_reply": no_reply,
    "psp_errors": psp_errors,
    "psp_outage": psp_outage,
    "psp_latency": psp_latency,
    "psp_rate_limit": psp_rate_limit,
    "psp_pending_storm": psp_pending_storm,
    "psp_key_expiry": psp_key_expiry,
    "psp_clock_skew": psp_clock_skew,
    "webhook_delay": webhook_delay,
    "webhook_duplicate": webhook_duplicate,
    "webhook_loss": webhook_loss,
    "webhook_reorder": webhook_reorder,
    "issuer_decline_surge": issuer_decline_surge,
    "bank_errors": bank_errors,
    "consumer_crash": consumer_crash,
    "consumer_stall": consumer_stall,
    "consumer_zombie": consumer_zombie,
    "broker_outage": broker_outage,
    "producer_duplicates": producer_duplicates,
    "poison_pill": poison_pill,
    "db_failover": db_failover,
    "service_outage": service_outage,
    "network_partition": network_partition,
    "forged_redirect": forged_redirect,
    "capacity_loss": capacity_loss,
    "slowdown": slowdown,
    "dlq_replay": dlq_replay,
}
