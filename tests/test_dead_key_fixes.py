"""What once were dead keys (issue 16, item 8), each now doing what an architect expects: the PSP
retries an issuer's decline under ``bank_retry.retry_non_retryable``; the payment service retries a
fraud rejection under ``risk.retry.retry_non_retryable``; the buyer retries a decline under
``client.retry.retry_non_retryable`` and waits a 429's Retry-After under ``honour_retry_after``; the
card scheme, the banks and the sync executor's threads drop work whose caller's deadline passed
(``drop_expired``); and the keys of mechanisms a caller never meets are refused at load."""

from __future__ import annotations

from typing import Generator

import pytest
import simpy
from helpers import MODELS, scenario
from test_psp import World as PspWorld

from sim.components.checkout import CheckoutClients
from sim.components.payment_service import Response
from sim.components.psp import ReplyCode
from sim.components.risk import APPROVE, REJECT, UNAVAILABLE, RiskService
from sim.errors import ConfigError
from sim.config.loader import load_model
from sim.config.model import ClientConfig, RiskConfig
from sim.config.scenario import Workload
from sim.domain.population import generate_population
from sim.kernel.engine import Engine
from sim.observe.metrics import Metrics
from sim.rng import Streams
from sim.runners.run import simulate

FIXED3 = {"strategy": "fixed", "max_attempts": 3, "base": "1s"}


# -- the PSP's bank retries ---------------------------------------------------------------------


@pytest.mark.parametrize("flaw", [False, True])
def test_the_psp_retries_a_decline_only_with_the_flaw(flaw):
    w = PspWorld(psp={"bank_retry": {**FIXED3, "retry_non_retryable": flaw}}, banks={"decline_limit_probability": 1.0})
    w.charge(0.0)
    w.run()
    assert [code for _t, code in w.log] == [ReplyCode.DECLINED_LIMIT]
    assert w.counters["banks.authorisations"] == (3 if flaw else 1)
    assert w.counters["psp.declines_retried"] == (2 if flaw else 0)


def test_a_retried_decline_can_be_approved_which_is_why_schemes_fine_it():
    w = PspWorld(psp={"bank_retry": {**FIXED3, "retry_non_retryable": True}}, banks={"decline_limit_probability": 1.0})
    w.at(0.5, lambda: setattr(w.banks, "cfg", w.banks.cfg.model_copy(update={"decline_limit_probability": 0.0})))
    w.charge(0.0)
    w.run()
    assert [code for _t, code in w.log] == [ReplyCode.APPROVED]
    assert w.truth.capture_count == 1


# -- the risk check's retries -------------------------------------------------------------------


def _risk(flaw: bool, reject_probability: float) -> tuple[simpy.Environment, RiskService]:
    env = simpy.Environment()
    cfg = RiskConfig(latency="10ms", servers=None, reject_probability=reject_probability,
                     retry={**FIXED3, "retry_non_retryable": flaw})
    return env, RiskService(env, cfg, Streams(1), Metrics())


@pytest.mark.parametrize("flaw", [False, True])
def test_the_payment_service_retries_a_fraud_rejection_only_with_the_flaw(flaw):
    env, service = _risk(flaw, 1.0)
    decisions = []
    env.process((lambda: (decisions.append((yield from service.check(100)))))())
    env.run()
    assert decisions == [REJECT]
    assert service.metrics.counters["risk.rejected"] == (3 if flaw else 1)
    assert service.metrics.counters["risk.rejects_retried"] == (2 if flaw else 0)


def test_a_retried_fraud_rejection_lets_payments_through():
    decisions = {}
    for flaw in (False, True):
        env, service = _risk(flaw, 0.5)
        results = []

        def buyers() -> Generator:
            for _ in range(200):
                results.append((yield from service.check(100)))

        env.process(buyers())
        env.run()
        decisions[flaw] = results.count(APPROVE)
    assert decisions[False] < 130 < 170 < decisions[True]  # about 50 % versus 1 - 0.5³ = 87.5 %


# -- the buyer ----------------------------------------------------------------------------------


class _Service:
    """A payment service that answers each request from a script, and logs when requests arrive."""

    def __init__(self, env: simpy.Environment, answers: list[Response], retry_after_s: float) -> None:
        self.env = env
        self.answers = answers
        self.retry_after_s = retry_after_s
        self.calls: list[float] = []

    def handle_checkout(self, key, buyer, token, lines, deadline_s=0.0) -> Generator:
        self.calls.append(self.env.now)
        yield self.env.timeout(0.1)
        return self.answers.pop(0) if self.answers else Response.ACCEPTED


def _client(retry: dict, answers: list[Response], retry_after_s: float = 0.0) -> _Service:
    env = Engine()
    streams = Streams(1)
    population = generate_population(streams.stream("population"), 10, 2, 1, ("EUR",))
    service = _Service(env, answers, retry_after_s)
    cfg = ClientConfig(retry=retry, double_click_probability=0.0)
    clients = CheckoutClients(env, Workload(rate="1/s", max_checkouts=1, buyers=10, sellers=2), cfg, population,
                              service, streams, Metrics(), until_s=100.0)  # type: ignore[arg-type]
    clients.start()
    env.run(until=200.0)
    return service


@pytest.mark.parametrize("honour", [False, True])
def test_the_buyer_waits_a_429s_retry_after_when_the_policy_honours_it(honour):
    service = _client({**FIXED3, "honour_retry_after": honour}, [Response.THROTTLED], retry_after_s=5.0)
    first, second = service.calls
    assert second - first == pytest.approx(0.1 + (5.0 if honour else 1.0))


