"""Pub/Sub push → interceptor → Redis → UI connector → desktops, with both services under their
production gunicorn command lines and desktops on real WebSockets."""
from __future__ import annotations

import json

import pytest

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from tests.support import Desktop, event_for, fixture_event, new_conversation, push, register
from ui_connector.sockets import Refusal

pytestmark = pytest.mark.e2e

ROUTED_FIXTURES = [
    (EventKind.SUGGESTION, "suggestions-articles-faq-smartreply.json"),
    (EventKind.SUGGESTION, "suggestions-knowledge-generator-error.json"),
    (EventKind.NEW_MESSAGE, "new-message.json"),
    (EventKind.LIFECYCLE, "conversation-started.json"),
    (EventKind.LIFECYCLE, "conversation-finished.json"),
    (EventKind.LIFECYCLE, "human-intervention-needed.json"),
    (EventKind.LIFECYCLE, "unrecoverable-error.json"),
    (EventKind.RECOGNITION, "new-recognition-result.json"),
]


@pytest.fixture
def desktop(connector):
    desktops = []

    def open_desktop(url: str | None = None) -> Desktop:
        target = url or connector.url
        desktops.append(Desktop(target, register(target)))
        return desktops[-1]

    yield open_desktop
    for each in desktops:
        each.close()


@pytest.mark.parametrize("route,fixture", ROUTED_FIXTURES)
def test_each_route_and_fixture_reaches_a_joined_desktop(interceptor, desktop, route, fixture):
    conversation = new_conversation()
    agent = desktop()
    assert agent.join(conversation) == (True, normalize_conversation_name(conversation))
    event = event_for(conversation, fixture)
    attributes = fixture_event("new-recognition-result.attributes.json") if route is EventKind.RECOGNITION else None

    response = push(interceptor.url, route, event, message_id="4242", attributes=attributes)

    assert response.status_code == 204
    [(name, payload)] = agent.wait_for(1)
    assert name == route
    assert payload["data_type"] == route
    assert payload["conversation_name"] == normalize_conversation_name(conversation)
    assert json.loads(payload["data"]) == event
    assert payload["message_id"] == "4242"
    assert payload["publish_time"] == "2026-02-26T19:13:55.749Z"
    assert payload["event_id"]
    if route is EventKind.RECOGNITION:
        assert payload["participant_role"] == "END_USER"
        assert payload["new_recognition_result_message_id"] == "MSG_ID"
    else:
        assert "participant_role" not in payload


def test_late_joiner_gets_earlier_events_in_order_then_live(interceptor, desktop):
    conversation = new_conversation()
    sent = [(EventKind.LIFECYCLE, "conversation-started.json"),
            (EventKind.NEW_MESSAGE, "new-message.json"),
            (EventKind.SUGGESTION, "suggestions-articles-faq-smartreply.json")]
    for index, (route, fixture) in enumerate(sent):
        response = push(interceptor.url, route, event_for(conversation, fixture), message_id=f"late-{index}")
        assert response.status_code == 204

    agent = desktop()
    assert agent.join(normalize_conversation_name(conversation))[0] is True
    agent.wait_for(3)
    push(interceptor.url, EventKind.LIFECYCLE, event_for(conversation, "conversation-finished.json"),
         message_id="late-live")

    events = agent.wait_for(4)
    assert [name for name, _ in events] == [route for route, _ in sent] + [EventKind.LIFECYCLE]
    assert agent.message_ids() == ["late-0", "late-1", "late-2", "late-live"]


def test_resume_with_last_event_id_gets_exactly_the_missed_events(interceptor, connector, desktop):
    conversation = new_conversation()
    first = desktop()
    first.join(conversation)
    for index in range(2):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), f"before-{index}")
    last_seen = first.wait_for(2)[-1][1]["event_id"]
    first.close()

    for index in range(3):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), f"missed-{index}")
    again = desktop()
    assert again.join(conversation, last_event_id=last_seen) == (True, normalize_conversation_name(conversation))

    again.wait_for(3)
    assert again.settle() and again.message_ids() == ["missed-0", "missed-1", "missed-2"]


