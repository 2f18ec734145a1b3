"""Latency and delay distributions, and the samplers built from them.

Written in YAML as a bare duration (constant) or a mapping with ``dist``:
constant, exponential, uniform, lognormal (by median and p99), gamma, empirical (CSV of values).
Samplers draw blocks with numpy from a generator seeded by a ``random.Random`` stream: no
per-call validation, one C call per draw.
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import random
from pathlib import Path
from typing import Annotated, Callable, Iterator, Literal, Union

import numpy as np

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationInfo, model_validator

from sim.config.base import Frozen, Seconds
from sim.config.files import UnreadableFile, read_text_bounded
from sim.units import DURATION_EXAMPLES, DURATION_PATTERN, parse_duration_s

Sampler = Callable[[], float]

_Z99 = 2.3263478740408408  # standard normal quantile at 0.99
MAX_CSV_BYTES = 50_000_000
"""Largest empirical-latency CSV read (about five million values)."""


class Constant(Frozen):
    dist: Literal["constant"] = "constant"
    value_s: Seconds = Field(alias="value")



class Exponential(Frozen):
    dist: Literal["exponential"]
    mean_s: Seconds = Field(alias="mean", gt=0)


class Uniform(Frozen):
    dist: Literal["uniform"]
    low_s: Seconds = Field(alias="low")
    high_s: Seconds = Field(alias="high")

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.high_s < self.low_s:
            raise ValueError("high must be >= low")
        return self


class Lognormal(Frozen):
    """Lognormal given by its median and 99th percentile, as latencies are usually quoted."""

    dist: Literal["lognormal"]
    median_s: Seconds = Field(alias="median", gt=0)
    p99_s: Seconds = Field(alias="p99", gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Lognormal":
        if self.p99_s < self.median_s:
            raise ValueError("p99 must be >= median")
        return self

    def mu_sigma(self) -> tuple[float, float]:
        mu = math.log(self.median_s)
        return mu, (math.log(self.p99_s) - mu) / _Z99


class Gamma(Frozen):
    dist: Literal["gamma"]
    shape: float = Field(gt=0)
    mean_s: Seconds = Field(alias="mean", gt=0)


class Empirical(Frozen):
    """Observed values (one per row, first column, bare numbers in ``unit`` or durations such as
    ``250ms``) from a CSV file, e.g. latencies exported from production logs. A relative path is
    resolved from the YAML file that names it; the file is read once, when the YAML is loaded."""

    dist: Literal["empirical"]
    csv: str = Field(description="CSV file of observed values, relative to this YAML file")
    unit: Literal["us", "ms", "s"] = Field("ms", description="unit of bare numbers in the CSV")
    _values_s: tuple[float, ...] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _read(self, info: ValidationInfo) -> "Empirical":
        base_dir = (info.context or {}).get("base_dir")
        if base_dir is not None:
            self._values_s = tuple(load_empirical_s(self, Path(base_dir)))
        return self


class _AlsoBareDuration:
    """JSON Schema: a distribution may also be written as a bare duration (a constant)."""

    def __get_pydantic_json_schema__(self, core_schema, handler):  # noqa: ANN001 (pydantic hook)
        schema = handler(core_schema)
        return {"anyOf": [{"type": ["string", "number"], "pattern": DURATION_PATTERN,
                           "description": "a constant: " + DURATION_EXAMPLES}, schema]}


def coerce_distribution(value: object) -> object:
    """Let a bare duration stand for a constant distribution."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


Distribution = Annotated[
    Union[Constant, Exponential, Uniform, Lognormal, Gamma, Empirical],
    Field(discriminator="dist"),
    BeforeValidator(coerce_distribution),
    _AlsoBareDuration(),
]
"""A distribution of durations; a bare duration means a constant."""


