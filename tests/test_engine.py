"""The event loop and the light events: same order, same times and same event ids as plain SimPy.

The model's results are only as deterministic as its event order, so :class:`sim.kernel.engine.Engine`
and :mod:`sim.kernel.scheduling` are checked against ``simpy.Environment`` and
``env.timeout`` running the same random programs.
"""

from __future__ import annotations

import heapq
import random

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from sim.kernel.scheduling import (
    Answer, Step, active_process, call_after, fire_now, first_of, resume_with, schedule_step, sleep, succeed_after,
    timeout_calling, until_fired, wake_up,
)
from sim.kernel import queue as native_queue
from sim.kernel.engine import DISTANT_S, NEAR_S, Engine


def _program(env: simpy.Environment, seed: int, light: bool, log: list) -> None:
    """Processes that wait, wake each other and schedule calls, some at equal times (ties are
    where event ids decide the order). ``light`` uses the kernel's light events and helpers, else
    SimPy's own (the same random draws either way)."""
    rng = random.Random(seed)
    wakes: list = []
    procs: dict = {}

    def wait(delay, how):
        if how == "sleep":
            return sleep(env, delay) if light else env.timeout(delay)
        if how == "succeed_after":  # an event that fires later with a value, as a PSP reply
            if not light:
                return env.timeout(delay, ("replied", delay))
            event = until_fired()
            succeed_after(env, event, ("replied", delay), delay)
            return event
        # resume_with: a callback of the wait sets what the process resumes with
        if not light:
            return env.timeout(delay, "set by a callback")
        event = sleep(env, delay)
        event.callbacks.append(lambda e: resume_with(e, "set by a callback"))
        return event

    def worker(name: int):
        for step in range(rng.randint(1, 6)):
            delay = rng.choice([0.0, NEAR_S / 2, 0.5, 1.0, rng.random(), DISTANT_S, DISTANT_S * 1.5])  # all heaps
            how = rng.choice(["sleep", "succeed_after", "resume_with", "first_of"])
            if how == "first_of":  # a reply that may come after the caller's timeout (a PSP call)
                timeout_s = rng.choice([0.0, 0.5, 1.0, delay])  # ties with the reply included
                if light:
                    reply = Answer()
                    succeed_after(env, reply, ("replied", delay), delay)
                    yield first_of(env, reply, timeout_s)
                else:
                    reply = env.timeout(delay, ("replied", delay))
                    yield reply | env.timeout(timeout_s)
                value = ("first_of", reply.processed, reply.value if reply.processed else None)
            else:
                value = yield wait(delay, how)
            log.append((env.now, name, step, value))
            assert (active_process(env) if light else env.active_process) is procs[name]
            if rng.random() < 0.3:
                wake = until_fired() if light else env.event()
                wakes.append((name, wake))
                got = yield wake
                log.append((env.now, name, "woken", got))
            elif wakes and rng.random() < 0.3:  # woken from inside a process: scheduled, not run
                other, wake = wakes.pop(0)
                log.append((env.now, name, "wakes", other))
                wake_up(env, wake) if light else wake.succeed()

    def waker(_event=None):
        log.append((env.now, "waker", len(wakes)))
        assert (active_process(env) if light else env.active_process) is None
        if wakes:
            name, wake = wakes.pop(0)
            by_wake_up = rng.random() < 0.5  # drawn in both modes: the same draws
            if light and by_wake_up:
                wake_up(env, wake)  # from the loop: at once, as fire_now
            else:
                fire_now(wake)  # at once, from a scheduled call: on a SimPy event as on a light one
        if env.now < 20:
            delay = rng.choice([NEAR_S / 2, 0.5, 1.0, rng.random()])
            how = rng.choice(["call_after", "schedule_step", "timeout_calling"])
            if not light:
                env.timeout(delay).callbacks.append(waker)
            elif how == "call_after":
                call_after(env, delay, waker)
            elif how == "schedule_step":
                schedule_step(env, tick, (waker,), delay)
            else:
                timeout_calling(env, delay, waker)

    tick = Step()  # a component's own step object (as the PSP's charges), rescheduled; a subclass would
    #              need compiling with the kernel (a Python class cannot subclass a compiled one)
    for name in range(rng.randint(1, 5)):
        procs[name] = env.process(worker(name))
    waker()


