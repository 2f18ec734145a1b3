"""What really happened outside the platform: captures at the issuing banks.

Only the banks write here and only the oracles read it; the platform never does. Columnar and
indexed by payment order id, so memory per order is a few bytes.
"""

from __future__ import annotations

from array import array


class GroundTruth:
    """Successful captures per payment order, and money moved per currency."""

    def __init__(self) -> None:
        self.captures = bytearray()  # count per order id (saturates at 255)
        self.first_capture_at = array("d")
        self.extra_capture_times: dict[int, list[float]] = {}
        self.captured_minor_by_currency: dict[int, int] = {}
        self.capture_count = 0

    def _grow(self, order_id: int) -> None:
        missing = order_id + 1 - len(self.captures)
        if missing > 0:
            self.captures.extend(bytes(missing))
            self.first_capture_at.extend([0.0] * missing)

    def record_capture(self, order_id: int, amount_minor: int, currency: int, now: float) -> None:
        """The bank moved ``amount_minor`` from the buyer for ``order_id`` at ``now``."""
        self._grow(order_id)
        count = self.captures[order_id]
        if count == 0:
            self.first_capture_at[order_id] = now
        else:
            self.extra_capture_times.setdefault(order_id, []).append(now)
        if count < 255:
            self.captures[order_id] = count + 1
        self.capture_count += 1
        self.captured_minor_by_currency[currency] = self.captured_minor_by_currency.get(currency, 0) + amount_minor

    def captures_of(self, order_id: int) -> int:
        return self.captures[order_id] if order_id < len(self.captures) else 0
