"""One loop for everything that must happen to a connection at a given time.

A session that has not authenticated in time, a JWT that expires, a connection that
reaches its maximum age: each is a deadline with an action. One greenlet checks them
all every ``tick`` seconds, instead of a sleeping greenlet per connection that would
outlive the connection it was started for. Cancelling a deadline frees it at once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Action = Callable[[], None]
Spawn = Callable[..., object]
Sleep = Callable[[float], None]


class Deadlines:
    def __init__(self, spawn: Spawn, sleep: Sleep, tick: float = 1.0, clock: Callable[[], float] = time.time):
        self._spawn = spawn
        self._sleep = sleep
        self._tick = tick
        self._clock = clock
        self._due: dict[Hashable, tuple[float, Action]] = {}
        self._loop: object | None = None  # the running loop's token; None when stopped

    def set(self, key: Hashable, when: float, action: Action) -> None:
        """Run ``action`` at ``when`` (a ``time.time()`` value), replacing any deadline ``key`` had."""
        self._due[key] = (when, action)
        if self._loop is None:
            self._loop = token = object()
            self._spawn(self._run, token)

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def when(self, key: Hashable) -> float | None:
        entry = self._due.get(key)
        return entry[0] if entry else None

    def __len__(self) -> int:
        return len(self._due)

    def run_due(self) -> None:
        """Run every action whose time has come (each at most once)."""
        now = self._clock()
        due = [(key, action) for key, (when, action) in self._due.items() if when <= now]
        for key, action in due:
            if self._due.get(key, (None, None))[1] is not action:
                continue  # cancelled or replaced by an earlier action of this turn
            del self._due[key]
            try:
                action()
            except Exception:  # one failing action must not stop the others, now or later
                log.exception("a connection deadline action failed")

    def _run(self, token: object) -> None:
        while self._loop is token:
            self._sleep(self._tick)
            if self._loop is token:
                self.run_due()

    def stop(self) -> None:
        """End the loop (deadlines are kept; the next ``set`` starts a new loop)."""
        self._loop = None
