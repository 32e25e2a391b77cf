"""Fixed-window counters in Redis, shared by every UI connector instance."""
from __future__ import annotations

from dataclasses import dataclass

import redis

WINDOW_SECONDS = 60
# Forgive only a count that still exists: DECR on a key whose window ended meanwhile would create
# it at -1 with no expiry, and every later count would then add up forever.
_FORGIVE = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end"


@dataclass(frozen=True)
class Admission:
    admitted: bool
    retry_after_seconds: int  # until the current window ends


class WindowCounter:
    """Counts attempts per key over WINDOW_SECONDS windows. The count and the check are one
    transaction, so concurrent attempts on any number of instances cannot all slip under the limit."""

    def __init__(self, client: redis.Redis, prefix: str, limit: int):
        self._client = client
        self._prefix = prefix
        self._limit = limit
        self._forgive = client.register_script(_FORGIVE)

    def admit(self, key: str) -> Admission:
        """Count one attempt; not admitted once the key has used up the window's limit."""
        name = self._prefix + key
        pipeline = self._client.pipeline(transaction=True)
        pipeline.set(name, 0, ex=WINDOW_SECONDS, nx=True)
        pipeline.incr(name)
        pipeline.ttl(name)
        _, attempts, ttl = pipeline.execute()
        return Admission(attempts <= self._limit, max(ttl, 1))

    def forgive(self, key: str) -> None:
        """Take back one counted attempt (a registration that succeeded, say)."""
        self._forgive(keys=[self._prefix + key])
