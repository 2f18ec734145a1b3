"""The system graph of a model: which component calls or feeds which, synchronously or not.

Built from the model configuration by a list of small *contributors*, each adding one part of the
design (the services, the hand-off to the executor, the charge path, success events, ...). A new
part of the design (retry topics, a secondary PSP) is one more contributor appended to
``CONTRIBUTORS``. The graph is then checked: the checkout reaches the issuing bank, every topic has
a producer and a consumer group, no cycle of synchronous calls, every referenced component exists,
every declared topic is one the design uses.

The check that runs while a scenario loads builds a :class:`~sim.config.light_graph.LightGraph`
(no networkx import before the first simulation); :func:`build_graph`, for the picture and
``paychaos graph``, a ``networkx.DiGraph``. The contributors and the checks work on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Union

from sim.config.light_graph import LightGraph, has_cycle, reachable
from sim.config.messages import did_you_mean
from sim.config import topics as retry_topics
from sim.config.model import SystemModel, TopicConfig
from sim.config.topics import ORDERS_TOPIC, SUCCESS_TOPIC
from sim.units import format_duration

if TYPE_CHECKING:
    import networkx as nx

Graph = Union["nx.DiGraph", LightGraph]
"""What the contributors add to: a ``networkx.DiGraph`` or a :class:`LightGraph`."""

SYNC, ASYNC = "sync", "async"
COMMIT_DETAIL = {"after": "at-least-once", "before": "at-most-once"}
"""The executor's delivery, by when it commits its offset: after processing or (a flaw) before."""
KNOWN_TOPICS = {ORDERS_TOPIC, SUCCESS_TOPIC}
"""Topic names some design uses; a declared topic outside this set is a misspelling."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the graph; ``loc`` is the key path in the model file, if any."""

    message: str
    hint: str | None = None
    loc: tuple = ()


def add_component(g: Graph, name: str, label: str, *, kind: str, at: tuple[float, float],
                  instances: int | None = None, detail: str = "", loc: tuple = ()) -> None:
    """A service, store or external party; ``at`` = (column, row) in the picture, flow left to right,
    the main payment path on row 0. ``loc`` is its key path in the model file."""
    g.add_node(name, label=label, kind=kind, at=at, instances=instances, detail=detail, loc=loc)


def add_topic(g: Graph, model: SystemModel, name: str, at: tuple[float, float]) -> None:
    """A Kafka topic, with its partition count from the model (default when not declared)."""
    partitions = model.kafka.topics.get(name, TopicConfig()).partitions
    g.add_node(f"topic:{name}", label=name, kind="topic", at=at, instances=None,
               detail=f"{partitions} partitions", loc=("kafka", "topics", name), topic=name)


def link(g: Graph, source: str, target: str, mode: str, label: str = "", group: str | None = None) -> None:
    """An edge: a synchronous call or an asynchronous hand-off (``group`` = consumer group)."""
    for end in (source, target):
        if end not in g:
            _problems(g).append(Problem(
                f"{source} → {target} ({label or mode}) refers to {end!r}, which is not a component of this model",
                did_you_mean(end, set(g)),
            ))
    if source in g and target in g:
        g.add_edge(source, target, mode=mode, label=label, group=group)


def _problems(g: Graph) -> list[Problem]:
    return g.graph.setdefault("problems", [])


# --- contributors: each adds one part of the design -------------------------------------------

def _services(model: SystemModel, g: Graph) -> None:
    ps, ex = model.payment_service, model.executor
    add_component(g, "checkout", "checkout clients", kind="client", at=(0, 0),
                  detail=f"timeout {_s(model.client.timeout_s)}", loc=("client",))
    add_component(g, "payment_service", "payment service", kind="service", at=(1, 0), instances=ps.instances,
                  loc=("payment_service",))
    add_component(g, "risk", "risk check", kind="service", at=(1, 1.3), detail=_risk_detail(ps.risk),
                  loc=("payment_service", "risk"))
    add_component(g, "database", "payments DB", kind="store", at=(2, 1.3), loc=("payment_service", "database"))
    add_component(g, "executor", "payment executor", kind="service", at=(3, 0), instances=ex.instances,
                  detail=f"{ex.threads} threads" if model.wiring == SYNC else COMMIT_DETAIL[ex.commit],
                  loc=("executor",))
    link(g, "checkout", "payment_service", SYNC, "checkout")
    link(g, "payment_service", "risk", SYNC, "risk check")
    link(g, "payment_service", "database", SYNC, "persist")
    link(g, "executor", "database", SYNC, "order state")