def test_a_redelivered_message_reaches_the_desktop_once(interceptor, desktop):
    conversation = new_conversation()
    agent = desktop()
    agent.join(conversation)
    event = event_for(conversation, "new-message.json")

    first = push(interceptor.url, EventKind.NEW_MESSAGE, event, message_id="redelivered")
    second = push(interceptor.url, EventKind.NEW_MESSAGE, event, message_id="redelivered")
    push(interceptor.url, EventKind.NEW_MESSAGE, event, message_id="next")

    assert (first.status_code, second.status_code) == (204, 204)
    agent.wait_for(2)
    assert agent.settle() and agent.message_ids() == ["redelivered", "next"]
    late = desktop()
    late.join(conversation)
    late.wait_for(2)
    assert late.settle() and late.message_ids() == ["redelivered", "next"]


def test_desktops_on_two_connector_processes_both_get_every_event(stack, interceptor, connector, desktop):
    second_connector = stack.ui_connector()
    conversation = new_conversation()
    on_first, on_second = desktop(connector.url), desktop(second_connector.url)
    assert on_first.join(conversation)[0] and on_second.join(conversation)[0]

    for index in range(3):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), f"both-{index}")
    assert on_first.wait_for(3) and on_second.wait_for(3)

    on_first.close()
    for index in range(3, 5):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), f"both-{index}")

    on_second.wait_for(5)
    assert on_second.settle() and on_second.message_ids() == [f"both-{i}" for i in range(5)]


def test_one_desktop_leaving_does_not_cut_off_another_on_the_same_instance(interceptor, desktop):
    conversation = new_conversation()
    leaving, staying = desktop(), desktop()
    leaving.join(conversation)
    staying.join(conversation)
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "shared-0")
    leaving.wait_for(1)

    assert leaving.leave(conversation) == (True, normalize_conversation_name(conversation))
    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), "shared-1")

    staying.wait_for(2)
    assert staying.settle() and staying.message_ids() == ["shared-0", "shared-1"]
    assert leaving.settle() and leaving.message_ids() == ["shared-0"]


def test_joining_only_a_conversation_of_this_project(desktop):
    agent = desktop()
    ok, reason, code = agent.join("projects/other-proj/locations/global/conversations/C1")
    assert ok is False and "other-proj" in reason and code == Refusal.PERMISSION_DENIED
    ok, reason, code = agent.join("conversations/C1")
    assert ok is False and "projects/<project>/conversations/<id>" in reason and code == Refusal.INVALID_ARGUMENT
    ok, reason, code = agent.join({"conversationName": new_conversation(), "lastEventId": "yesterday"})
    assert ok is False and "event id" in reason and code == Refusal.INVALID_ARGUMENT
    ok, _ = agent.join(new_conversation())
    assert ok is True


def test_a_long_history_reaches_a_slow_reader_intact(redis_client, connector, desktop):
    """5000 stored events replayed to a client that reads slower than the server writes: every
    WebSocket frame must arrive whole (a truncated one corrupts the stream and drops the client)."""
    from aa_common.config import RetentionSettings
    from aa_common.event_store import EventStore
    from aa_common.events import Event

    conversation = new_conversation()
    store = EventStore(redis_client, RetentionSettings())
    text = json.dumps(event_for(conversation, "new-message.json"))
    for index in range(5000):
        event = Event(normalize_conversation_name(conversation), text, EventKind.NEW_MESSAGE, "2026-02-26T19:13:55Z",
                      f"bulk-{index}", "2026-02-26T19:13:56Z")
        store.append(event)

    agent = desktop()
    agent.join(conversation)

    agent.wait_for(5000, timeout=60)
    assert agent.client.connected
    assert agent.message_ids() == [f"bulk-{index}" for index in range(5000)]
