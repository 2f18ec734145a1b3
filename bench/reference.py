"""The reference: a textbook SimPy M/M/c model, one process per customer (docs/design.md §14.2).

λ = 9/s, c = 10, μ = 1/s; Erlang C gives Wq = 0.6687 s. Its customers per second of wall time
(per CPU second) is the yardstick the model's payments per second are compared with, in the same run.
"""

from __future__ import annotations

import random
import time

import simpy

ARRIVAL_RATE_PER_S = 9.0
SERVERS = 10
SERVICE_RATE_PER_S = 1.0


def run_mmc(customers: int, seed: int = 1) -> dict:
    """Serve ``customers`` customers; wall time, throughput, events and the mean wait."""
    env = simpy.Environment()
    rng = random.Random(seed)
    servers = simpy.Resource(env, capacity=SERVERS)
    waited = [0.0]

    def customer():
        arrived = env.now
        with servers.request() as request:
            yield request
            waited[0] += env.now - arrived
            yield env.timeout(rng.expovariate(SERVICE_RATE_PER_S))

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(ARRIVAL_RATE_PER_S))
            env.process(customer())

    env.process(source())
    started, cpu_started = time.perf_counter(), time.process_time()
    env.run()
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    events = next(env._eid)  # every scheduled event took one id (simpy.Environment internals)
    return {
        "customers": customers,
        "wall_s": round(wall_s, 4),
        "cpu_s": round(cpu_s, 4),
        "customers_per_s": round(customers / cpu_s, 1),
        "customers_per_s_wall": round(customers / wall_s, 1),
        "events": events,
        "events_per_s": round(events / cpu_s, 1),
        "events_per_customer": round(events / customers, 3),
        "mean_wait_s": round(waited[0] / customers, 4),
    }
