"""The Redis Pub/Sub listener: the only user of this instance's Pub/Sub connection.

Joins and leaves only mark conversations to subscribe or release; the listener sends
SUBSCRIBE/UNSUBSCRIBE on its next turn (at most ``tick`` seconds later), keeping what fails
for the turn after (an outage). A released conversation keeps its confirmed subscription
until the listener's turn, so a quick re-join needs no new confirmation. Redis confirming a
channel a second time means the connection dropped and redis-py resubscribed: whatever was
published in between is only in the stream, and ``on_resubscribed`` lets viewers catch up.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from aa_common.backoff import Backoff
from aa_common.event_store import channel_name, conversation_of_channel
from ui_connector.pubsub_reads import PubSubReader, WaitReadable

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 30.0


class ListenerUnhealthy(RuntimeError):
    """The Pub/Sub listener has stopped turning: live events are not being delivered."""


class SubscriptionListener:
    def __init__(self, pubsub_client: redis.Redis, is_watched: Callable[[str], bool],
                 on_message: Callable[[str, str], None], on_resubscribed: Callable[[str], None],
                 spawn: Callable[..., object], sleep: Callable[[float], None], wait_readable: WaitReadable,
                 tick: float = 0.05):
        self._pubsub = pubsub_client.pubsub()
        self._reader = PubSubReader(self._pubsub, wait_readable)
        self._is_watched = is_watched
        self._on_message = on_message
        self._on_resubscribed = on_resubscribed
        self._spawn = spawn
        self._sleep = sleep
        self._tick = tick
        self._confirmed: dict[str, threading.Event] = {}  # conversation -> set once Redis confirmed it
        self._to_subscribe: set[str] = set()
        self._to_release: set[str] = set()
        self._strays: set[str] = set()  # channels subscribed that no conversation here wants
        self._running = False
        self._last_turn = time.monotonic()

    def want(self, conversation: str) -> None:
        """Subscribe to ``conversation`` (a no-op when it already is, or is about to be)."""
        self._to_release.discard(conversation)
        if conversation not in self._confirmed:
            self._confirmed[conversation] = threading.Event()
            self._to_subscribe.add(conversation)
        self._start()

    def release(self, conversation: str) -> None:
        """Unsubscribe on the next turn, unless a viewer is back by then."""
        self._to_release.add(conversation)

    def wait_confirmed(self, conversation: str, timeout: float) -> bool:
        confirmed = self._confirmed.get(conversation)
        return confirmed is not None and confirmed.wait(timeout)

    def subscribed(self) -> int:
        return len(self._confirmed)

    def check_health(self) -> None:
        """For readiness: raise if the listener has not turned for a while."""
        if self._running and time.monotonic() - self._last_turn > STALE_AFTER_SECONDS:
            raise ListenerUnhealthy("the Redis Pub/Sub listener is stuck")

    def stop(self) -> None:
        self._running = False

    def _start(self) -> None:
        if not self._running:
            self._running = True
            self._last_turn = time.monotonic()
            self._spawn(self._run)

    def _run(self) -> None:
        backoff = Backoff()
        while self._running:
            self._last_turn = time.monotonic()
            try:
                self._turn()
                backoff.reset()
            except redis.RedisError as error:
                log.warning("Redis Pub/Sub connection lost; reconnecting", extra={"error": type(error).__name__})
                self._sleep(backoff.next_delay())
            except Exception:  # never let one bad turn stop delivery for every conversation
                log.exception("Redis Pub/Sub listener error; starting over on a fresh connection")
                self._pubsub.reset()
                self._to_subscribe.update(self._confirmed)
                self._sleep(backoff.next_delay())

    def _turn(self) -> None:
        self._apply_changes()
        message = self._reader.next_message(self._tick)
        while message is not None:  # drain what is buffered before looking at joins again
            self._handle(message)
            message = self._reader.next_message(0) if self._reader.buffered() else None

    def _apply_changes(self) -> None:
        """Send the SUBSCRIBE/UNSUBSCRIBE that joins and leaves asked for; keep what fails for the next turn."""
        released = [c for c in self._to_release if c in self._confirmed and not self._is_watched(c)]
        self._to_release.clear()
        for conversation in released:
            del self._confirmed[conversation]
        unwanted = {channel_name(c) for c in released} | {
            channel for channel in self._strays if conversation_of_channel(channel) not in self._confirmed}
        self._strays.clear()
        wanted = [c for c in self._to_subscribe if c in self._confirmed]
        self._to_subscribe.clear()
        try:
            if unwanted:
                self._pubsub.unsubscribe(*unwanted)
            if wanted:
                self._pubsub.subscribe(*map(channel_name, wanted))
        except BaseException:
            self._strays.update(unwanted)
            self._to_subscribe.update(c for c in wanted if c in self._confirmed)
            raise

    def _handle(self, message: dict) -> None:
        conversation = conversation_of_channel(message["channel"])
        confirmed = self._confirmed.get(conversation)
        if confirmed is None:
            if message["type"] in ("subscribe", "message"):
                # Nobody here watches it: an UNSUBSCRIBE lost to an outage was resubscribed on reconnect.
                self._strays.add(message["channel"])
            return
        if message["type"] == "message":
            self._on_message(conversation, message["data"])
        elif message["type"] == "subscribe":
            if confirmed.is_set():
                log.info("resubscribed after a reconnect; catching viewers up", extra={"conversation": conversation})
                self._on_resubscribed(conversation)
            else:
                confirmed.set()