@given(seed=st.integers(0, 2**32 - 1), until=st.sampled_from([1.0, 2.5, 7.0, 30.0]))
def test_engine_runs_simpys_order_and_stops_where_simpy_stops(seed, until):
    plain, fast = simpy.Environment(), Engine()
    log_plain: list = []
    log_fast: list = []
    _program(plain, seed, False, log_plain)
    _program(fast, seed, False, log_fast)
    plain.run(until=until)
    fast.run(until=until)
    assert log_fast == log_plain
    assert fast.now == plain.now == until
    assert next(fast._eid) == next(plain._eid)  # the same events scheduled, the stop event too
    plain.run(until=until + 5)  # and both go on the same way
    fast.run(until=until + 5)
    assert log_fast == log_plain


@pytest.mark.parametrize("engine", [Engine, simpy.Environment])
@given(seed=st.integers(0, 2**32 - 1))
def test_light_events_run_where_simpys_events_run(engine, seed):
    """The kernel's helpers against timeout / callbacks / event(), on the engine and on a plain
    SimPy environment: the same log, the same number of event ids."""
    assert _log_and_event_ids(engine, lambda env, log: _program(env, seed, True, log), 25) == \
        _log_and_event_ids(simpy.Environment, lambda env, log: _program(env, seed, False, log), 25)


def _log_and_event_ids(environment, program, until: float) -> tuple[list, int]:
    """What ``program(env, log)`` logs on a new ``environment()`` run until ``until``, and the
    next event id (the same events scheduled)."""
    env = environment()
    log: list = []
    program(env, log)
    env.run(until=until)
    return log, next(env._eid)


def test_events_at_the_stop_time_wait_for_the_next_run():
    env = Engine()
    fired = []
    env.timeout(2.0).callbacks.append(lambda _e: fired.append(env.now))
    env.run(until=2.0)
    assert fired == [] and env.now == 2.0
    env.run(until=3.0)
    assert fired == [2.0]


def test_a_failed_event_nobody_handles_crashes_the_run():
    env = Engine()
    event = env.event()
    event.fail(KeyError("lost"))
    with pytest.raises(KeyError, match="lost"):
        env.run(until=1.0)


def test_a_stop_time_in_the_past_is_refused_like_simpy():
    env = Engine()
    env.run(until=1.0)
    with pytest.raises(ValueError, match="must be greater"):
        env.run(until=0.5)


def test_run_without_a_time_is_simpys():
    env = Engine()
    env.timeout(4.0)
    env.run()
    assert env.now == 4.0


@pytest.mark.parametrize("how", ["until_time", "until_event", "to_the_end", "step"])
def test_now_is_the_time_of_the_event_being_run_however_the_engine_is_driven(how):
    """``Engine.now`` is a plain attribute kept equal to SimPy's ``_now``: every path that moves
    the clock (the fast loop, SimPy's run and step) must keep it."""
    env = Engine()
    seen = []

    def proc():
        for delay in (1.0, 0.5, 2.0):
            yield sleep(env, delay)
            seen.append((env.now, env._now))

    done = env.process(proc())
    if how == "until_time":
        env.run(until=10.0)
    elif how == "until_event":
        env.run(until=done)
    elif how == "to_the_end":
        env.run()
    else:
        while env.peek() < float("inf"):
            env.step()
    assert seen == [(1.0, 1.0), (1.5, 1.5), (3.5, 3.5)]
    assert env.now == env._now


