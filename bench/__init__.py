"""Benchmarks of the paychaos model (``make bench``): throughput, events, memory, sweep speedup."""
