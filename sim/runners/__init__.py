"""Runners: one run, replications, comparisons, sweeps, exploration."""
