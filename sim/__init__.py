"""paychaos: discrete-event simulation and chaos testing of online payment systems."""

from sim import native as _native

__version__ = "0.1.0"

_native.install()  # the compiled hot path, if built and matching the sources (see sim/native.py)
