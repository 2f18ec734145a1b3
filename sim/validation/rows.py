"""What every check returns: one row of the validation table, and the run sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.validation.stats import Estimate

ROOT = Path(__file__).resolve().parent.parent.parent
MODELS_DIR = ROOT / "models"
"""The repository's model files: validations run the real models, with overrides."""
ROOT_DOCS = ROOT / "docs"

FULL_MODEL = "full model"
COMPONENT = "component harness"
POLICY_OBJECT = "policy object"


@dataclass(frozen=True)
class Size:
    """How much simulation each check does: ``ci`` for the test suite, ``full`` for the docs."""

    name: str
    replications: int
    scale: float
    """Multiplies each check's run length or request count."""


CI = Size("ci", replications=4, scale=0.1)
FULL = Size("full", replications=8, scale=1.0)
SIZES = {"ci": CI, "full": FULL}


@dataclass(frozen=True)
class Row:
    """One line of docs/validation.md: a reference, what the simulator gave, and whether they agree.

    ``criterion`` says what "agrees" means: the reference inside the 95 % interval, or an
    ordering/bound claimed by the source (e.g. "< 0.5 × exponential").
    """

    check: str
    case: str
    reference: str
    simulated: Estimate
    criterion: str
    agrees: bool | None
    """None: reported for context, not a claim of the source."""
    through: str
    unit: str = ""
    reference_value: float | None = None
    """Set for "reference in the interval" claims: lets the report judge them family-wise too."""
    condition: bool = True
    """A further condition such a claim must meet (e.g. a bound on the mean)."""


FAMILY_ALPHA = 0.05


def verdict(row: Row, claims: int) -> str | None:
    """"yes", "family" (outside the 95 % interval but inside the Bonferroni family-wise one:
    with ``claims`` checks at 95 %, about one in twenty misses by chance), "no", or None for a
    number reported without a claim.

    Only "reference in the interval" claims get the family-wise reading; ordering claims
    (a whole interval above or below a value) are judged at 95 % as they stand."""
    if row.agrees is None:
        return None
    if row.agrees:
        return "yes"
    if row.reference_value is None or not row.condition:
        return "no"
    low, high = row.simulated.interval(1.0 - FAMILY_ALPHA / max(1, claims))
    return "family" if low <= row.reference_value <= high else "no"


def within(reference: float, simulated: Estimate) -> bool:
    """The reference lies inside the simulated 95 % interval (a degenerate interval — every
    replication identical — must match to rounding)."""
    if simulated.high - simulated.low < 1e-12:
        return abs(simulated.mean - reference) <= 1e-9 * max(1.0, abs(reference))
    return simulated.contains(reference)
