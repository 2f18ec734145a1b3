"""Validation: the simulator against queueing theory and published retry results (docs/design.md §13).

One module per check (``mmc``, ``retry_cost``, ``hot_seller``, ``sync_async``), each returning
rows of reference value, simulated value and 95 % confidence interval; ``report`` renders them
into ``docs/validation.md`` (``make validate`` = ``python -m sim.validation``).
"""
