"""Nothing lost on a failover: with a replica, a push is acknowledged only once the replica has it."""
from __future__ import annotations

import pytest
import redis
import requests

from aa_common.conversations import normalize_conversation_name
from aa_common.event_store import stream_key
from aa_common.events import EventKind
from devstack.processes import RedisReplica, RedisServer, wait_until
from tests.conftest import Stack
from tests.support import Desktop, event_for, new_conversation, push, register

pytestmark = pytest.mark.e2e


@pytest.fixture
def replicated(jwt_secret_file, tmp_path):
    primary = RedisServer(persistent=True).start()
    replica = RedisReplica(primary).start()
    stack = Stack(primary.port, jwt_secret_file, tmp_path)
    interceptor = stack.interceptor(REDIS_WAIT_REPLICAS="1", REDIS_WAIT_TIMEOUT_MS="300")
    connector = stack.ui_connector()
    yield replica, interceptor, connector
    stack.stop()
    replica.remove()
    primary.remove()


def on_replica(replica: RedisReplica, conversation: str) -> list[str]:
    replicated = redis.Redis(port=replica.port, decode_responses=True)
    entries = replicated.xrange(stream_key(normalize_conversation_name(conversation)))
    return [entry_id for entry_id, _ in entries]


def test_a_replica_that_does_not_confirm_means_503_not_a_lost_ack(replicated):
    replica, interceptor, connector = replicated
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)
    event = event_for(conversation, "new-message.json")

    assert push(interceptor.url, EventKind.NEW_MESSAGE, event, "replicated-1").status_code == 204
    assert len(on_replica(replica, conversation)) == 1, "acknowledged: the replica has it already"

    replica.stop()
    refused = push(interceptor.url, EventKind.NEW_MESSAGE, event, "replicated-2")
    assert refused.status_code == 503 and refused.headers["Retry-After"]

    replica.start()
    # Pub/Sub retries until acknowledged; a replica that has just synced may still miss the first WAIT.
    wait_until(lambda: push(interceptor.url, EventKind.NEW_MESSAGE, event, "replicated-2").status_code == 204, 20,
               "a retried push to be acknowledged once the replica is back", interval=0.5)
    assert len(on_replica(replica, conversation)) == 2

    assert desktop.settle() and desktop.message_ids() == ["replicated-1", "replicated-2"]
    metrics = requests.get(f"{interceptor.url}/metrics", timeout=5).text
    assert any('outcome="not_replicated"' in line and not line.startswith("#") for line in metrics.splitlines())
    desktop.close()
