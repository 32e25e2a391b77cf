"""The pipeline's promises, kept the same on one Redis node and on a Redis Cluster (3 primaries, 3
replicas, sharded Pub/Sub, acknowledgements only once a replica has the event): every viewer on any
connector gets every event once, late joiners and resumes get what they missed, redeliveries are
stored once, and an outage (on a cluster: the primary owning the conversation killed) loses no
acknowledged event."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import pytest
import redis

from aa_common.conversations import normalize_conversation_name
from aa_common.event_store import channel_name
from aa_common.events import EventKind
from devstack.processes import LocalRedisCluster, RedisServer, Service, wait_until
from tests.conftest import Stack
from tests.support import Desktop, Pusher, event_for, new_conversation, push, register

pytestmark = pytest.mark.e2e


@dataclass
class Backend:
    kind: str
    interceptor: Service
    connectors: list[Service]
    outage: Callable[[str], None]  # takes Redis away from under the conversation, then gives it back


def _single_node(jwt_secret_file, log_dir):
    server = RedisServer(persistent=True).start()
    stack = Stack(server.port, jwt_secret_file, log_dir)

    def outage(conversation: str) -> None:
        server.stop()
        time.sleep(2)
        server.start()

    return stack, outage, server.remove


def _cluster(jwt_secret_file, log_dir):
    cluster = LocalRedisCluster().start()
    stack = Stack(cluster.ports[0], jwt_secret_file, log_dir, REDIS_CLUSTER="true", REDIS_WAIT_REPLICAS="1",
                  REDIS_WAIT_TIMEOUT_MS="300")

    def outage(conversation: str) -> None:
        """kill -9 of the primary owning the conversation's slot; its replica takes over; the old
        primary comes back as a replica, so the cluster keeps a replica per shard for what follows."""
        client = redis.RedisCluster(host="127.0.0.1", port=cluster.ports[0], decode_responses=True)
        owner = client.get_node_from_key(channel_name(normalize_conversation_name(conversation))).port
        cluster.nodes[owner].kill()
        wait_until(lambda: _owner(cluster, conversation, exclude=owner) is not None, 30, "a replica to take over")
        cluster.nodes[owner].start()

    return stack, outage, cluster.remove


def _owner(cluster: LocalRedisCluster, conversation: str, exclude: int) -> int | None:
    for port in cluster.ports:
        if port == exclude:
            continue
        try:
            client = redis.RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
            owner = client.get_node_from_key(channel_name(normalize_conversation_name(conversation))).port
        except redis.RedisError:
            continue
        return owner if owner != exclude else None
    return None


@pytest.fixture(scope="module", params=["single node", "cluster"])
def backend(request, jwt_secret_file, tmp_path_factory):
    make = _single_node if request.param == "single node" else _cluster
    stack, outage, remove = make(jwt_secret_file, tmp_path_factory.mktemp(request.param.replace(" ", "-")))
    try:
        yield Backend(request.param, stack.interceptor(), [stack.ui_connector(), stack.ui_connector()], outage)
    finally:
        stack.stop()
        remove()


def desktops(backend: Backend, count: int) -> list[Desktop]:
    return [Desktop(backend.connectors[index % 2].url, register(backend.connectors[0].url)) for index in range(count)]


def pushed(backend: Backend, conversation: str, *message_ids: str) -> list[str]:
    for message_id in message_ids:
        assert push(backend.interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"),
                    message_id).status_code == 204
    return list(message_ids)


def test_every_viewer_on_either_connector_gets_every_event_once(backend):
    conversation = new_conversation()
    viewers = desktops(backend, 4)
    for viewer in viewers:
        viewer.join(conversation)
    first = pushed(backend, conversation, f"{backend.kind}-a", f"{backend.kind}-b")
    viewers[0].leave(conversation)
    later = pushed(backend, conversation, f"{backend.kind}-c")

    assert viewers[0].settle() and viewers[0].message_ids() == first
    for viewer in viewers[1:]:
        viewer.wait_for(3)
        assert viewer.settle() and viewer.message_ids() == first + later
    for viewer in viewers:
        viewer.close()


def test_a_late_joiner_gets_what_is_stored_then_the_live_tail(backend):
    conversation = new_conversation()
    stored = pushed(backend, conversation, *(f"{backend.kind}-stored-{i}" for i in range(5)))
    late = desktops(backend, 1)[0]
    late.join(conversation)
    late.wait_for(5)
    live = pushed(backend, conversation, f"{backend.kind}-live")

    late.wait_for(6)
    assert late.settle() and late.message_ids() == stored + live
    late.close()


def test_a_desktop_resumes_after_its_last_event_id(backend):
    conversation = new_conversation()
    ids = pushed(backend, conversation, *(f"{backend.kind}-resume-{i}" for i in range(4)))
    first = desktops(backend, 1)[0]
    first.join(conversation)
    first.wait_for(4)
    after = first.events[1][1]["event_id"]
    first.close()

    again = desktops(backend, 1)[0]
    again.join(conversation, last_event_id=after)
    again.wait_for(2)
    assert again.settle() and again.message_ids() == ids[2:]
    again.close()


def test_a_redelivered_message_is_stored_and_delivered_once(backend):
    conversation = new_conversation()
    viewer = desktops(backend, 1)[0]
    viewer.join(conversation)
    for _ in range(3):  # Pub/Sub delivers at least once
        pushed(backend, conversation, f"{backend.kind}-once")

    viewer.wait_for(1)
    assert viewer.settle() and viewer.message_ids() == [f"{backend.kind}-once"]
    viewer.close()


def test_an_outage_under_load_loses_no_acknowledged_event(backend):
    conversation = new_conversation()
    viewers = desktops(backend, 2)
    for viewer in viewers:
        viewer.join(conversation)
    pusher = Pusher(backend.interceptor.url, conversation)
    time.sleep(1)

    backend.outage(conversation)
    time.sleep(1)
    acknowledged = pusher.stop()

    assert len(acknowledged) > Pusher.RATE / 2  # pushes around the outage wait, retried as Pub/Sub would
    for viewer in viewers:
        viewer.wait_for(len(acknowledged), timeout=60)
        assert viewer.settle() and viewer.message_ids() == acknowledged, "lost, doubled or out of order"
        viewer.close()
