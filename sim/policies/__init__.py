"""Resilience policies architects compare: retries, breakers, budgets, throttling, fallbacks."""
