"""The one backoff both services' retry loops use: exponential, capped, reset after a success."""
from __future__ import annotations


class Backoff:
    def __init__(self, first: float = 0.1, cap: float = 5.0, factor: float = 2.0):
        self._first = first
        self._cap = cap
        self._factor = factor
        self._next = first

    def next_delay(self) -> float:
        """How long to wait before the next attempt; each call waits longer, up to the cap."""
        delay = self._next
        self._next = min(self._next * self._factor, self._cap)
        return delay

    def reset(self) -> None:
        self._next = self._first
