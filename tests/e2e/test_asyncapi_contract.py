"""What real python-socketio desktops receive from the live connector (production command line) is what its
AsyncAPI document says: every event of every kind, every ack, every refusal, and ``unauthenticated``."""
from __future__ import annotations

import threading

import pytest
import requests
import socketio

from aa_common.events import EventKind
from tests.asyncapi_contract import SocketContract
from tests.support import Desktop, event_for, fixture_event, new_conversation, push, register
from ui_connector.asyncapi import build_document
from ui_connector.sockets import (JOIN_CONVERSATION, LEAVE_CONVERSATION, MAX_CONVERSATIONS_PER_CONNECTION,
                                  REFRESH_TOKEN, UNAUTHENTICATED_EVENT, Refusal)

pytestmark = pytest.mark.e2e

# A fixture of each kind; the recognition result with the attributes Dialogflow sends with it.
PUSHES = [
    (EventKind.SUGGESTION, "suggestions-articles-faq-smartreply.json", None),
    (EventKind.SUGGESTION, "suggestions-knowledge-generator-error.json", None),
    (EventKind.NEW_MESSAGE, "new-message.json", None),
    (EventKind.LIFECYCLE, "conversation-started.json", None),
    (EventKind.RECOGNITION, "new-recognition-result.json", "new-recognition-result.attributes.json"),
    (EventKind.RECOGNITION, "new-recognition-result.json", None),
]


@pytest.fixture(scope="module")
def contract(connector) -> SocketContract:
    document = requests.get(f"{connector.url}/asyncapi.json", timeout=10).json()
    assert document == build_document()
    return SocketContract(document)


@pytest.fixture
def desktop(connector):
    desktop = Desktop(connector.url, register(connector.url))
    yield desktop
    desktop.close()


def test_events_of_every_kind_validate(contract, interceptor, desktop):
    conversation = new_conversation()
    contract.check_ack(JOIN_CONVERSATION, desktop.join(conversation))
    for kind, fixture, attributes in PUSHES:
        response = push(interceptor.url, kind, event_for(conversation, fixture),
                        attributes=attributes and fixture_event(attributes))
        assert response.status_code == 204, response.text

    events = desktop.wait_for(len(PUSHES))
    assert [name for name, _ in events] == [kind for kind, _, _ in PUSHES]
    for name, payload in events:
        contract.check_event(name, payload)
    assert {"participant_role", "new_recognition_result_message_id"} <= set(events[4][1])


def test_replayed_events_validate(contract, interceptor, desktop, connector):
    conversation = new_conversation(location=None)
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))
    late = Desktop(connector.url, register(connector.url))
    try:
        contract.check_ack(JOIN_CONVERSATION, late.join(conversation))
        [(name, payload)] = late.wait_for(1)
        contract.check_event(name, payload)
        contract.check_ack(JOIN_CONVERSATION, desktop.join(conversation, last_event_id=payload["event_id"]))
    finally:
        late.close()


@pytest.mark.parametrize("message,code", [
    ("conversations/C1", Refusal.INVALID_ARGUMENT),
    (42, Refusal.INVALID_ARGUMENT),
    ({"conversationName": "projects/my-proj/conversations/C1", "lastEventId": "last"}, Refusal.INVALID_ARGUMENT),
    ("projects/other-proj/locations/global/conversations/C1", Refusal.PERMISSION_DENIED),
])
def test_refused_joins_validate(contract, desktop, message, code):
    answer = desktop.client.call(JOIN_CONVERSATION, message, timeout=10)
    contract.check_ack(JOIN_CONVERSATION, answer)
    assert answer[2] == code


def test_a_join_past_the_limit_validates(contract, desktop):
    for _ in range(MAX_CONVERSATIONS_PER_CONNECTION):
        assert desktop.join(new_conversation())[0] is True
    answer = desktop.join(new_conversation())
    contract.check_ack(JOIN_CONVERSATION, answer)
    assert answer[2] == Refusal.RESOURCE_EXHAUSTED


def test_leaves_validate(contract, desktop):
    conversation = new_conversation()
    desktop.join(conversation)
    for message in (conversation, {"conversationName": conversation}, "not a name"):
        contract.check_ack(LEAVE_CONVERSATION, desktop.client.call(LEAVE_CONVERSATION, message, timeout=10))


@pytest.mark.parametrize("fresh_token,code", [
    (register, None),
    (lambda url: "not a token", Refusal.UNAUTHENTICATED),
    (lambda url: register(url, user="agent-2"), Refusal.PERMISSION_DENIED),
], ids=["same user", "invalid", "another user"])
def test_token_refreshes_validate(contract, connector, desktop, fresh_token, code):
    answer = desktop.client.call(REFRESH_TOKEN, {"token": fresh_token(connector.url)}, timeout=10)
    contract.check_ack(REFRESH_TOKEN, answer)
    assert answer[2:] == ((code,) if code else ())


def test_a_refused_connection_gets_a_valid_unauthenticated_then_is_closed(contract, connector):
    received, closed = [], threading.Event()
    client = socketio.Client(reconnection=False)
    client.on(UNAUTHENTICATED_EVENT, received.append)
    client.on("disconnect", lambda *args: closed.set())
    client.connect(connector.url, auth={"token": "not a token"}, transports=["websocket"])
    assert closed.wait(10), "the server kept an unauthenticated connection open"
    [payload] = received
    contract.check_event(UNAUTHENTICATED_EVENT, payload)