def load_empirical_s(dist: Empirical, base_dir: Path | None = None) -> list[float]:
    """Sorted sample values in seconds from the distribution's CSV file."""
    path = Path(dist.csv)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[dist.unit]
    values: list[float] = []
    try:
        text = read_text_bounded(path, MAX_CSV_BYTES, "CSV file")
    except UnreadableFile as exc:
        raise ValueError(f"CSV file {dist.csv!r} {exc.reason} (looked at {path.as_posix()}; "
                         "a relative path starts from the YAML file's folder)") from None
    for row in csv.reader(text.splitlines()):
        if not row or not row[0].strip():
            continue
        cell = row[0].strip()
        try:
            values.append(float(cell) * scale)
        except ValueError:
            try:
                values.append(parse_duration_s(cell))
            except ValueError:
                if values:  # a bad cell after data is an error; a header before data is not
                    raise ValueError(f"CSV file {dist.csv!r}: {cell!r} is not a number or a duration") from None
    if any(v < 0 or v != v or v == math.inf for v in values):
        raise ValueError(f"CSV file {dist.csv!r}: durations must be finite and >= 0")
    if not values:
        raise ValueError(f"CSV file {dist.csv!r} holds no values (one number per row, first column)")
    values.sort()
    return values


def make_sampler(dist: object, rng: random.Random, base_dir: Path | None = None) -> Sampler:
    """A zero-argument function drawing seconds from ``dist`` with stream ``rng``."""
    if isinstance(dist, Constant):
        value = dist.value_s
        return lambda: value
    if isinstance(dist, Exponential):
        mean = dist.mean_s
        return _block_sampler(rng, lambda g, n: g.exponential(mean, n))
    if isinstance(dist, Uniform):
        low, high = dist.low_s, dist.high_s
        return _block_sampler(rng, lambda g, n: g.uniform(low, high, n))
    if isinstance(dist, Lognormal):
        return lognormal_sampler(rng, *dist.mu_sigma())
    if isinstance(dist, Gamma):
        shape, scale = dist.shape, dist.mean_s / dist.shape
        return _block_sampler(rng, lambda g, n: g.gamma(shape, scale, n))
    if isinstance(dist, Empirical):
        values = dist._values_s or load_empirical_s(dist, base_dir)
        count = len(values)
        return _block_sampler(rng, lambda g, n: np.asarray(values)[g.integers(0, count, n)])
    raise TypeError(f"not a distribution: {dist!r}")


def lognormal_sampler(rng: random.Random, mu: float, sigma: float) -> Sampler:
    """Lognormal draws (``exp`` of a normal with mean ``mu`` and deviation ``sigma``)."""
    return _block_sampler(rng, lambda g, n: g.lognormal(mu, sigma, n))


SAMPLER_BLOCK = 1024
"""Draws a sampler makes at a time."""


def _block_sampler(rng: random.Random, draw: Callable[[np.random.Generator, int], np.ndarray]) -> Sampler:
    """A sampler drawing ``SAMPLER_BLOCK`` values at a time with numpy, from a generator seeded by
    one draw of ``rng`` (deterministic: the stream fixes every value). Latencies are the most drawn
    values of a run; a draw here is one C call (``next`` on a list iterator), not a Python loop."""
    generator = np.random.Generator(np.random.PCG64(rng.getrandbits(64)))

    def blocks() -> Iterator[list[float]]:
        while True:
            yield draw(generator, SAMPLER_BLOCK).tolist()

    # ``next`` bound by a partial: a vectorcall; a method-wrapper (``chain.__next__``) is called
    # through a tuple of arguments and a slot wrapper (~300 instructions more a draw)
    return functools.partial(next, itertools.chain.from_iterable(blocks()))


def distribution_mean_s(dist: object, base_dir: Path | None = None) -> float:
    """The mean of ``dist`` in seconds (for reports and queueing checks)."""
    if isinstance(dist, Constant):
        return dist.value_s
    if isinstance(dist, Exponential):
        return dist.mean_s
    if isinstance(dist, Uniform):
        return (dist.low_s + dist.high_s) / 2
    if isinstance(dist, Lognormal):
        mu, sigma = dist.mu_sigma()
        return math.exp(mu + sigma * sigma / 2)
    if isinstance(dist, Gamma):
        return dist.mean_s
    if isinstance(dist, Empirical):
        values = dist._values_s or load_empirical_s(dist, base_dir)
        return sum(values) / len(values)
    raise TypeError(f"not a distribution: {dist!r}")

