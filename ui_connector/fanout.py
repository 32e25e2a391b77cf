"""Delivering each conversation's events to the desktops on this instance that joined it.

One Redis Pub/Sub connection per instance, subscribed only to the channels of
conversations that have a viewer here (subscribe on the first local join,
unsubscribe on the last leave). Every event is also in the conversation's stream,
so a viewer that joins late, resumes with ``lastEventId`` or was cut off by a Redis
reconnect catches up from the stream; a per-viewer cursor (the last event id it
was sent) makes sure nothing reaches it twice.

Concurrency: this runs under gevent, on one OS thread. Greenlets only switch at
Redis calls and socket writes, and the viewer flags below are read and written
between those points, which is what keeps catch-up and live delivery from
overlapping for a viewer.
"""
from __future__ import annotations

import json
import logging
import threading
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
MAX_BACKOFF_SECONDS = 5.0


@dataclass
class Viewer:
    """One desktop's view of one conversation."""

    cursor: str = START_OF_STREAM
    catching_up: bool = False
    missed_live: bool = False

    def is_new(self, event_id: str) -> bool:
        return parse_event_id(event_id) > parse_event_id(self.cursor)


@dataclass
class Subscription:
    confirmed: threading.Event = field(default_factory=threading.Event)
    viewers: dict[str, Viewer] = field(default_factory=dict)


class ConversationFanout:
    def __init__(self, store: EventStore, pubsub_client: redis.Redis, emit: Emit, spawn: Spawn, sleep: Sleep):
        self._store = store
        self._pubsub = pubsub_client.pubsub()
        self._emit = emit
        self._spawn = spawn
        self._sleep = sleep
        self._subscriptions: dict[str, Subscription] = {}
        self._listener = None

    def watching(self) -> dict[str, int]:
        """Viewers per conversation on this instance."""
        return {conversation: len(sub.viewers) for conversation, sub in self._subscriptions.items()}

    def join(self, sid: str, conversation: str, last_event_id: str | None) -> None:
        """Start sending ``conversation`` to ``sid``: first what it missed, then live.

        Raises redis.RedisError (or TimeoutError) when Redis cannot confirm the subscription.
        """
        subscription = self._subscriptions.get(conversation)
        if subscription and sid in subscription.viewers:
            return
        if subscription is None:
            subscription = self._subscribe(conversation)
        viewer = Viewer(cursor=last_event_id or START_OF_STREAM, catching_up=True)
        subscription.viewers[sid] = viewer
        try:
            self._wait_confirmed(conversation, subscription)
        except (redis.RedisError, TimeoutError):
            self.leave(sid, conversation)
            raise
        self._spawn(self._catch_up, sid, conversation, viewer)

    def leave(self, sid: str, conversation: str) -> None:
        subscription = self._subscriptions.get(conversation)
        if subscription is None or subscription.viewers.pop(sid, None) is None:
            return
        if not subscription.viewers:
            del self._subscriptions[conversation]
            try:
                self._pubsub.unsubscribe(channel_name(conversation))
            except redis.RedisError:
                log.warning("unsubscribe failed; the reconnect will not resubscribe it",
                            extra={"conversation": conversation})

    def leave_all(self, sid: str) -> None:
        for conversation in [c for c, sub in self._subscriptions.items() if sid in sub.viewers]:
            self.leave(sid, conversation)

    def _subscribe(self, conversation: str) -> Subscription:
        subscription = Subscription()
        self._subscriptions[conversation] = subscription
        try:
            self._pubsub.subscribe(channel_name(conversation))
        except redis.RedisError:
            del self._subscriptions[conversation]
            raise
        if self._listener is None:
            self._listener = self._spawn(self._listen)
        return subscription

    def _wait_confirmed(self, conversation: str, subscription: Subscription) -> None:
        # Reading the stream before Redis confirms the subscription could miss an
        # event published in between: it would be in neither the read nor the channel.
        if not subscription.confirmed.wait(SUBSCRIBE_TIMEOUT_SECONDS):
            raise TimeoutError(f"Redis did not confirm the subscription to {conversation}")

    def _catch_up(self, sid: str, conversation: str, viewer: Viewer) -> None:
        """Send the viewer every stored event after its cursor, retrying until Redis answers."""
        backoff = 0.1
        while self._is_current(sid, conversation, viewer):
            try:
                self._read_until_caught_up(sid, viewer, conversation)
                return
            except redis.RedisError as error:
                log.warning("catch-up failed; retrying", extra={"conversation": conversation,
                                                                  "error": type(error).__name__})
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _read_until_caught_up(self, sid: str, viewer: Viewer, conversation: str) -> None:
        while True:
            viewer.missed_live = False
            while True:
                batch = self._store.read_after(conversation, viewer.cursor, REPLAY_BATCH)
                for stored in batch:
                    self._deliver(sid, viewer, stored)
                if len(batch) < REPLAY_BATCH:
                    break
            # A live event that arrived while reading is in the stream too: read again.
            if not viewer.missed_live:
                viewer.catching_up = False
                return

    def _is_current(self, sid: str, conversation: str, viewer: Viewer) -> bool:
        subscription = self._subscriptions.get(conversation)
        return subscription is not None and subscription.viewers.get(sid) is viewer

    def _deliver(self, sid: str, viewer: Viewer, stored: StoredEvent, event: dict | None = None) -> None:
        if not viewer.is_new(stored.event_id):
            return
        viewer.cursor = stored.event_id
        event = dict(event if event is not None else json.loads(stored.payload))
        event["event_id"] = stored.event_id
        self._emit(event["data_type"], event, sid)

    def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                message = self._pubsub.get_message(timeout=1.0)
                backoff = 0.1
            except redis.RedisError as error:
                log.warning("Redis Pub/Sub connection lost; reconnecting", extra={"error": type(error).__name__})
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if message is None:
                continue
            try:
                self._handle(message)
            except Exception:  # one bad message must not stop delivery for every conversation
                log.exception("could not deliver a Redis Pub/Sub message")

    def _handle(self, message: dict) -> None:
        conversation = conversation_of_channel(message["channel"])
        subscription = self._subscriptions.get(conversation)
        if subscription is None:
            return
        if message["type"] == "subscribe":
            self._on_subscribed(conversation, subscription)
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
        event_id, payload = split_channel_message(data)
        stored = StoredEvent(event_id, payload)
        event = json.loads(payload)
        for sid, viewer in list(subscription.viewers.items()):
            if viewer.catching_up:
                viewer.missed_live = True
            else:
                self._deliver(sid, viewer, stored, event)
