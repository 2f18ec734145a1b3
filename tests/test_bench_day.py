"""The day benchmark's probes: a run stopped in slices to be measured gives the same results, and
growth per payment is read between the probes nearest the window's ends."""

from __future__ import annotations

from helpers import scenario

from bench.day import growth_per_payment
from sim.runners.run import run_scenario

SMALL = dict(duration="3m", drain="2m", seed=11, workload={"rate": "10/s", "buyers": 300, "sellers": 20},
             faults=[{"kind": "psp_reply_lost_after_commit", "at": "40s", "for": "40s", "probability": 0.3}])


def test_a_watched_run_is_the_same_run(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", **SMALL)
    seen = []
    watched = run_scenario(loaded, watch=lambda world: seen.append((world.env.now, len(world.orders))),
                           watch_every_s=7.0)
    plain = run_scenario(loaded)
    assert watched.digest() == plain.digest()
    assert len(seen) == 43 and seen[-1][0] == 300.0  # every 7 s up to the end (300 s)
    assert [n for _, n in seen] == sorted(n for _, n in seen) and seen[-1][1] == len(plain.world.orders)


def test_growth_per_payment_between_the_window_probes():
    probes = [{"payments": n, "rss_mib": 100 + n * 50 / 2**20} for n in range(0, 1_200_001, 100_000)]
    assert growth_per_payment(probes) == 50.0
    assert growth_per_payment(probes[:9]) is None  # the run never reached 1M payments


def test_the_day_is_extrapolated_from_per_payment_rates():
    from bench.day import extrapolate

    probes = [{"payments": n, "rss_mib": 100 + n * 50 / 2**20} for n in range(0, 1_200_001, 100_000)]
    partial = {"payments": 1_200_000, "cpu_s": 60.0, "probes": probes, "checks_rss_extra_mib": 10.0,
               "rss_growth_per_payment_bytes": growth_per_payment(probes)}
    day = extrapolate(partial, 12_000_000)
    assert day["cpu_s"] == 600.0
    assert day["peak_rss_mib"] == round(100 + 50 * 12_000_000 / 2**20 + 100.0, 1)


def test_the_checks_extra_follows_its_growth_between_two_run_lengths():
    """What the end-of-run checks hold in bounded chunks stays as measured; what grows per payment
    grows with the day; a half run that measured more (noise) is the bound, and nothing grows."""
    from bench.day import extrapolate

    probes = [{"payments": n, "rss_mib": 100 + n * 50 / 2**20} for n in range(0, 1_200_001, 100_000)]
    partial = {"payments": 1_200_000, "cpu_s": 60.0, "probes": probes, "checks_rss_extra_mib": 30.0,
               "rss_growth_per_payment_bytes": growth_per_payment(probes)}
    history = 100 + 50 * 12_000_000 / 2**20
    bounded = extrapolate(partial, 12_000_000, half=(600_000, 30.0))
    assert bounded["checks_rss_extra_mib"] == 30.0 and bounded["peak_rss_mib"] == round(history + 30.0, 1)
    growing = extrapolate(partial, 12_000_000, half=(600_000, 20.0))  # 10 MiB more per 600k payments
    assert growing["checks_rss_extra_mib"] == 30.0 + 10.0 * 10_800_000 / 600_000
    assert extrapolate(partial, 12_000_000, half=(600_000, 35.0))["checks_rss_extra_mib"] == 35.0
    assert extrapolate(partial, 12_000_000)["checks_rss_extra_mib"] == 300.0  # no half run: all of it scaled
