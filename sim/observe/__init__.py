"""Observations of a run: streaming counters, histograms, time bins, and an opt-in trace."""
