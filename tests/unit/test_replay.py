"""Catching a viewer up from the stream, through its seams: the store (on a real redis-server),
deliver and sleep."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

import pytest
import redis

from aa_common.config import RetentionSettings
from aa_common.event_store import EventStore, parse_event_id
from aa_common.events import Event, EventKind
from ui_connector.replay import Replayer
from ui_connector.viewers import Viewer, ViewerRegistry


@dataclass
class Harness:
    store: EventStore
    conversation: str = field(default_factory=lambda: f"projects/p/conversations/{uuid.uuid4().hex}")
    registry: ViewerRegistry = field(default_factory=ViewerRegistry)
    batches: list[list[str]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    on_delivery: object = None
    _ids: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self):
        self.viewer = self.registry.add(self.conversation, Viewer("sid", "eio"))

    def replayer(self, batch: int) -> Replayer:
        return Replayer(self.store, self.registry, self.deliver, self.sleeps.append, batch=batch)

    def store_events(self, count: int) -> list[str]:
        return [self.store.append(Event(self.conversation, "{}", EventKind.NEW_MESSAGE, "t", f"m{next(self._ids)}",
                                        "t")).event_id for _ in range(count)]

    def deliver(self, conversation: str, viewer: Viewer, batch) -> None:
        self.batches.append([stored.event_id for stored in batch])
        for stored in batch:
            viewer.advance(stored.event_id, parse_event_id(stored.event_id))
        if self.on_delivery:
            self.on_delivery(viewer)


@pytest.fixture
def harness(redis_client) -> Harness:
    return Harness(EventStore(redis_client, RetentionSettings()))


def test_every_stored_event_after_the_cursor_in_batches_then_live(harness):
    ids = harness.store_events(7)
    harness.replayer(batch=3).catch_up(harness.conversation, harness.viewer)
    assert harness.batches == [ids[0:3], ids[3:6], ids[6:7]]
    assert harness.viewer.catching_up is False


def test_a_live_event_missed_during_the_last_batch_makes_it_read_on(harness):
    ids = harness.store_events(2)
    later: list[str] = []

    def a_live_event_arrives_once(viewer):
        if not later:
            later.extend(harness.store_events(1))
            viewer.missed_live = True

    harness.on_delivery = a_live_event_arrives_once
    harness.replayer(batch=10).catch_up(harness.conversation, harness.viewer)
    assert harness.batches == [ids, later]


def test_a_viewer_that_left_is_not_replayed_to(harness):
    harness.store_events(6)
    harness.on_delivery = lambda viewer: harness.registry.remove(harness.conversation, viewer)
    harness.replayer(batch=2).catch_up(harness.conversation, harness.viewer)
    assert len(harness.batches) == 1


def test_redis_errors_are_retried_with_a_growing_backoff(harness, monkeypatch):
    ids = harness.store_events(2)
    failures = iter([redis.ConnectionError(), redis.TimeoutError()])
    read_after = harness.store.read_after

    def flaky(*args):
        error = next(failures, None)
        if error:
            raise error
        return read_after(*args)

    monkeypatch.setattr(harness.store, "read_after", flaky)
    harness.replayer(batch=3).catch_up(harness.conversation, harness.viewer)
    assert harness.batches == [ids] and harness.sleeps == [0.1, 0.2]


def test_a_read_redis_refuses_drops_the_viewer_instead_of_retrying_forever(harness, monkeypatch):
    def refused(*args):
        raise redis.ResponseError("Invalid stream ID")

    monkeypatch.setattr(harness.store, "read_after", refused)
    harness.replayer(batch=3).catch_up(harness.conversation, harness.viewer)
    assert harness.batches == [] and harness.sleeps == []
    assert not harness.registry.is_current(harness.conversation, harness.viewer)
