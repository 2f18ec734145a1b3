"""Streaming statistics: the histogram's bulk path records exactly what one-by-one adds record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.observe.metrics import Histogram, Metrics, TimeSeries

latencies = st.one_of(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False), st.just(0.0), st.floats(min_value=0.0, max_value=2e-6),
)


@given(first=st.lists(latencies, max_size=20), values=st.lists(latencies, max_size=200))
def test_add_all_records_what_adding_one_by_one_records(first, values):
    one_by_one, bulk = Histogram(), Histogram()
    for value in first:  # a histogram that already holds values
        one_by_one.add(value)
        bulk.add(value)
    for value in values:
        one_by_one.add(value)
    bulk.add_all(values)
    assert bulk.counts == one_by_one.counts
    assert (bulk.count, bulk.total, bulk.zeros) == (one_by_one.count, one_by_one.total, one_by_one.zeros)
    assert (bulk.minimum, bulk.maximum) == (one_by_one.minimum, one_by_one.maximum)
    assert bulk.summary() == one_by_one.summary()


def test_quantiles_of_a_known_sample():
    histogram = Histogram()
    histogram.add_all([0.1] * 90 + [2.0] * 10)
    assert abs(histogram.quantile(0.5) - 0.1) / 0.1 < 0.02  # ~1 % buckets
    assert abs(histogram.quantile(0.95) - 2.0) / 2.0 < 0.02
    assert histogram.count == 100 and histogram.maximum == 2.0


def test_add_all_matches_add_at_bucket_edges():
    """Values on and next to every bucket edge (where a logarithm a few bits off would change the
    bucket): the bulk path still puts each where :meth:`Histogram.add` does."""
    import math

    edges = [1e-6 * 1.02**i for i in range(1200)]
    values = [v for edge in edges for v in (edge, math.nextafter(edge, 0.0), math.nextafter(edge, math.inf))]
    one_by_one, bulk = Histogram(), Histogram()
    for value in values:
        one_by_one.add(value)
    bulk.add_all(values)
    assert bulk.counts == one_by_one.counts and bulk.total == one_by_one.total


def test_add_all_in_slices_records_what_adding_one_by_one_records(monkeypatch):
    """A long run's latencies go through in slices: float32 values widened a slice at a time,
    the running total carried across slices, must equal the one-by-one adds."""
    import numpy as np

    import sim.observe.metrics as metrics

    monkeypatch.setattr(metrics, "ADD_ALL_SLICE", 64)
    values = (np.random.default_rng(4).lognormal(-1.0, 2.0, 1000)).astype(np.float32)
    values[::97] = 0.0
    one_by_one, bulk = Histogram(), Histogram()
    for value in values.tolist():
        one_by_one.add(value)
    bulk.add_all(values)
    assert bulk.counts == one_by_one.counts
    assert (bulk.count, bulk.total, bulk.zeros) == (one_by_one.count, one_by_one.total, one_by_one.zeros)
    assert (bulk.minimum, bulk.maximum) == (one_by_one.minimum, one_by_one.maximum)


def test_a_gauge_keeps_the_type_of_its_values():
    """Queue lengths stay ints in the results (compiled, a ``float`` parameter would make them 1.0,
    and change the results' digest)."""
    series = TimeSeries(10.0)
    series.gauge("queue", 5.0, 3)
    series.gauge("queue", 15.0, 2.5)
    series.gauge("queue", 16.0, 1)
    assert series.gauges["queue"] == [3, 2.5]
    assert type(series.gauges["queue"][0]) is int


def test_a_histogram_summary_keeps_its_count_an_int():
    histogram = Histogram()
    histogram.add(0.25)
    summary = histogram.summary()
    assert type(summary["count"]) is int
    assert summary["max"] == 0.25


def test_count_fields_are_added_into_the_counters_when_read():
    metrics = Metrics()
    delivered = metrics.count("kafka.pay.delivered")
    assert metrics.count("kafka.pay.delivered") is delivered  # one field per name
    idle = metrics.count("kafka.idle.delivered")
    metrics.counters["kafka.pay.delivered"] += 2  # the dictionary and the field add up
    delivered.n += 1
    delivered.n += 1
    assert metrics.counters["kafka.pay.delivered"] == 4
    assert "kafka.idle.delivered" not in metrics.counters  # a field that counted nothing adds no key
    delivered.n += 1
    idle.n += 1
    assert dict(metrics.counters) == {"kafka.pay.delivered": 5, "kafka.idle.delivered": 1}
    assert metrics.counters["kafka.pay.delivered"] == 5  # read twice: added once


_gauge_values = st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                                   st.integers(-1000, 1000).map(float), st.booleans()), max_size=40)


@given(_gauge_values)
def test_a_run_s_gauges_are_rounded_as_round_x_6_rounds_each_value(values):
    """``rounded`` (whole numbers copied, checked in one numpy pass) gives what rounding each value
    gives: the same values, types and signs (ints stay ints, -0.0 stays -0.0, a bool becomes an int)."""
    from sim.runners.run import rounded

    expected = [round(x, 6) for x in values]
    got = rounded(values)
    assert [type(x) for x in got] == [type(x) for x in expected]
    assert [repr(x) for x in got] == [repr(x) for x in expected]
