"""Redis stops and comes back: pushes get a retryable 503 meanwhile, and once Redis is back
the retried pushes reach the desktops that stayed connected. Nothing acknowledged is lost."""
from __future__ import annotations

import pytest
import requests

from aa_common.events import EventKind
from tests.asyncapi_contract import SocketContract
from tests.support import Desktop, event_for, new_conversation, push, register
from ui_connector.asyncapi import build_document
from ui_connector.sockets import JOIN_CONVERSATION, Refusal

pytestmark = pytest.mark.e2e


def test_pushes_during_an_outage_get_503_and_are_delivered_when_retried(isolated_stack):
    server, interceptor, connector = isolated_stack
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url))
    agent.join(conversation)
    message = event_for(conversation, "new-message.json")
    assert push(interceptor.url, EventKind.NEW_MESSAGE, message, "before-outage").status_code == 204
    agent.wait_for(1)

    server.stop()
    during = [push(interceptor.url, EventKind.NEW_MESSAGE, message, f"during-{i}") for i in range(2)]
    assert [response.status_code for response in during] == [503, 503]
    assert during[0].json()["error"]["status"] == "UNAVAILABLE"
    assert during[0].headers["Retry-After"]
    assert requests.get(f"{interceptor.url}/readyz", timeout=15).status_code == 503
    assert requests.get(f"{interceptor.url}/healthz", timeout=15).status_code == 200
    token = register_offline_token(agent)
    for method, path in (("POST", "/register"), ("GET", "/conversation-name?conversationIntegrationKey=k")):
        answer = requests.request(method, f"{connector.url}{path}", headers={"Authorization": token}, timeout=15)
        assert answer.status_code == 503 and answer.headers["Retry-After"], (path, answer.text)
        assert answer.json()["error"]["status"] == "UNAVAILABLE"
    bystander = Desktop(connector.url, register_offline_token(agent))
    answer = bystander.join(new_conversation())
    bystander.close()
    SocketContract(build_document()).check_ack(JOIN_CONVERSATION, answer)
    assert answer[0] is False and answer[2] == Refusal.UNAVAILABLE and Refusal.UNAVAILABLE.retryable

    server.start()
    retried = [push(interceptor.url, EventKind.NEW_MESSAGE, message, f"during-{i}") for i in range(2)]

    assert [response.status_code for response in retried] == [204, 204]
    agent.wait_for(3, timeout=30)
    assert agent.settle() and agent.message_ids() == ["before-outage", "during-0", "during-1"]
    late = Desktop(connector.url, register(connector.url))
    late.join(conversation)
    late.wait_for(3)
    assert late.settle() and late.message_ids() == ["before-outage", "during-0", "during-1"]
    for desktop in (agent, late):
        desktop.close()


def test_events_published_while_the_connector_is_cut_off_from_redis_still_arrive(isolated_stack):
    """The connector's Pub/Sub connection drops; events stored meanwhile come from the stream."""
    server, interceptor, connector = isolated_stack
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url))
    agent.join(conversation)

    server.stop()
    server.start()
    # Stored before the connector's listener has reconnected: only the stream has it.
    assert push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"),
                "after-restart").status_code == 204

    agent.wait_for(1, timeout=30)
    assert agent.settle() and agent.message_ids() == ["after-restart"]
    agent.close()


def register_offline_token(desktop: Desktop) -> str:
    """/register needs Redis (rate limiting), so reuse the token the desktop connected with."""
    return desktop.client.connection_auth["token"]