def _order_handoff(model: SystemModel, g: Graph) -> None:
    if model.wiring == ASYNC:
        add_topic(g, model, ORDERS_TOPIC, at=(2, 0))
        link(g, "payment_service", f"topic:{ORDERS_TOPIC}", ASYNC, "publish order")
        link(g, f"topic:{ORDERS_TOPIC}", "executor", ASYNC, "consume", group="executor")
    else:
        link(g, "payment_service", "executor", SYNC, "execute (HTTP)")


def _charge_path(model: SystemModel, g: Graph) -> None:
    psp = model.psp
    add_component(g, "psp", "PSP", kind="external", at=(4, 0),
                  detail=f"key TTL {_s(psp.idempotency_ttl_s)}" if psp.idempotency else "no idempotency",
                  loc=("psp",))
    add_component(g, "scheme", "card scheme", kind="external", at=(5, 0), loc=("scheme",))
    add_component(g, "bank", "issuing banks", kind="external", at=(6, 0), instances=model.banks.count, loc=("banks",))
    link(g, "executor", "psp", SYNC, f"charge, timeout {_s(model.executor.psp_timeout_s)}")
    link(g, "psp", "scheme", SYNC, "authorise")
    link(g, "scheme", "bank", SYNC, "authorise")
    link(g, "psp", "payment_service", ASYNC, "webhook")


def _success_events(model: SystemModel, g: Graph) -> None:
    add_topic(g, model, SUCCESS_TOPIC, at=(2, -1.8))
    add_component(g, "wallet", "wallet", kind="service", at=(3, -1.4), instances=model.wallet.instances,
                  detail="dedupe" if model.wallet.dedupe else "NO dedupe", loc=("wallet",))
    add_component(g, "ledger", "ledger", kind="service", at=(3, -2.4), instances=model.ledger.instances,
                  detail="dedupe" if model.ledger.dedupe else "NO dedupe", loc=("ledger",))
    link(g, "payment_service", f"topic:{SUCCESS_TOPIC}", ASYNC, "payment succeeded")
    link(g, f"topic:{SUCCESS_TOPIC}", "wallet", ASYNC, "consume", group="wallet")
    link(g, f"topic:{SUCCESS_TOPIC}", "ledger", ASYNC, "consume", group="ledger")


def _operations(model: SystemModel, g: Graph) -> None:
    add_component(g, "dlq", "dead-letter queue", kind="store", at=(5, -1.0), loc=())
    link(g, "executor", "dlq", ASYNC, "dead letter")
    add_component(g, "monitor", "in-flight monitor", kind="service", at=(3, 1.3),
                  detail=f"every {_s(model.monitor.interval_s)}", loc=("monitor",))
    link(g, "monitor", "database", SYNC, "stuck orders")
    if model.monitor.query_psp:
        link(g, "monitor", "psp", SYNC, "status query")
    if model.reconciliation.enabled:
        add_component(g, "reconciliation", "reconciliation", kind="service", at=(4, -1.9), loc=("reconciliation",))
        link(g, "psp", "reconciliation", ASYNC, "settlement file")
        link(g, "reconciliation", "ledger", SYNC, "compare")
        link(g, "reconciliation", "wallet", SYNC, "compare")


def _retry_topics(model: SystemModel, g: Graph) -> None:
    """Uber-style ladder: payment-orders → retry-1 → retry-2 → … → DLQ, each with its own group."""
    ladder = model.executor.retry_topics
    if not ladder.enabled:
        return
    previous = "executor"
    for stage, delay_s in enumerate(ladder.delays_s, start=1):
        name = retry_topics.topic_name(ORDERS_TOPIC, stage)
        g.add_node(f"topic:{name}", label=name, kind="topic", at=(5.3, 0.3 + 0.75 * stage), instances=None,
                   detail=f"delay {_s(delay_s)}, {ladder.partitions} partitions",
                   loc=("executor", "retry_topics"), topic=name)
        link(g, previous, f"topic:{name}", ASYNC, "retry later")
        link(g, f"topic:{name}", "executor", ASYNC, "consume when due", group=retry_topics.group_name(stage))
        previous = "executor"


