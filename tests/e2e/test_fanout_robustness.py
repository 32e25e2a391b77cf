"""The UI connector's fan-out under churn and outages: found by review, kept by these tests."""
from __future__ import annotations

import threading
import time

import jwt
import pytest
import redis
import requests
import socketio

from aa_common.config import RetentionSettings
from aa_common.conversations import normalize_conversation_name
from aa_common.event_store import EventStore, channel_name
from aa_common.events import Event, EventKind
from devstack.processes import wait_until
from tests.support import PROJECT, Desktop, NodeDesktops, event_for, new_conversation, push, register
from ui_connector.sockets import JOIN_CONVERSATION, LEAVE_CONVERSATION, UNAUTHENTICATED_EVENT, Refusal

pytestmark = pytest.mark.e2e


def store_events(redis_port: int, conversation: str, count: int) -> None:
    store = EventStore(redis.Redis(port=redis_port, decode_responses=True), RetentionSettings())
    text = '{"conversation": "%s"}' % conversation
    for index in range(count):
        store.append(Event(normalize_conversation_name(conversation), text, EventKind.NEW_MESSAGE, "t", f"bulk-{index}",
                           "t"))


def subscribers(redis_port: int, conversation: str) -> int:
    client = redis.Redis(port=redis_port, decode_responses=True)
    channel = channel_name(normalize_conversation_name(conversation))
    return dict(client.pubsub_numsub(channel))[channel]


def test_delivery_survives_joins_and_leaves_during_redis_restarts(isolated_stack):
    server, interceptor, connector = isolated_stack
    watched = new_conversation()
    watcher = Desktop(connector.url, register(connector.url))
    watcher.join(watched)
    tokens = [register(connector.url) for _ in range(8)]
    stop = threading.Event()
    joined: list[bool] = []

    def churn(token):
        client = socketio.Client(reconnection=False)
        client.connect(connector.url, auth={"token": token}, transports=["websocket"])
        while not stop.is_set():
            conversation = new_conversation()
            try:
                joined.append(client.call(JOIN_CONVERSATION, conversation, timeout=10)[0])
                client.call(LEAVE_CONVERSATION, conversation, timeout=10)
            except socketio.exceptions.TimeoutError:
                pass
        client.disconnect()

    churners = [threading.Thread(target=churn, args=(token,)) for token in tokens]
    for thread in churners:
        thread.start()
    for _ in range(4):
        server.stop()
        time.sleep(0.3)
        server.start()
        time.sleep(0.5)
    stop.set()
    for thread in churners:
        thread.join(30)
    # Joins may be refused while Redis is down, but most go through and none wedges the instance.
    assert joined.count(True) > len(joined) // 2

    pushed = push(interceptor.url, EventKind.NEW_MESSAGE, event_for(watched, "new-message.json"), "after-churn")
    assert pushed.status_code == 204
    watcher.wait_for(1, timeout=30)
    assert watcher.message_ids() == ["after-churn"]
    fresh = Desktop(connector.url, register(connector.url))
    assert fresh.join(new_conversation())[0] is True
    assert requests.get(f"{connector.url}/readyz", timeout=10).status_code == 200
    for desktop in (watcher, fresh):
        desktop.close()


def test_leaving_stops_the_replay_and_a_rejoin_sends_nothing_twice(isolated_stack):
    server, _, connector = isolated_stack
    conversation = new_conversation()
    store_events(server.port, conversation, 9000)
    agent = Desktop(connector.url, register(connector.url))

    agent.join(conversation)
    agent.leave(conversation)
    received_before_leave_ack = len(agent.events)  # none, when the leave overtook the replay's start
    assert len(agent.settle()) == received_before_leave_ack
    last = agent.events[-1][1]["event_id"] if agent.events else None
    agent.join(conversation, last_event_id=last)
    agent.wait_for(9000, timeout=60)

    event_ids = [payload["event_id"] for _, payload in agent.settle()]
    assert len(event_ids) == len(set(event_ids)) == 9000
    agent.close()


def test_disconnecting_during_joins_leaves_no_subscription_behind(isolated_stack):
    server, _, connector = isolated_stack
    conversations = [new_conversation() for _ in range(30)]
    for conversation in conversations:
        client = socketio.Client(reconnection=False)
        client.connect(connector.url, auth={"token": register(connector.url)}, transports=["websocket"])
        client.emit(JOIN_CONVERSATION, conversation)
        client.disconnect()

    wait_until(lambda: requests.get(f"{connector.url}/status", timeout=5).json()["conversations"] == 0, 15,
               "every conversation to be released")
    wait_until(lambda: all(subscribers(server.port, c) == 0 for c in conversations), 15,
               "Redis to show no subscriber left")