@pytest.mark.parametrize("flaw", [False, True])
def test_the_buyer_retries_a_decline_only_with_the_flaw(flaw):
    service = _client({**FIXED3, "retry_non_retryable": flaw}, [Response.REJECTED, Response.FAILED])
    assert len(service.calls) == (3 if flaw else 1)


def test_the_payment_service_answers_429_with_its_retry_after_when_it_sheds(tmp_path):
    overrides = {"payment_service.shedding": {"enabled": True, "max_in_flight": 1}, "payment_service.retry_after": "4s"}
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="30s", overrides=overrides,
                      workload={"rate": "20/s"})
    world, _verdicts, _recon = simulate(loaded)
    counters = world.metrics.counters
    assert counters["payment_service.shed"] > 0
    assert 0.9 * counters["payment_service.shed"] < counters["client.throttled"] <= counters["payment_service.shed"]
    # (the rest: double clicks, whose answers nobody reads)
    assert counters["client.unavailable"] == 0


# -- deadlines passed down ----------------------------------------------------------------------


def _dropped(tmp_path, overrides: dict, faults: list, station) -> tuple[int, int]:
    """Requests the stations (``station(world)``, a list) dropped and served after their caller's
    deadline, without and with drop_expired."""
    counts = []
    for drop in (False, True):
        loaded = scenario(tmp_path, "async-kafka.yaml", seed=2, duration="60s", drain="60s", faults=faults,
                          overrides={**overrides, **{k: {**v, "drop_expired": drop} for k, v in overrides.items()
                                                     if k.endswith(".queue")}}, workload={"rate": "10/s"})
        world, _verdicts, _recon = simulate(loaded)
        stations = station(world)
        counts.append((sum(s.stats.dropped for s in stations), sum(s.stats.wasted for s in stations)))
    return counts


@pytest.mark.parametrize("target", ["scheme", "banks"])
def test_the_scheme_and_the_banks_drop_authorisations_whose_caller_has_left(tmp_path, target):
    overrides = {f"{target}.servers": 1, f"{target}.queue": {"max_queue": 1000}}
    faults = [{"kind": "slowdown", "target": target, "at": "10s", "for": "20s", "factor": 30}]
    station = (lambda w: [w.banks.scheme]) if target == "scheme" else (lambda w: list(w.banks.stations))  # every bank
    (kept, wasted), (dropped, wasted_after) = _dropped(tmp_path, overrides, faults, station)
    assert kept == 0 and wasted > 0  # without: work finished for callers who had left
    assert dropped > 0 and wasted_after < wasted


def test_the_sync_executor_drops_calls_whose_buyer_has_left(tmp_path):
    overrides = {"wiring": "sync", "executor.instances": 1, "executor.threads": 2, "executor.queue": {"max_queue": 1000}}
    faults = [{"kind": "psp_latency", "at": "10s", "for": "20s", "added": "8s"}]
    (kept, _w), (dropped, _w2) = _dropped(tmp_path, overrides, faults, lambda w: [w.payment_service.threads])
    assert kept == 0 and dropped > 0


# -- refused at load ----------------------------------------------------------------------------


@pytest.mark.parametrize("key, value, says", [
    ("psp.bank_retry.honour_retry_after", False, "never answered 429"),
    ("wallet.occ_retry.retry_non_retryable", True, "no definite failure"),
    ("executor.queue.contention", 0.1, "psp.queue"),
    ("payment_service.shedding.max_queue_wait", "1s", "queue.max_queue_wait"),
])
def test_keys_of_mechanisms_a_caller_never_meets_are_refused_with_the_reason(key, value, says):
    with pytest.raises(ConfigError) as error:
        load_model(MODELS / "async-kafka.yaml", {key: value})
    message = str(error.value)
    assert says in message and key.rsplit(".", 1)[0].split(".")[0] in message


# -- LIFO, where it is modelled -----------------------------------------------------------------


def test_a_lifo_risk_check_queues_and_serves_the_newest_check_first():
    """A finite LIFO fraud check is served event by event (no wait is computable at arrival): it
    queues on two servers, and the newest waiting check is served first (it used to be served at
    once, as if the servers were unlimited)."""
    env = simpy.Environment()
    cfg = RiskConfig(latency="1s", servers=2, queue={"discipline": "lifo", "max_queue": 10}, timeout=None,
                     reject_probability=0.0)
    service = RiskService(env, cfg, Streams(1), Metrics())
    done: dict[int, float] = {}

    def check(i: int) -> Generator:
        yield env.timeout(0.1 * i)
        yield from service.check(100)
        done[i] = env.now

    for i in range(5):
        env.process(check(i))
    env.run()
    assert done == pytest.approx({0: 1.0, 1: 1.1, 4: 2.0, 3: 2.1, 2: 3.0})
    assert service.station.stats.waited == 3


def test_a_lifo_risk_check_times_out_and_still_does_the_work():
    env = simpy.Environment()
    cfg = RiskConfig(latency="1s", servers=1, queue={"discipline": "lifo"}, timeout="500ms", reject_probability=0.0,
                     fallback_max_amount_minor=0)
    service = RiskService(env, cfg, Streams(1), Metrics())
    answers = []
    for _ in range(2):
        env.process((lambda: (answers.append((yield from service.check(100)))))())
    env.run()
    assert answers == [UNAVAILABLE, UNAVAILABLE]  # both waited past 500 ms (one in service, one queued)
    assert service.station.stats.served == 2 and service.station.stats.wasted == 2


@pytest.mark.parametrize("key", ["scheme.queue", "banks.queue", "payment_service.database.queue", "wallet.queue"])
def test_lifo_is_refused_where_callers_are_served_in_arrival_order(key):
    with pytest.raises(ConfigError, match="arrival order|in turn"):
        load_model(MODELS / "async-kafka.yaml", {key: {"discipline": "lifo"}})
