"""FX rates: one seeded geometric random walk per presentment currency, against the settlement
currency, moving every ``step_s``.

The rate of currency ``c`` in step ``k`` (time ``[k·step, (k+1)·step)``) is
``rate0 · exp(σ_step · (z_1 + … + z_k))`` with standard normal ``z`` and ``σ_step`` the daily
volatility scaled to the step (``σ_day · sqrt(step / 1 day)``). The walk is drawn lazily in blocks
from a numpy generator per currency, seeded from the named stream ``fx.rates`` in currency order:
the rate at a time is the same whoever asks first, and no event is scheduled.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.config.model import FxConfig

DAY_S = 86400.0
BLOCK_STEPS = 1024
"""Steps of the walk drawn at a time."""


def convert_minor(amount_minor: int, rate: float) -> int:
    """``amount_minor`` at ``rate``, rounded half away from zero (so converting a reversal gives
    exactly the negative of converting the original)."""
    value = abs(amount_minor) * rate
    rounded = int(math.floor(value + 0.5))
    return rounded if amount_minor >= 0 else -rounded


class FxRates:
    """The rate series of every presentment currency other than the settlement currency."""

    def __init__(self, cfg: "FxConfig", codes: tuple[str, ...], stream: random.Random) -> None:
        if cfg.settlement_currency not in codes:
            raise ValueError(f"fx.settlement_currency {cfg.settlement_currency!r} is not one of the workload's "
                             f"currencies ({', '.join(codes)})")
        missing = [code for code in codes if code != cfg.settlement_currency and code not in cfg.rates]
        if missing:
            raise ValueError(f"fx.rates has no rate for the workload's currencies {', '.join(missing)}")
        self.codes = codes
        self.settlement = codes.index(cfg.settlement_currency)
        """Index of the settlement currency among the workload's currencies."""
        self.step_s = cfg.step_s
        self._sigma = cfg.volatility_per_day * math.sqrt(cfg.step_s / DAY_S)
        self._start = {index: math.log(cfg.rates[code]) for index, code in enumerate(codes) if index != self.settlement}
        self._generators = {index: np.random.default_rng(stream.getrandbits(64)) for index in sorted(self._start)}
        self._log_rates: dict[int, np.ndarray] = {index: np.array([log]) for index, log in self._start.items()}

    def converts(self, currency: int) -> bool:
        """Whether payments in ``currency`` are converted (it is not the settlement currency)."""
        return currency != self.settlement

    def rate(self, currency: int, at_s: float) -> float:
        """Settlement minor units per presentment minor unit at ``at_s`` (1 for the settlement currency)."""
        if currency == self.settlement:
            return 1.0
        step = max(0, int(at_s // self.step_s))
        logs = self._log_rates[currency]
        while step >= len(logs):
            draws = self._generators[currency].standard_normal(BLOCK_STEPS) * self._sigma
            logs = np.concatenate([logs, logs[-1] + np.cumsum(draws)])
            self._log_rates[currency] = logs
        return float(math.exp(logs[step]))

    def convert(self, currency: int, amount_minor: int, at_s: float) -> int:
        """``amount_minor`` of ``currency`` in settlement minor units at the rate of ``at_s``."""
        return convert_minor(amount_minor, self.rate(currency, at_s))
