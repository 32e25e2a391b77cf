"""Delivering each conversation's events to the desktops on this instance that joined it.

Three parts, each with one job: the ``ViewerRegistry`` (who watches what, and how far each
has got), the ``SubscriptionListener`` (this instance's one Redis Pub/Sub connection,
subscribed only to conversations with a viewer here) and the ``Replayer`` (catching a
viewer up from the stream after a join, a resume or a Redis reconnect). This module joins
them: it turns joins and leaves into subscriptions and replays, and live messages into
packets for the viewers that are not catching up.

Every event is in the conversation's stream, so nothing a viewer missed is lost; a viewer's
cursor (the last event id it was sent) makes sure nothing reaches it twice. An event is
encoded into its Socket.IO packet once, however many viewers receive it.

Concurrency: this runs under gevent, on one OS thread; greenlets switch only at Redis calls
and socket writes, and the viewer flags are read and written between those points, which
keeps catch-up and live delivery from overlapping for a viewer.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

import orjson

from aa_common.event_store import EventStore, StoredEvent, parse_event_id, split_channel_message
from aa_common.events import EVENT_TYPES
from ui_connector.listener import Router, SubscriptionListener
from ui_connector.pubsub_reads import ReadWithin, WaitReadable
from ui_connector.metrics import CATCH_UPS, CONVERSATIONS, DELIVERED, DELIVERY_LAG_SECONDS, REPLAYED
from ui_connector.replay import Replayer
from ui_connector.viewers import START_OF_STREAM, Viewer, ViewerRegistry

log = logging.getLogger(__name__)

Send = Callable[[str, str], None]  # (Engine.IO session id, encoded Socket.IO packet)
# (Engine.IO session id): returns once what was sent to it is written; False if the session is closing.
WaitWritten = Callable[[str], bool]
SUBSCRIBE_TIMEOUT_SECONDS = 10.0  # a thousand desktops reconnecting at once take seconds to confirm


class ConversationFanout:
    def __init__(self, store: EventStore, router: Router, send: Send, wait_written: WaitWritten,
                 spawn: Callable[..., object], sleep: Callable[[float], None], wait_readable: WaitReadable,
                 read_within: ReadWithin):
        self._send = send
        self._wait_written = wait_written
        self._spawn = spawn
        self._viewers = ViewerRegistry()
        self._listener = SubscriptionListener(router, self._viewers.watched, self._on_live,
                                              self._on_resubscribed, spawn, sleep, wait_readable, read_within)
        self._replayer = Replayer(store, self._viewers, self._deliver_replay, sleep)

    def watching(self) -> dict[str, int]:
        """Viewers per conversation on this instance."""
        return self._viewers.counts()

    def check_listener(self) -> None:
        self._listener.check_health()

    def join(self, sid: str, eio_sid: str, conversation: str, last_event_id: str | None) -> None:
        """Start sending ``conversation`` to ``sid``: first what it missed, then live.

        Raises TimeoutError when Redis does not confirm the subscription in time.
        """
        viewer = Viewer(sid, eio_sid, last_event_id or START_OF_STREAM)
        first = not self._viewers.watched(conversation)
        if self._viewers.add(conversation, viewer) is not viewer:
            return  # joined already
        if first:
            CONVERSATIONS.inc()
        self._listener.want(conversation)
        # Reading the stream before Redis confirms the subscription could miss an event
        # published in between: it would be in neither the read nor the channel.
        if not self._listener.wait_confirmed(conversation, SUBSCRIBE_TIMEOUT_SECONDS):
            self._remove(conversation, viewer)
            raise TimeoutError(f"Redis did not confirm the subscription to {conversation}")
        if self._viewers.is_current(conversation, viewer):
            self._spawn(self._replayer.catch_up, conversation, viewer)

    def leave(self, sid: str, conversation: str) -> Viewer | None:
        """Stop sending ``conversation`` to ``sid``; the viewer it had, if any (its cursor says how far it got)."""
        viewer = self._viewers.get(conversation, sid)
        if viewer is not None:
            self._remove(conversation, viewer)
        return viewer

    def leave_all(self, sid: str) -> dict[str, Viewer]:
        viewers = self._viewers.of_desktop(sid)
        for conversation, viewer in viewers.items():
            self._remove(conversation, viewer)
        return viewers

    def _remove(self, conversation: str, viewer: Viewer) -> None:
        if self._viewers.remove(conversation, viewer):
            CONVERSATIONS.dec()
            self._listener.release(conversation)

    def _on_live(self, conversation: str, message: str) -> None:
        stored = StoredEvent(*split_channel_message(message))
        encoded = event_packet(stored)
        if encoded is None:
            return
        data_type, packet = encoded
        position = parse_event_id(stored.event_id)
        sent = 0
        for viewer in self._viewers.of_conversation(conversation):
            if viewer.catching_up:
                viewer.missed_live = True
            elif viewer.advance(stored.event_id, position):
                self._send(viewer.eio_sid, packet)
                sent += 1
        if sent:
            DELIVERED.labels(data_type).inc(sent)
            DELIVERY_LAG_SECONDS.observe(max(0.0, time.time() - position[0] / 1000))  # stream ids are Redis' clock

    def _deliver_replay(self, conversation: str, viewer: Viewer, batch: list[StoredEvent]) -> None:
        sent: Counter[str] = Counter()
        for stored in batch:
            if not self._viewers.is_current(conversation, viewer):
                break
            encoded = event_packet(stored)
            if viewer.advance(stored.event_id, parse_event_id(stored.event_id)) and encoded is not None:
                self._send(viewer.eio_sid, encoded[1])
                sent[encoded[0]] += 1
                # A long history goes out as fast as the desktop reads it, and stops (its cursor with it)
                # when the desktop is let go.
                if not self._wait_written(viewer.eio_sid):
                    break
        for data_type, count in sent.items():
            DELIVERED.labels(data_type).inc(count)
        REPLAYED.inc(sum(sent.values()))

    def _on_resubscribed(self, conversation: str) -> None:
        for viewer in self._viewers.of_conversation(conversation):
            if viewer.catching_up:
                viewer.missed_live = True
            else:
                viewer.catching_up = True
                CATCH_UPS.inc()
                self._spawn(self._replayer.catch_up, conversation, viewer)


def event_packet(stored: StoredEvent) -> tuple[str, str] | None:
    """The event's name and the Socket.IO EVENT packet desktops receive for it: ``[data_type, payload]``
    with the payload the interceptor stored plus its ``event_id``. None (logged) for a malformed entry,
    which is skipped rather than allowed to stop delivery to the conversation's viewers."""
    try:
        parse_event_id(stored.event_id)
        event = orjson.loads(stored.payload)
    except ValueError:  # orjson.JSONDecodeError is one
        event = None
    if not isinstance(event, dict) or event.get("data_type") not in EVENT_TYPES:
        log.error("skipping a malformed event", extra={"event_id": stored.event_id})
        return None
    event["event_id"] = stored.event_id
    return event["data_type"], "2" + orjson.dumps([event["data_type"], event]).decode()