def _noting(env: simpy.Environment, log: list):
    """(note, schedule): a callback that logs the time and a name, and a way to schedule a
    triggered event carrying it with a priority and a delay (onto whichever heap the delay picks)."""

    def note(name):
        return lambda _event: log.append((env.now, name))

    def schedule(name, priority, delay):
        event = env.event()
        event._ok, event._value = True, None
        event.callbacks.append(note(name))
        env.schedule(event, priority, delay)

    return note, schedule


def _ties_across_heaps(env: simpy.Environment, log: list) -> None:
    """Events due at exactly t = 1: some scheduled long before (far heap), some just before (near
    heap), urgent and normal: SimPy runs them by priority, then by the order they were scheduled."""
    near = 2 ** -6  # below NEAR_S, and exact in binary: 1 - near + near == 1
    assert near < NEAR_S

    note, schedule = _noting(env, log)

    schedule("far normal, first", 1, 1.0)
    schedule("far urgent", 0, 1.0)

    def later(_event):
        schedule("near normal", 1, near)
        schedule("near urgent", 0, near)
        call_after(env, near, note("near light"))

    env.timeout(1.0 - near).callbacks.append(later)
    schedule("far normal, last", 1, 1.0)


def _ties_with_the_distant_heap(env: simpy.Environment, log: list) -> None:
    """Events due at exactly t = DISTANT_S + 1: some scheduled at 0 (distant heap), some 1 s before
    (far heap), some just before (near heap), urgent and normal; and one distant event alone, due
    while nothing else is queued."""
    at = DISTANT_S + 1.0
    near = 2 ** -6

    note, schedule = _noting(env, log)

    schedule("distant normal, first", 1, at)
    schedule("distant urgent", 0, at)
    schedule("distant alone", 1, at * 3)

    def one_second_before(_event):
        schedule("far normal", 1, 1.0)
        schedule("far urgent", 0, 1.0)

    def just_before(_event):
        schedule("near normal", 1, near)
        schedule("near urgent", 0, near)

    env.timeout(at - 1.0).callbacks.append(one_second_before)
    env.timeout(at - near).callbacks.append(just_before)
    schedule("distant normal, last", 1, at)


@pytest.mark.parametrize("until", [DISTANT_S * 4, None])
def test_events_due_at_the_same_time_run_in_simpys_order_with_the_distant_heap(until):
    plain, fast = simpy.Environment(), Engine()
    log_plain: list = []
    log_fast: list = []
    _ties_with_the_distant_heap(plain, log_plain)
    _ties_with_the_distant_heap(fast, log_fast)
    assert fast.peek() == plain.peek() == DISTANT_S  # the far timeout at 1 s before, first
    plain.run(until=until)
    fast.run(until=until)
    at = DISTANT_S + 1.0
    assert log_fast == log_plain == [
        (at, "distant urgent"), (at, "far urgent"), (at, "near urgent"),
        (at, "distant normal, first"), (at, "distant normal, last"), (at, "far normal"), (at, "near normal"),
        (at * 3, "distant alone"),
    ]


@pytest.mark.parametrize("until", [2.0, None])  # Engine's loop, and SimPy's loop over Engine.step
def test_events_due_at_the_same_time_run_in_simpys_order_whichever_heap_holds_them(until):
    plain, fast = simpy.Environment(), Engine()
    log_plain: list = []
    log_fast: list = []
    _ties_across_heaps(plain, log_plain)
    _ties_across_heaps(fast, log_fast)
    assert fast.peek() == plain.peek() == 1.0 - 2 ** -6
    plain.run(until=until)
    fast.run(until=until)
    assert log_fast == log_plain == [
        (1.0, "far urgent"), (1.0, "near urgent"),
        (1.0, "far normal, first"), (1.0, "far normal, last"), (1.0, "near normal"), (1.0, "near light"),
    ]


