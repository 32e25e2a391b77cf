"""Direct-push mode: notifications posted to the interceptor's routes in Pub/Sub's wrapped envelope."""

from __future__ import annotations

import base64
import json

from aa_common.events import EventKind
from devstack.dialogflow_emulator import create_app
from devstack.dialogflow_emulator.config import EmulatorConfig
from devstack.processes import free_port, wait_until
from tests.support import fixture_event

from .conftest import DialogflowApi, PushReceiver


def direct_push_api(receiver: PushReceiver) -> DialogflowApi:
    config = EmulatorConfig.from_env({"INTERCEPTOR_URL": receiver.url + "/"})
    return DialogflowApi(create_app(config).test_client())


def decode(envelope: dict) -> dict:
    return json.loads(base64.b64decode(envelope["message"]["data"]))


def test_create_analyze_and_complete_are_pushed_in_order(receiver):
    api = direct_push_api(receiver)
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)
    api.say(customer, "My suitcase is lost")
    api.complete(conversation)

    requests = receiver.wait_for(4)

    assert [r["path"] for r in requests] == [
        f"/{kind}" for kind in (EventKind.LIFECYCLE, EventKind.NEW_MESSAGE, EventKind.SUGGESTION, EventKind.LIFECYCLE)
    ]
    envelopes = [PushReceiver.json(r) for r in requests]
    events = [decode(e) for e in envelopes]
    assert [e.get("type") for e in events] == [
        "CONVERSATION_STARTED",
        "NEW_MESSAGE",
        None,
        "CONVERSATION_FINISHED",
    ]
    assert all(e["conversation"] == conversation for e in events)
    assert events[2]["suggestionResults"][0]["suggestArticlesResponse"]["articleAnswers"][0]["uri"].endswith(
        "/baggage"
    )
    assert all(r["headers"]["Content-Type"] == "application/json" for r in requests)


def test_envelopes_have_the_wrapped_push_format(receiver):
    api = direct_push_api(receiver)
    api.new_conversation()
    api.new_conversation()

    envelopes = [PushReceiver.json(r) for r in receiver.wait_for(2)]

    expected = fixture_event("push-envelope-wrapped.json")
    for envelope in envelopes:
        assert envelope.keys() == expected.keys() - {"deliveryAttempt"}
        assert envelope["message"].keys() == expected["message"].keys()
        message = envelope["message"]
        assert message["messageId"] == message["message_id"] and message["messageId"].isdigit()
        assert message["publishTime"] == message["publish_time"]
        assert envelope["subscription"] == f"projects/my-proj/subscriptions/{EventKind.LIFECYCLE.default_topic}-push"
    assert envelopes[0]["message"]["messageId"] != envelopes[1]["message"]["messageId"]


def test_notifications_report_the_delivery(receiver):
    api = direct_push_api(receiver)
    api.new_conversation()
    receiver.wait_for(1)

    wait_until(lambda: api.notifications()[0]["status"] == "delivered", 5, "the delivery to be settled")
    notification = api.notifications()[0]
    assert notification["destination"] == f"{receiver.url}/{EventKind.LIFECYCLE}"
    assert notification["messageId"] == PushReceiver.json(receiver.requests[0])["message"]["messageId"]


def test_a_failed_push_is_retried_with_the_same_message_id():
    receiver = PushReceiver(fail_first=2)
    try:
        api = direct_push_api(receiver)
        api.new_conversation()
        requests = receiver.wait_for(3)
        assert len({PushReceiver.json(r)["message"]["messageId"] for r in requests}) == 1
        wait_until(lambda: api.notifications()[0]["status"] == "delivered", 5, "the retried delivery")
    finally:
        receiver.close()


def test_an_unreachable_interceptor_fails_the_delivery_but_not_the_api():
    config = EmulatorConfig.from_env({"INTERCEPTOR_URL": f"http://127.0.0.1:{free_port()}"})
    api = DialogflowApi(create_app(config).test_client())
    assert api.create_conversation().status_code == 200
    wait_until(lambda: api.notifications()[0]["status"] == "failed", 10, "the delivery to give up")
    assert "ConnectionError" in api.notifications()[0]["error"]
