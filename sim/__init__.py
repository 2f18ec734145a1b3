"""paychaos: discrete-event simulation and chaos testing of online payment systems."""

__version__ = "0.1.0"