def _processes_that_interrupt_fail_and_return(env: simpy.Environment, seed: int, log: list) -> None:
    """Processes that wait on each other, return values, fail, catch failures and interrupt each
    other (a Kafka crash interrupts its workers): every path of a process's resume."""
    rng = random.Random(seed)
    procs: list = []

    def worker(name: int):
        try:
            for step in range(rng.randint(1, 5)):
                choice = rng.random()
                if choice < 0.2 and procs:
                    other = rng.choice(procs)
                    try:
                        got = yield other  # a process is an event: its return value or its failure
                        log.append((env.now, name, "joined", got))
                    except ValueError as failure:
                        log.append((env.now, name, "saw failure", str(failure), type(failure.__cause__).__name__))
                elif choice < 0.35:
                    failed = env.event()
                    failed.fail(KeyError(f"k{name}"))
                    failed.defused = True  # the run must not crash if an interrupt comes first
                    try:
                        yield failed
                    except KeyError as failure:
                        log.append((env.now, name, "caught", str(failure)))
                else:
                    yield env.timeout(rng.choice([0.0, 0.5, 1.0, rng.random()]))
                    log.append((env.now, name, step))
                if rng.random() < 0.15:
                    raise ValueError(f"worker {name} failed")
                if rng.random() < 0.2 and procs:
                    target = rng.choice(procs)
                    if target.is_alive and target is not env.active_process:
                        target.interrupt(("by", name))
            return ("done", name)
        except simpy.Interrupt as interrupt:
            log.append((env.now, name, "interrupted", interrupt.cause))
            return ("interrupted", name)

    for name in range(rng.randint(2, 6)):
        process = env.process(worker(name))
        process.defused = True  # a failed worker nobody waits on must not crash the run
        procs.append(process)


@given(seed=st.integers(0, 2**32 - 1))
def test_engine_processes_resume_fail_and_get_interrupted_as_simpys(seed):
    def program(env, log):
        _processes_that_interrupt_fail_and_return(env, seed, log)

    assert _log_and_event_ids(Engine, program, 30) == _log_and_event_ids(simpy.Environment, program, 30)


def test_engine_starts_the_kernels_process_and_refuses_what_is_not_an_event():
    from sim.kernel.process import Process

    env = Engine()

    def returns():
        yield env.timeout(1)
        return 42

    def yields_junk():
        yield "not an event"

    started = env.process(returns())
    assert type(started) is Process and started.is_alive and not started.triggered
    env.run(until=2)
    assert started.value == 42 and started.ok and started.processed and not started.is_alive
    env.process(yields_junk())
    with pytest.raises(RuntimeError, match='Invalid yield value "not an event"'):
        env.run(until=3)


@pytest.mark.parametrize("child_takes_s", [1.0, 9.0])
def test_a_process_in_a_condition_behaves_as_simpys(child_takes_s):
    """``process | timeout`` and ``process & timeout``: the condition sees the kernel's process as an
    event (its value once it ends, nothing before)."""

    def program(env, log):
        def child():
            yield env.timeout(child_takes_s)
            return "child done"

        def parent():
            started = env.process(child())
            first = yield started | env.timeout(5)
            log.append((env.now, started in first, started.triggered))
            both = yield started & env.timeout(10)
            log.append((env.now, both[started]))

        env.process(parent())

    assert _log_and_event_ids(Engine, program, 20) == _log_and_event_ids(simpy.Environment, program, 20)
    log, _ = _log_and_event_ids(Engine, program, 20)
    first_s = min(child_takes_s, 5.0)
    assert log == [(first_s, child_takes_s < 5, child_takes_s < 5), (first_s + 10.0, "child done")]


@given(st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.5]), st.sampled_from([-1, 0, 1])), max_size=60),
       st.lists(st.booleans(), max_size=120))