def test_a_burst_of_joins_cannot_pass_the_per_connection_cap(isolated_stack):
    _, _, connector = isolated_stack
    acks: list = []
    done = threading.Event()
    client = socketio.Client(reconnection=False)
    client.connect(connector.url, auth={"token": register(connector.url)}, transports=["websocket"])

    def record(*ack):
        acks.append(ack)
        if len(acks) == 90:
            done.set()

    for _ in range(90):  # within the per-connection packet burst (test_socket_abuse.py goes past it)
        client.emit(JOIN_CONVERSATION, new_conversation(), callback=record)
    assert done.wait(30)
    assert sum(1 for ok, *_ in acks if ok) == 50
    assert {tuple(ack[2:]) for ack in acks if not ack[0]} == {(Refusal.RESOURCE_EXHAUSTED,)}
    client.disconnect()


def test_the_connection_closes_when_its_token_expires(isolated_stack, jwt_secret_file):
    _, interceptor, connector = isolated_stack
    now = int(time.time())
    token = jwt.encode({"iss": "aa-ui-connector", "aud": "aa-agent-desktop", "iat": now, "exp": now + 3,
                        "project": PROJECT}, jwt_secret_file.read_text().strip(), algorithm="HS256")
    conversation = new_conversation()
    agent = Desktop(connector.url, token)
    agent.join(conversation)

    wait_until(lambda: not agent.client.connected, 15, "the server to close the expired connection")
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "after-expiry")

    assert [name for name, _ in agent.settle()] == [UNAUTHENTICATED_EVENT]


def test_concurrent_failed_registrations_cannot_pass_the_limit(stack):
    strict = stack.ui_connector(AUTH_OPTION="", REGISTER_FAILURES_PER_MINUTE="5", TRUSTED_PROXY_HOPS="1")
    results: list[int] = []

    def guess():
        # One client address of its own (this connector trusts one proxy hop), so the failures it
        # racks up do not rate-limit the other tests' registrations from 127.0.0.1.
        headers = {"Authorization": "guess", "X-Forwarded-For": "198.51.100.7"}
        results.append(requests.post(f"{strict.url}/register", headers=headers, timeout=15).status_code)

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(results)) == [401, 429] and results.count(401) == 5


def test_rejoining_right_after_leaving_is_answered_at_once(isolated_stack):
    """The last viewer's leave keeps the confirmed subscription until the listener releases it, so
    an immediate re-join needs no new confirmation from Redis (it used to time out after 5 s)."""
    _, interceptor, connector = isolated_stack
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url))
    for _ in range(5):
        assert agent.join(conversation)[0] is True
        assert agent.leave(conversation)[0] is True
    assert agent.join(conversation)[0] is True
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "after-rejoins")
    agent.wait_for(1)
    assert agent.message_ids() == ["after-rejoins"]
    agent.close()


@pytest.mark.parametrize("last_event_id", ["99999999999999999999-0", "18446744073709551615-18446744073709551615"])
def test_a_last_event_id_redis_cannot_read_after_is_refused_at_join(isolated_stack, last_event_id):
    _, _, connector = isolated_stack
    agent = Desktop(connector.url, register(connector.url))
    ok, reason, code = agent.join(new_conversation(), last_event_id=last_event_id)
    assert ok is False and "out of range" in reason and code == Refusal.INVALID_ARGUMENT
    agent.close()


def test_a_malformed_stored_event_is_skipped_not_fatal(isolated_stack):
    server, interceptor, connector = isolated_stack
    conversation = new_conversation()
    client = redis.Redis(port=server.port, decode_responses=True)
    live = Desktop(connector.url, register(connector.url))
    live.join(conversation)
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "before-bad")
    key = normalize_conversation_name(conversation)
    bad_id = client.xadd(f"aa:{{{key}}}:events", {"payload": "{not json"})
    client.publish(f"aa:{{{key}}}", f"{bad_id} {{not json")
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "after-bad")

    live.wait_for(2)
    late = Desktop(connector.url, register(connector.url))
    late.join(conversation)
    late.wait_for(2)
    for desktop in (live, late):
        assert desktop.settle() and desktop.message_ids() == ["before-bad", "after-bad"]
        desktop.close()


def test_a_thousand_desktops_joining_at_once_all_join_and_receive(stack, interceptor):
    """A reconnect storm (an instance replaced): every join is confirmed and events keep flowing. It once
    stalled the listener for good: gevent's select can report a socket ready that is not."""
    connector = stack.ui_connector()
    conversations = [new_conversation() for _ in range(1000)]
    desktops = NodeDesktops(connector, 1000, conversations)  # fails unless all 1,000 joins succeed
    for conversation in conversations[::50]:
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))
    wait_until(lambda: desktops.status()["events"] >= 20, 30, "the events at their desktops")
    assert desktops.status()["connected"] == 1000
    desktops.close()
    connector.stop()
