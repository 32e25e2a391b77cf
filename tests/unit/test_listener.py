"""The Pub/Sub listener, turn by turn, on a real redis-server: subscriptions follow joins and
leaves, messages reach their conversation, and a reconnect says viewers must catch up."""
from __future__ import annotations

import select
import uuid

import pytest
import redis

from aa_common.config import RedisSettings
from aa_common.event_store import channel_name
from aa_common.redis_client import connect_redis
from ui_connector.listener import SingleNode, SubscriptionListener


class Recorder:
    def __init__(self):
        self.watched: set[str] = set()
        self.messages: list[tuple[str, str]] = []
        self.resubscribed: list[str] = []
        self.spawned: list = []


def wait_readable(sockets: list, timeout: float) -> list:
    return select.select(sockets, [], [], timeout)[0]


@pytest.fixture
def setup(redis_server):
    recorder = Recorder()
    client = connect_redis(RedisSettings(host="127.0.0.1", port=redis_server.port), pubsub=True)
    listener = SubscriptionListener(SingleNode(client), recorder.watched.__contains__,
                                    lambda c, data: recorder.messages.append((c, data)), recorder.resubscribed.append,
                                    spawn=lambda fn, *args: recorder.spawned.append(fn), sleep=lambda s: None,
                                    wait_readable=wait_readable, tick=0.05)
    return listener, recorder, redis.Redis(port=redis_server.port, decode_responses=True)


def turns(recorder: Recorder, count: int = 5) -> None:
    shard = recorder.spawned[0].__self__  # the one connection's loop, turned by hand
    for _ in range(count):
        shard.turn()


def conversation() -> str:
    return f"projects/p/conversations/{uuid.uuid4().hex}"


def subscribers(publisher: redis.Redis, name: str) -> int:
    return dict(publisher.pubsub_numsub(channel_name(name)))[channel_name(name)]


def test_a_wanted_conversation_is_confirmed_and_its_messages_arrive(setup):
    listener, recorder, publisher = setup
    watched = conversation()
    recorder.watched.add(watched)
    listener.want(watched)
    assert not listener.wait_confirmed(watched, 0)

    turns(recorder)
    publisher.publish(channel_name(watched), "1-0 {}")
    turns(recorder)

    assert listener.wait_confirmed(watched, 0)
    assert recorder.messages == [(watched, "1-0 {}")]
    assert len(recorder.spawned) == 1, "one connection, one loop"


def test_a_release_unsubscribes_unless_a_viewer_came_back(setup):
    listener, recorder, publisher = setup
    left, back = conversation(), conversation()
    recorder.watched.update({left, back})
    listener.want(left)
    listener.want(back)
    turns(recorder)

    recorder.watched.discard(left)
    listener.release(left)
    listener.release(back)  # its viewer left and rejoined before the listener's turn
    turns(recorder)

    assert subscribers(publisher, left) == 0 and subscribers(publisher, back) == 1
    assert listener.wait_confirmed(back, 0), "a quick re-join needs no new confirmation"
    assert listener.subscribed() == 1


def test_a_reconnect_asks_for_a_catch_up(setup, redis_server):
    listener, recorder, publisher = setup
    watched = conversation()
    recorder.watched.add(watched)
    listener.want(watched)
    turns(recorder)

    publisher.client_kill_filter(_type="pubsub")
    turns(recorder, 20)

    assert recorder.resubscribed == [watched]
    assert subscribers(publisher, watched) == 1