def test_the_compiled_heaps_pop_entries_in_heapqs_order(entries, pops):
    """:mod:`sim.kernel.queue` against ``heapq`` on SimPy's tuples: times and priorities that tie
    (the event id decides), pushes and pops interleaved."""
    mine: list[native_queue.Entry] = []
    reference: list = []
    popped_mine, popped_reference = [], []
    moves = iter(pops)
    for eid, (at, priority) in enumerate(entries):
        native_queue.push(mine, native_queue.Entry(at, native_queue.order_of(priority, eid), eid))
        heapq.heappush(reference, (at, priority, eid, eid))
        if next(moves, False):
            head = native_queue.pop(mine)
            popped_mine.append((head.at, head.event))
            popped_reference.append(heapq.heappop(reference)[::3])
    while reference:
        head = native_queue.pop(mine)
        popped_mine.append((head.at, head.event))
        popped_reference.append(heapq.heappop(reference)[::3])
    assert popped_mine == popped_reference and not mine
    with pytest.raises(IndexError):
        native_queue.pop(mine)


def test_the_engine_uses_the_compiled_heaps_only_when_compiled():
    env = Engine()
    assert env._native is native_queue.COMPILED
    env.timeout(1.0)
    env.timeout(0.01)
    assert bool(env._near) == bool(env._far_entries) == native_queue.COMPILED
    assert bool(env._queue) == bool(env._far) == (not native_queue.COMPILED)


@pytest.mark.parametrize("module", ["sim.kernel.light", "pure"])
@pytest.mark.parametrize("kind", [list, tuple, iter])
def test_run_callbacks_calls_each_in_order_with_the_event_whatever_holds_them(module, kind):
    """A fired event's handlers run in order, each with the event, whether they are a list (SimPy's
    events, a process's wait), a tuple (a step's handlers) or any other iterable; compiled or pure."""
    from sim.kernel import light
    from tests.helpers import pure

    run_callbacks = (light if module == "sim.kernel.light" else pure("sim.kernel.light")).run_callbacks
    calls: list = []
    event = object()
    handlers = [lambda e, i=i: calls.append((i, e)) for i in range(4)]
    run_callbacks(kind(handlers), event)
    assert calls == [(i, event) for i in range(4)]
    run_callbacks(kind([]), event)
    assert len(calls) == 4
    with pytest.raises(TypeError):
        run_callbacks(None, event)  # a processed event's callbacks: not iterable, as in SimPy


@pytest.mark.parametrize("seed", range(3))
def test_clock_reads_the_time_of_the_engine_and_of_plain_simpy_alike(seed):
    """``clock(env)`` is ``env.now`` on the engine (its field) and on a plain SimPy environment,
    at every event of the same random program."""
    from sim.kernel.scheduling import clock

    seen: dict[str, list] = {}
    for name, environment in (("simpy", simpy.Environment()), ("engine", Engine())):
        rng = random.Random(seed)
        times = seen.setdefault(name, [])

        def tick(env=environment, times=times, rng=rng):
            for _ in range(20):
                yield env.timeout(rng.choice([0.0, 0.01, 0.3, rng.random()]))
                times.append((clock(env), env.now))

        environment.process(tick())
        assert clock(environment) == 0.0
        environment.run(until=50.0)
        assert clock(environment) == environment.now == 50.0
    assert seen["engine"] == seen["simpy"]
    assert all(read == now for read, now in seen["engine"])


def test_engine_of_is_the_engine_or_none_and_its_time_is_the_clock():
    from sim.kernel.scheduling import clock, engine_of

    env = Engine()
    assert engine_of(env) is env
    assert engine_of(simpy.Environment()) is None
    env.timeout(2.5)
    env.run(until=3.0)
    assert engine_of(env).now == clock(env) == env.now == 3.0


def test_popped_entries_are_reused_and_let_their_events_go():
    """Compiled, a popped heap entry keeps no event and is filled again by the next schedule: the
    heaps never hold more entries than were queued at once, whatever the run's length."""
    env = Engine()

    def ticker():
        for _ in range(200):
            yield env.timeout(0.01)
            yield env.timeout(1.0)

    env.process(ticker())
    env.process(ticker())
    env.run(until=1000.0)
    if not native_queue.COMPILED:
        assert env._spare == []
        return
    assert 0 < len(env._spare) <= 6  # two processes, a wait each, their starts and the stop event
    assert all(entry.event is None for entry in env._spare[:env._spares])
