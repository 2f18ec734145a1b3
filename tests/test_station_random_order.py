"""Random order of service in a station (``discipline: random``, sim/components/stations.py):
a free server takes a uniformly random waiting request, drawn from the station's named stream."""

from __future__ import annotations

import random

import pytest

from sim.components.scheduling import call_after
from sim.components.stations import QUEUED, STARTED, DelayStation, SlotStation
from sim.config.capacity import HarnessQueueConfig
from sim.engine import Engine
from sim.rng import Streams


def _order_of_service(discipline: str, rng: random.Random | None, waiting: int = 5) -> list[tuple[str, float]]:
    """One server; job "a" starts at t = 0, then ``waiting`` more queue at t = 0; each holds the
    server 1 s. Returns (job, start time) in the order they started."""
    env = Engine()
    station = SlotStation(env, "s", 1, HarnessQueueConfig(discipline=discipline), rng=rng)
    started: list[tuple[str, float]] = []

    def start(job):
        started.append((job, env.now))
        call_after(env, 1.0, lambda _e: station.release(1.0))

    names = [chr(ord("a") + i) for i in range(waiting + 1)]
    outcomes = [station.acquire(name, start) for name in names]
    assert outcomes == [STARTED] + [QUEUED] * waiting
    start("a")
    env.run()
    return started


def test_random_order_exact_timeline():
    """Each free server takes the waiting request at a uniform index of the queue (arrival order),
    drawn from the given stream: replayed here with the same draws."""
    started = _order_of_service("random", Streams(7).stream("order"))
    replay = Streams(7).stream("order")
    waiting = ["b", "c", "d", "e", "f"]
    expected = [("a", 0.0)]
    for t in range(1, 6):
        expected.append((waiting.pop(replay.randrange(len(waiting))), float(t)))
    assert started == expected
    assert started != [(name, float(t)) for t, name in enumerate("abcdef")]  # not FIFO at this seed


def test_random_order_is_uniform():
    """Over many seeds, each of 3 waiting requests is served first about a third of the time."""
    firsts = {"b": 0, "c": 0, "d": 0}
    trials = 3000
    for seed in range(trials):
        firsts[_order_of_service("random", random.Random(seed), waiting=3)[1][0]] += 1
    for count in firsts.values():
        assert abs(count / trials - 1 / 3) < 0.04, firsts  # ~4.7 standard errors


def test_fifo_and_lifo_ignore_a_stream():
    rng = Streams(7).stream("order")
    assert [job for job, _ in _order_of_service("fifo", rng)] == list("abcdef")
    assert [job for job, _ in _order_of_service("lifo", rng)] == list("afedcb")
    assert rng.random() == Streams(7).stream("order").random()  # nothing drawn


def test_random_order_needs_a_stream():
    with pytest.raises(ValueError, match="random stream"):
        SlotStation(Engine(), "s", 1, HarnessQueueConfig(discipline="random"))
    with pytest.raises(ValueError, match="random stream"):
        DelayStation(Engine(), "s", 1, HarnessQueueConfig(discipline="random"))


def test_delay_station_serves_in_random_order_through_its_slots():
    env = Engine()
    station = DelayStation(env, "s", 1, HarnessQueueConfig(discipline="random"), rng=Streams(3).stream("order"))
    done: list[tuple[int, float]] = []
    for i in range(4):
        station.serve(1.0, lambda _e, i=i: done.append((i, env.now)))
    env.run()
    assert sorted(t for _, t in done) == [1.0, 2.0, 3.0, 4.0]
    assert done[0][0] == 0  # the first request found the server free
    replay = Streams(3).stream("order")
    waiting = [1, 2, 3]
    assert [i for i, _ in done[1:]] == [waiting.pop(replay.randrange(len(waiting))) for _ in range(3)]


def test_a_model_service_takes_fifo_or_lifo_only():
    """Random order needs a stream the model's services are not given: only harnesses use it."""
    from sim.config.model import PspConfig
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="'fifo' or 'lifo'"):
        PspConfig.model_validate({"queue": {"discipline": "random"}})
    assert PspConfig.model_validate({"queue": {"discipline": "lifo"}}).queue.discipline == "lifo"
