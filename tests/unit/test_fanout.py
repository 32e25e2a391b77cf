"""The fan-out's parts joined, on a real redis-server, with threads for greenlets: a join replays
what is stored then sends the live tail, each event encoded once and sent to every viewer."""
from __future__ import annotations

import contextlib
import json
import select
import threading
import time
import uuid

import pytest

from aa_common.config import RedisSettings, RetentionSettings
from aa_common.event_store import EventStore
from aa_common.events import Event, EventKind
from aa_common.redis_client import connect_redis
from ui_connector.fanout import ConversationFanout, event_packet
from ui_connector.listener import SingleNode


class Sent:
    def __init__(self):
        self.packets: list[tuple[str, str]] = []
        self.waits: list[tuple[str, int]] = []
        self.let_go: set[str] = set()  # sessions whose connection is closing
        self._changed = threading.Condition()

    def __call__(self, eio_sid: str, packet: str) -> None:
        with self._changed:
            self.packets.append((eio_sid, packet))
            self._changed.notify_all()

    def wait_written(self, eio_sid: str) -> bool:
        """Where a replay waited for the desktop: the packets it had been sent by then."""
        self.waits.append((eio_sid, sum(s == eio_sid for s, _ in self.packets)))
        return eio_sid not in self.let_go

    def message_ids(self, eio_sid: str, count: int) -> list[str]:
        with self._changed:
            self._changed.wait_for(lambda: sum(s == eio_sid for s, _ in self.packets) >= count, 10)
            return [json.loads(packet[1:])[1]["message_id"] for s, packet in self.packets if s == eio_sid]


@pytest.fixture
def fanout(redis_server):
    settings = RedisSettings(host="127.0.0.1", port=redis_server.port)
    store = EventStore(connect_redis(settings), RetentionSettings())
    sent = Sent()
    fanout = ConversationFanout(store, SingleNode(connect_redis(settings, pubsub=True)), sent, sent.wait_written,
                                spawn=lambda fn, *args: threading.Thread(target=fn, args=args, daemon=True).start(),
                                sleep=time.sleep,
                                wait_readable=lambda sockets, timeout: select.select(sockets, [], [], timeout)[0],
                                read_within=lambda seconds: contextlib.nullcontext())
    return fanout, store, sent


def append(store: EventStore, conversation: str, message_id: str) -> str:
    return store.append(Event(conversation, "{}", EventKind.NEW_MESSAGE, "t", message_id, "t")).event_id


def test_a_join_replays_then_streams_to_every_viewer(fanout):
    fanout, store, sent = fanout
    conversation = f"projects/p/conversations/{uuid.uuid4().hex}"
    append(store, conversation, "stored")
    fanout.join("sid-1", "eio-1", conversation, None)
    assert sent.message_ids("eio-1", 1) == ["stored"]

    fanout.join("sid-2", "eio-2", conversation, None)
    assert sent.message_ids("eio-2", 1) == ["stored"]
    append(store, conversation, "live")

    assert sent.message_ids("eio-1", 2) == ["stored", "live"]
    assert sent.message_ids("eio-2", 2) == ["stored", "live"]
    live_packets = {packet for _, packet in sent.packets if "live" in packet}
    assert len(live_packets) == 1, "one encoding for both viewers"
    assert fanout.watching() == {conversation: 2}


def test_leave_all_stops_delivery_and_says_how_far_each_viewer_got(fanout):
    fanout, store, sent = fanout
    conversation = f"projects/p/conversations/{uuid.uuid4().hex}"
    fanout.join("sid", "eio", conversation, None)
    last = append(store, conversation, "seen")
    sent.message_ids("eio", 1)

    viewers = fanout.leave_all("sid")
    append(store, conversation, "after leaving")
    time.sleep(0.3)

    assert viewers[conversation].cursor == last
    assert sent.message_ids("eio", 1) == ["seen"] and fanout.watching() == {}


def test_a_malformed_entry_is_skipped():
    from aa_common.event_store import StoredEvent

    assert event_packet(StoredEvent("1-0", "not json")) is None
    assert event_packet(StoredEvent("1-0", '{"data_type": "no-such-event"}')) is None
    name, packet = event_packet(StoredEvent("1-0", json.dumps({"data_type": EventKind.NEW_MESSAGE, "data": "{}"})))
    assert name == EventKind.NEW_MESSAGE and json.loads(packet[1:]) == [
        EventKind.NEW_MESSAGE, {"data_type": EventKind.NEW_MESSAGE, "data": "{}", "event_id": "1-0"}]


def test_a_replay_waits_for_the_desktop_to_take_each_event_before_sending_the_next(fanout):
    fanout, store, sent = fanout
    conversation = f"projects/p/conversations/{uuid.uuid4().hex}"
    for index in range(600):  # more than one batch read from the stream
        append(store, conversation, f"history-{index}")
    fanout.join("sid-1", "eio-1", conversation, None)
    assert sent.message_ids("eio-1", 600) == [f"history-{index}" for index in range(600)]
    assert sent.waits[:600] == [("eio-1", count) for count in range(1, 601)]


def test_a_replay_stops_where_the_desktop_was_let_go_and_its_cursor_with_it(fanout):
    fanout, store, sent = fanout
    conversation = f"projects/p/conversations/{uuid.uuid4().hex}"
    ids = [append(store, conversation, f"history-{index}") for index in range(10)]
    sent.let_go.add("eio-1")  # its connection is closing: what it is sent now is not written
    fanout.join("sid-1", "eio-1", conversation, None)
    assert sent.message_ids("eio-1", 1) == ["history-0"]
    time.sleep(0.2)  # nothing more comes
    assert sent.message_ids("eio-1", 1) == ["history-0"]
    assert fanout.leave("sid-1", conversation).cursor == ids[0]  # what a rejoin without lastEventId resumes after
