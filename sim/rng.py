"""Named, independent random streams derived from one master seed.

Every source of randomness in a run asks for its own stream by name (``"arrivals"``,
``"psp.latency"``...). A stream's seed depends only on the master seed and the name, hashed with
blake2b, so it is the same in every process whatever PYTHONHASHSEED is, and adding a stream never
shifts another: policies A and B see the same customers and the same fault timeline (common
random numbers).
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(master_seed: int, name: str) -> int:
    """A 64-bit seed for stream ``name`` under ``master_seed``."""
    digest = hashlib.blake2b(f"{master_seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Streams:
    """Factory of named ``random.Random`` streams; each name is handed out once."""

    def __init__(self, master_seed: int) -> None:
        self.master_seed = int(master_seed)
        self._issued: set[str] = set()

    def stream(self, name: str) -> random.Random:
        """The stream called ``name``. Asking twice for one name is a wiring bug."""
        if name in self._issued:
            raise ValueError(f"random stream {name!r} was already handed out")
        self._issued.add(name)
        return random.Random(derive_seed(self.master_seed, name))
