"""Delivering each conversation's events to the desktops on this instance that joined it.

One Redis Pub/Sub connection per instance, subscribed only to the channels of
conversations that have a viewer here (subscribed on the first local join,
unsubscribed on the last leave). Every event is also in the conversation's stream,
so a viewer that joins late, resumes with ``lastEventId`` or was cut off by a Redis
reconnect catches up from the stream; a per-viewer cursor (the last event id it
was sent) makes sure nothing reaches it twice.

Concurrency: this runs under gevent, on one OS thread. Only the listener greenlet
touches the Pub/Sub connection and decides when a subscription ends: joins and
leaves only mark conversations to subscribe or release, and the listener sends
SUBSCRIBE/UNSUBSCRIBE on its next turn (retrying what failed during an outage). A
conversation whose last viewer left keeps its confirmed subscription until the
listener releases it, so a quick re-join needs no new confirmation.
Greenlets switch only at Redis calls and socket writes, and the viewer flags below
are read and written between those points, which keeps catch-up and live delivery
from overlapping for a viewer.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from aa_common.event_store import (
    EventStore,
    StoredEvent,
    channel_name,
    conversation_of_channel,
    parse_event_id,
    split_channel_message,
)

log = logging.getLogger(__name__)

Emit = Callable[[str, dict, str], None]
Spawn = Callable[..., object]
Sleep = Callable[[float], None]

START_OF_STREAM = "0-0"
REPLAY_BATCH = 500
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
LISTEN_TICK_SECONDS = 0.05  # how soon the listener notices a new join or leave
MAX_BACKOFF_SECONDS = 5.0
CONCURRENT_CATCH_UPS = 16  # stream reads at once, so a reconnect with many viewers cannot drain the pool
STALE_LISTENER_SECONDS = 30.0


@dataclass
class Viewer:
    """One desktop's view of one conversation."""

    cursor: str = START_OF_STREAM
    catching_up: bool = True
    missed_live: bool = False

    def is_new(self, event_id: str) -> bool:
        return parse_event_id(event_id) > parse_event_id(self.cursor)


@dataclass
class Subscription:
    confirmed: threading.Event = field(default_factory=threading.Event)
    viewers: dict[str, Viewer] = field(default_factory=dict)


class ListenerUnhealthy(RuntimeError):
    """The Pub/Sub listener has stopped turning: live events are not being delivered."""


