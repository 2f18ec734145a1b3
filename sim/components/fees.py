"""What a payment costs and earns: the PSP's fee per transaction and the platform's commission,
in integer minor units (rounded down: the fractions stay with the payer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config.model import FeesConfig


class Fees:
    """The fee and commission of an amount under a :class:`FeesConfig`."""

    __slots__ = ("fixed_minor", "rate", "commission_rate", "on")

    def __init__(self, cfg: "FeesConfig") -> None:
        # typed: compiled, the ledger's and the wallet's arithmetic on them is C arithmetic, not
        # generic number calls on the configuration's values
        self.fixed_minor: int = int(cfg.psp_fixed_minor)
        self.rate: float = float(cfg.psp_rate)
        self.commission_rate: float = float(cfg.commission_rate)
        self.on: bool = bool(cfg.psp_fixed_minor or cfg.psp_rate or cfg.commission_rate)
        """False when every fee is zero: the ledger then posts two entries per payment, as before fees."""

    def psp_fee_minor(self, amount_minor: int) -> int:
        """The PSP's fee on a captured amount (fixed + percentage)."""
        return self.fixed_minor + int(amount_minor * self.rate)

    def commission_minor(self, amount_minor: int) -> int:
        """The platform's share of an amount (the seller is owed the rest)."""
        return int(amount_minor * self.commission_rate)

    def seller_share_minor(self, amount_minor: int) -> int:
        return amount_minor - int(amount_minor * self.commission_rate)
