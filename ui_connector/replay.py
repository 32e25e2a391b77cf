"""Catching a viewer up from the conversation's stream: after a join, a resume or a Redis reconnect.

The replay reads the stream after the viewer's cursor in batches and hands each batch to
``deliver``; live events that arrive meanwhile are in the stream too (the viewer is marked
``missed_live``), so it reads on until a short batch with nothing missed. Redis errors are
retried with backoff for as long as the viewer is still there; Redis refusing the read (a
malformed cursor Redis will never accept) drops the viewer instead of retrying forever.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from aa_common.backoff import Backoff
from aa_common.event_store import EventStore, StoredEvent
from ui_connector.viewers import Viewer, ViewerRegistry

log = logging.getLogger(__name__)

Deliver = Callable[[str, Viewer, list[StoredEvent]], None]


class Replayer:
    def __init__(self, store: EventStore, registry: ViewerRegistry, deliver: Deliver,
                 sleep: Callable[[float], None], batch: int = 500, concurrent_reads: int = 16):
        self._store = store
        self._registry = registry
        self._deliver = deliver
        self._sleep = sleep
        self._batch = batch
        # Stream reads at once, so a reconnect with many viewers cannot drain the connection pool.
        self._reads = threading.BoundedSemaphore(concurrent_reads)

    def catch_up(self, conversation: str, viewer: Viewer) -> None:
        """Send the viewer every stored event after its cursor, then let live delivery take over."""
        backoff = Backoff()
        while self._registry.is_current(conversation, viewer):
            try:
                self._read_until_caught_up(conversation, viewer)
                return
            except redis.ResponseError:
                log.exception("Redis refused the replay read; dropping the viewer", extra={"conversation": conversation})
                self._registry.remove(conversation, viewer)
                return
            except redis.RedisError as error:
                log.warning("catch-up failed; retrying", extra={"conversation": conversation,
                                                                  "error": type(error).__name__})
                self._sleep(backoff.next_delay())

    def _read_until_caught_up(self, conversation: str, viewer: Viewer) -> None:
        while self._registry.is_current(conversation, viewer):
            viewer.missed_live = False
            with self._reads:
                batch = self._store.read_after(conversation, viewer.cursor, self._batch)
            if not self._registry.is_current(conversation, viewer):
                return
            self._deliver(conversation, viewer, batch)
            if len(batch) < self._batch and not viewer.missed_live:
                viewer.catching_up = False
                return