class ConversationFanout:
    def __init__(self, store: EventStore, pubsub_client: redis.Redis, emit: Emit, spawn: Spawn, sleep: Sleep):
        self._store = store
        self._pubsub = pubsub_client.pubsub()
        self._emit = emit
        self._spawn = spawn
        self._sleep = sleep
        self._subscriptions: dict[str, Subscription] = {}
        self._to_subscribe: set[str] = set()
        self._to_release: set[str] = set()
        self._strays: set[str] = set()  # channels subscribed that no conversation here wants
        self._catch_up_slots = threading.BoundedSemaphore(CONCURRENT_CATCH_UPS)
        self._listener = None
        self._last_turn = time.monotonic()

    def watching(self) -> dict[str, int]:
        """Viewers per conversation on this instance."""
        return {conversation: len(sub.viewers) for conversation, sub in self._subscriptions.items() if sub.viewers}

    def check_listener(self) -> None:
        """For readiness: raise if the listener has not turned for a while."""
        if self._listener is not None and time.monotonic() - self._last_turn > STALE_LISTENER_SECONDS:
            raise ListenerUnhealthy("the Redis Pub/Sub listener is stuck")

    def join(self, sid: str, conversation: str, last_event_id: str | None) -> None:
        """Start sending ``conversation`` to ``sid``: first what it missed, then live.

        Raises TimeoutError when Redis does not confirm the subscription in time.
        """
        subscription = self._subscriptions.get(conversation)
        if subscription is None:
            subscription = self._subscriptions[conversation] = Subscription()
            self._to_subscribe.add(conversation)
        if sid in subscription.viewers:
            return
        viewer = Viewer(cursor=last_event_id or START_OF_STREAM)
        subscription.viewers[sid] = viewer
        self._to_release.discard(conversation)
        self._ensure_listener()
        # Reading the stream before Redis confirms the subscription could miss an event
        # published in between: it would be in neither the read nor the channel.
        if not subscription.confirmed.wait(SUBSCRIBE_TIMEOUT_SECONDS):
            self._remove(sid, conversation, viewer)
            raise TimeoutError(f"Redis did not confirm the subscription to {conversation}")
        if self._is_current(sid, conversation, viewer):
            self._spawn(self._catch_up, sid, conversation, viewer)

    def leave(self, sid: str, conversation: str) -> None:
        subscription = self._subscriptions.get(conversation)
        if subscription is not None:
            self._remove(sid, conversation, subscription.viewers.get(sid))

    def _remove(self, sid: str, conversation: str, viewer: Viewer | None) -> None:
        """Remove this viewer (not a later one of the same desktop); the listener releases the channel."""
        subscription = self._subscriptions.get(conversation)
        if viewer is None or subscription is None or subscription.viewers.get(sid) is not viewer:
            return
        del subscription.viewers[sid]
        if not subscription.viewers:
            self._to_release.add(conversation)

    def leave_all(self, sid: str) -> None:
        for conversation in [c for c, sub in self._subscriptions.items() if sid in sub.viewers]:
            self.leave(sid, conversation)

    def _ensure_listener(self) -> None:
        if self._listener is None:
            self._last_turn = time.monotonic()
            self._listener = self._spawn(self._listen)

    def _is_current(self, sid: str, conversation: str, viewer: Viewer) -> bool:
        subscription = self._subscriptions.get(conversation)
        return subscription is not None and subscription.viewers.get(sid) is viewer

    # -- catching a viewer up from the stream ------------------------------------------

    def _catch_up(self, sid: str, conversation: str, viewer: Viewer) -> None:
        """Send the viewer every stored event after its cursor, retrying until Redis answers."""
        backoff = 0.1
        while self._is_current(sid, conversation, viewer):
            try:
                self._read_until_caught_up(sid, conversation, viewer)
                return
            except redis.ResponseError:
                log.exception("Redis refused the replay read; dropping the viewer", extra={"conversation": conversation})
                self._remove(sid, conversation, viewer)
                return
            except redis.RedisError as error:
                log.warning("catch-up failed; retrying", extra={"conversation": conversation,
                                                                  "error": type(error).__name__})
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _read_until_caught_up(self, sid: str, conversation: str, viewer: Viewer) -> None:
        while self._is_current(sid, conversation, viewer):
            viewer.missed_live = False
            batch = self._read_batch(conversation, viewer.cursor)
            for stored in batch:
                if not self._is_current(sid, conversation, viewer):
                    return
                self._deliver(sid, viewer, stored)
            # A live event that arrived while reading is in the stream too: read on.
            if len(batch) < REPLAY_BATCH and not viewer.missed_live:
                viewer.catching_up = False
                return

    def _read_batch(self, conversation: str, after: str) -> list[StoredEvent]:
        with self._catch_up_slots:
            return self._store.read_after(conversation, after, REPLAY_BATCH)

    def _deliver(self, sid: str, viewer: Viewer, stored: StoredEvent, event: dict | None = None) -> None:
        if not viewer.is_new(stored.event_id):
            return
        viewer.cursor = stored.event_id
        event = event if event is not None else _parse(stored)
        if event is None:
            return
        self._emit(event["data_type"], {**event, "event_id": stored.event_id}, sid)

    # -- the listener: the only user of the Pub/Sub connection -----------------------------

    def _listen(self) -> None:
        backoff = 0.1
        while True:
            self._last_turn = time.monotonic()
            try:
                self._apply_subscription_changes()
                message = self._pubsub.get_message(timeout=LISTEN_TICK_SECONDS)
                while message is not None:  # drain what is buffered before looking at joins again
                    self._handle(message)
                    message = self._pubsub.get_message(timeout=0)
                backoff = 0.1
            except redis.RedisError as error:
                log.warning("Redis Pub/Sub connection lost; reconnecting", extra={"error": type(error).__name__})
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception:  # never let one bad turn stop delivery for every conversation
                log.exception("Redis Pub/Sub listener error; starting over on a fresh connection")
                self._pubsub.reset()
                self._to_subscribe.update(self._subscriptions)
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _apply_subscription_changes(self) -> None:
        """Send the SUBSCRIBE/UNSUBSCRIBE that joins and leaves asked for; keep what fails for the next turn."""
        released = [c for c in self._to_release if c in self._subscriptions and not self._subscriptions[c].viewers]
        self._to_release.clear()
        for conversation in released:
            del self._subscriptions[conversation]
        unwanted = {channel_name(c) for c in released} | {
            channel for channel in self._strays if conversation_of_channel(channel) not in self._subscriptions}
        self._strays.clear()
        wanted = [c for c in self._to_subscribe if c in self._subscriptions]
        self._to_subscribe.clear()
        try:
            if unwanted:
                self._pubsub.unsubscribe(*unwanted)
            if wanted:
                self._pubsub.subscribe(*map(channel_name, wanted))
        except BaseException:
            self._strays.update(unwanted)
            self._to_subscribe.update(c for c in wanted if c in self._subscriptions)
            raise

    def _handle(self, message: dict) -> None:
        subscription = self._subscriptions.get(conversation_of_channel(message["channel"]))
        if subscription is None:
            if message["type"] in ("subscribe", "message"):
                # Nobody here watches it: an UNSUBSCRIBE lost to an outage was resubscribed on reconnect.
                self._strays.add(message["channel"])
            return
        if message["type"] == "subscribe":
            self._on_subscribed(conversation_of_channel(message["channel"]), subscription)
        elif message["type"] == "message":
            self._on_event(subscription, message["data"])

    def _on_subscribed(self, conversation: str, subscription: Subscription) -> None:
        if not subscription.confirmed.is_set():
            subscription.confirmed.set()
            return
        # A second confirmation means the connection dropped and redis-py resubscribed:
        # whatever was published meanwhile is only in the stream.
        log.info("resubscribed after a reconnect; catching viewers up", extra={"conversation": conversation})
        for sid, viewer in subscription.viewers.items():
            if viewer.catching_up:
                viewer.missed_live = True
            else:
                viewer.catching_up = True
                self._spawn(self._catch_up, sid, conversation, viewer)

    def _on_event(self, subscription: Subscription, data: str) -> None:
        stored = StoredEvent(*split_channel_message(data))
        event = _parse(stored)
        if event is None:
            return
        for sid, viewer in list(subscription.viewers.items()):
            if viewer.catching_up:
                viewer.missed_live = True
            else:
                self._deliver(sid, viewer, stored, event)


def _parse(stored: StoredEvent) -> dict | None:
    """The event a stream entry or channel message holds; None (logged) for a malformed one, which is
    skipped rather than allowed to stop delivery to the conversation's viewers."""
    try:
        event = json.loads(stored.payload)
        parse_event_id(stored.event_id)
        if isinstance(event, dict) and isinstance(event.get("data_type"), str):
            return event
    except ValueError:
        pass
    log.error("skipping a malformed event", extra={"event_id": stored.event_id})
    return None
