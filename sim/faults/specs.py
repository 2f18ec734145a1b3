"""Fault kinds as written in scenario files: a ``kind``, a ``target``, a schedule and parameters.

Adding a kind: a spec class here (with ``kind: Literal[...]``), added to ``Fault``, and an injector
in ``sim/faults/injectors.py``. ``paychaos catalog`` lists them from these classes.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from sim.config.base import NonNegativeInt, Probability
from sim.config.distributions import Distribution
from sim.faults.schedule import FaultSchedule


class PspReplyLostAfterCommit(FaultSchedule):
    """The PSP commits the charge, then the reply is lost: the caller sees a timeout."""

    kind: Literal["psp_reply_lost_after_commit"]
    target: Literal["psp"] = "psp"
    probability: Probability = Field(1.0, description="fraction of replies lost while active")


class PspNoReply(FaultSchedule):
    """The PSP swallows requests before doing anything: the caller times out, nothing charged."""

    kind: Literal["psp_no_reply"]
    target: Literal["psp"] = "psp"
    probability: Probability = 1.0


class PspOutage(FaultSchedule):
    """The PSP answers 503 to all (or a fraction of) requests."""

    kind: Literal["psp_outage"]
    target: Literal["psp"] = "psp"
    fraction: Probability = Field(1.0, description="1 = full outage, less = partial outage")


class PspErrors(FaultSchedule):
    """The PSP answers 5xx at a rate, before contacting the bank (nothing charged)."""

    kind: Literal["psp_errors"]
    target: Literal["psp"] = "psp"
    probability: Probability = 0.5


class PspLatency(FaultSchedule):
    """Latency added to every PSP request."""

    kind: Literal["psp_latency"]
    target: Literal["psp"] = "psp"
    added: Distribution = Field(description="extra latency per request")


class ConsumerCrash(FaultSchedule):
    """A consumer instance crashes (in-memory state lost) and restarts when the fault ends."""

    kind: Literal["consumer_crash"]
    target: Literal["executor", "wallet", "ledger"] = "executor"
    instance: NonNegativeInt = 0


Fault = Annotated[
    Union[PspReplyLostAfterCommit, PspNoReply, PspOutage, PspErrors, PspLatency, ConsumerCrash],
    Field(discriminator="kind"),
]
