"""Oracles: the invariants every run is checked against (docs/design.md §9).

Each oracle is a function ``(world) -> list[Violation]``; ``ALL_ORACLES`` runs before
reconciliation (so reconciliation cannot hide a break), ``AFTER_RECONCILIATION`` after it.
"""