def _secondary_psp(model: SystemModel, g: Graph) -> None:
    secondary = model.secondary_psp
    if secondary is None:
        return
    add_component(g, "secondary_psp", "secondary PSP", kind="external", at=(5, 0.9),
                  detail="fails over after timeouts (unsafe)" if secondary.fallback_after_timeout else "fallback",
                  loc=("secondary_psp",))
    link(g, "executor", "secondary_psp", SYNC, "fallback charge")
    link(g, "secondary_psp", "scheme", SYNC, "authorise")
    link(g, "secondary_psp", "payment_service", ASYNC, "webhook")


Contributor = Callable[[SystemModel, Graph], None]
CONTRIBUTORS: list[Contributor] = [
    _services, _order_handoff, _charge_path, _success_events, _operations, _retry_topics, _secondary_psp,
]
"""Parts of the design, in order; append one to add a component, topic or link to every graph."""


def build_graph(model: SystemModel) -> "nx.DiGraph":
    """The system graph of ``model``; problems found while building are in ``g.graph['problems']``."""
    import networkx as nx

    return _built(model, nx.DiGraph(name=model.name, wiring=model.wiring))


def _built(model: SystemModel, g: Graph) -> Graph:
    _problems(g)
    for contribute in CONTRIBUTORS:
        contribute(model, g)
    return g


def graph_problems(model: SystemModel, g: Graph | None = None) -> list[Problem]:
    """Everything wrong with the design's graph (empty when it is sound); ``g`` defaults to the
    model's graph built as a :class:`LightGraph`."""
    g = g if g is not None else _built(model, LightGraph(name=model.name, wiring=model.wiring))
    problems = list(_problems(g))
    if "checkout" in g and "bank" in g and not reachable(g.edges(), "checkout", "bank"):
        problems.append(Problem("the checkout cannot reach the issuing bank: no path of calls or messages"))
    for node, attrs in g.nodes(data=True):
        if attrs.get("kind") != "topic":
            continue
        if g.in_degree(node) == 0:
            problems.append(Problem(f"topic {attrs['label']!r} has no producer", loc=attrs["loc"]))
        if not any(data.get("group") for _, _, data in g.out_edges(node, data=True)):
            problems.append(Problem(f"topic {attrs['label']!r} has no consumer group", loc=attrs["loc"]))
    sync_calls = [(u, v) for u, v, mode in g.edges(data="mode") if mode == SYNC]
    if has_cycle(sync_calls):
        cycle = _a_cycle(sync_calls)
        path = " → ".join([u for u, _ in cycle] + [cycle[0][0]])
        problems.append(Problem(f"synchronous calls form a cycle ({path}): a request can wait on itself",
                                "make one of these links asynchronous"))
    used = {attrs["topic"] for _, attrs in g.nodes(data=True) if attrs.get("kind") == "topic"}
    for name in sorted(model.kafka.topics):
        if name not in used and name not in KNOWN_TOPICS:
            problems.append(Problem(
                f"topic {name!r} is declared but no component of this design uses it",
                did_you_mean(name, KNOWN_TOPICS) or f"topics this design uses: {', '.join(sorted(used))}",
                loc=("kafka", "topics", name),
            ))
    return problems


def _a_cycle(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The cycle networkx finds first among ``edges`` (only for a broken design, so the message
    names the same cycle as it always did)."""
    import networkx as nx

    return nx.find_cycle(nx.DiGraph(edges))


def _risk_detail(risk) -> str:
    timeout = "no timeout" if risk.timeout_s is None else f"timeout {_s(risk.timeout_s)}"
    return timeout + (f", {risk.servers} servers" if risk.servers else "")


def _s(seconds: float) -> str:
    return format_duration(seconds)
