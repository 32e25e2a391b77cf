"""Reading Pub/Sub messages a burst at a time, on a real redis-server: every message, in order, and
never a read that waits on an idle connection."""
from __future__ import annotations

import select
import socket
import threading
import time

import pytest
import redis

from aa_common.config import RedisSettings
from aa_common.redis_client import connect_redis
from devstack.processes import RedisServer
from ui_connector.pubsub_reads import PubSubReader


def wait_readable(sockets: list, timeout: float) -> list:
    return select.select(sockets, [], [], timeout)[0]


@pytest.fixture
def server():
    server = RedisServer().start()
    yield server
    server.remove()


def subscribed_reader(server, *channels: str) -> tuple[redis.client.PubSub, PubSubReader]:
    pubsub = connect_redis(RedisSettings(host="127.0.0.1", port=server.port), pubsub=True).pubsub()
    pubsub.subscribe(*channels)
    reader = PubSubReader(pubsub, wait_readable, socket.socketpair()[1])
    confirmed = 0
    while confirmed < len(channels):
        message = reader.next_message(1)
        confirmed += bool(message and message["type"] == "subscribe")
    return pubsub, reader


def read_all(reader: PubSubReader, count: int) -> list[str]:
    received: list[str] = []
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        message = reader.next_message(0.05)
        while message is not None:
            if message["type"] == "message":
                received.append(message["data"])
            message = reader.next_message(0) if reader.buffered() else None
    return received


def test_every_message_arrives_in_order_bursts_included(server):
    _, reader = subscribed_reader(server, "ch")
    publisher = redis.Redis(port=server.port)
    pipeline = publisher.pipeline(transaction=False)
    for index in range(2000):
        pipeline.publish("ch", f"m{index}")
    pipeline.execute()

    assert read_all(reader, 2000) == [f"m{index}" for index in range(2000)]


def test_a_wake_up_ends_the_wait_at_once(server):
    pubsub = connect_redis(RedisSettings(host="127.0.0.1", port=server.port), pubsub=True).pubsub()
    pubsub.subscribe("ch")
    wake_up, woken = socket.socketpair()
    reader = PubSubReader(pubsub, wait_readable, woken)
    while reader.next_message(0.2) is not None:  # the confirmation
        pass
    wake_up.send(b"!")
    started = time.monotonic()
    assert reader.next_message(5) is None and time.monotonic() - started < 1


def test_an_idle_or_unsubscribed_connection_never_blocks(server):
    pubsub, reader = subscribed_reader(server, "ch")
    started = time.monotonic()
    assert reader.next_message(0.2) is None
    pubsub.unsubscribe("ch")
    while reader.next_message(0.2) is not None:  # the unsubscribe confirmation
        pass
    assert reader.next_message(0.2) is None
    assert time.monotonic() - started < 3


def test_a_restarted_server_is_reconnected_and_resubscribed(server):
    _, reader = subscribed_reader(server, "ch")
    server.stop()
    with pytest.raises(redis.ConnectionError):
        for _ in range(20):
            reader.next_message(0.05)
    server.start()
    resubscribed = threading.Event()
    deadline = time.monotonic() + 10
    while not resubscribed.is_set() and time.monotonic() < deadline:
        try:
            message = reader.next_message(0.05)
        except redis.ConnectionError:
            time.sleep(0.1)
            continue
        if message and message["type"] == "subscribe":
            resubscribed.set()
    redis.Redis(port=server.port).publish("ch", "after")

    assert resubscribed.is_set() and read_all(reader, 1) == ["after"]
