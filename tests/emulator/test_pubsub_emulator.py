"""Pub/Sub emulator mode, and devstack.pubsub_emulator against the Google Cloud CLI's Pub/Sub emulator."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from aa_common.events import EventKind
from devstack.dialogflow_emulator import create_app
from devstack.dialogflow_emulator.config import EmulatorConfig
from devstack.processes import http_ok, wait_until
from devstack.pubsub_emulator import PubSubAdmin, PubSubEmulator, PulledMessage, find_emulator, wire_interceptor

from .conftest import DialogflowApi, PushReceiver

pytestmark = [
    pytest.mark.pubsub_emulator,
    pytest.mark.skipif(find_emulator() is None, reason="the Google Cloud CLI's Pub/Sub emulator is not installed"),
]

PUBSUB_PROJECT = "pubsub-proj"


@pytest.fixture(scope="module")
def pubsub(tmp_path_factory):
    with PubSubEmulator(log_path=tmp_path_factory.mktemp("pubsub") / "emulator.log") as emulator:
        yield emulator


@pytest.fixture
def topics() -> dict[EventKind, str]:
    """Topic ids of this test's own, so tests sharing the emulator never see each other's messages."""
    suffix = uuid.uuid4().hex[:8]
    return {kind: f"{kind.default_topic}-{suffix}" for kind in EventKind}


def emulator_api(pubsub: PubSubEmulator, topics: dict[EventKind, str]) -> DialogflowApi:
    env = {
        "PUBSUB_EMULATOR_HOST": pubsub.host_port,
        "PUBSUB_PROJECT_ID": PUBSUB_PROJECT,
        **{kind.topic_variable: topic for kind, topic in topics.items()},
    }
    return DialogflowApi(create_app(EmulatorConfig.from_env(env)).test_client())


def pull_until(admin: PubSubAdmin, subscription: str, count: int) -> list[PulledMessage]:
    pulled: list[PulledMessage] = []

    def enough() -> bool:
        pulled.extend(admin.pull(PUBSUB_PROJECT, subscription))
        return len(pulled) >= count

    wait_until(enough, 10, f"{count} messages on {subscription}")
    return pulled


def test_analyze_content_publishes_the_new_message_and_suggestions(pubsub, topics):
    admin = pubsub.admin()
    for kind in (EventKind.NEW_MESSAGE, EventKind.SUGGESTION):
        admin.create_topic(PUBSUB_PROJECT, topics[kind])
        admin.create_pull_subscription(PUBSUB_PROJECT, f"{topics[kind]}-pull", topics[kind])
    api = emulator_api(pubsub, topics)
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)

    body = api.say(customer, "Can I bring a second suitcase?")

    [new_message] = pull_until(admin, f"{topics[EventKind.NEW_MESSAGE]}-pull", 1)
    assert new_message.data["type"] == "NEW_MESSAGE"
    assert new_message.data["newMessagePayload"]["content"] == "Can I bring a second suitcase?"
    assert new_message.data["newMessagePayload"]["name"] == body["message"]["name"]
    assert new_message.ordering_key == conversation
    [suggestions] = pull_until(admin, f"{topics[EventKind.SUGGESTION]}-pull", 1)
    assert suggestions.data == {
        "conversation": conversation,
        "participant": customer,
        "suggestionResults": body["humanAgentSuggestionResults"],
    }

    wait_until(lambda: all(n["status"] != "pending" for n in api.notifications()), 10, "deliveries to settle")
    by_topic = {n["topic"]: n for n in api.notifications()}
    published = by_topic[f"projects/{PUBSUB_PROJECT}/topics/{topics[EventKind.NEW_MESSAGE]}"]
    assert published["status"] == "delivered"
    assert published["messageId"] == new_message.message_id


def test_push_subscriptions_to_the_interceptor_routes_deliver_wrapped_json_envelopes(pubsub, topics, receiver):
    wire_interceptor(pubsub.admin(), PUBSUB_PROJECT, receiver.url, topics)
    api = emulator_api(pubsub, topics)
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)
    api.say(customer, "I want a refund")
    api.complete(conversation)

    requests = receiver.wait_for(4)

    by_route: dict[str, list[dict]] = {}
    for request in requests:
        assert request["headers"]["Content-Type"] == "application/json"
        assert "Authorization" not in request["headers"]
        envelope = PushReceiver.json(request)
        assert envelope.keys() == {"message", "subscription"}
        assert envelope["message"].keys() == {
            "data",
            "attributes",
            "messageId",
            "message_id",
            "publishTime",
            "publish_time",
        }
        assert envelope["message"]["attributes"] == {}
        event = json.loads(base64.b64decode(envelope["message"]["data"]))
        assert event["conversation"] == conversation
        by_route.setdefault(request["path"], []).append(event)
    assert [e["type"] for e in by_route[f"/{EventKind.LIFECYCLE}"]] == [
        "CONVERSATION_STARTED",
        "CONVERSATION_FINISHED",
    ]
    assert [e["type"] for e in by_route[f"/{EventKind.NEW_MESSAGE}"]] == ["NEW_MESSAGE"]
    assert by_route[f"/{EventKind.SUGGESTION}"][0]["suggestionResults"]


def test_unwrapped_push_sends_form_encoded_data_and_attributes_as_headers(pubsub, topics, receiver):
    admin = pubsub.admin()
    topic = topics[EventKind.RECOGNITION]
    admin.create_topic(PUBSUB_PROJECT, topic)
    admin.create_push_subscription(PUBSUB_PROJECT, f"{topic}-raw", topic, f"{receiver.url}/raw", wrapped=False)
    event = {"conversation": "projects/p/locations/global/conversations/c", "type": "NEW_RECOGNITION_RESULT"}

    message_id = admin.publish(PUBSUB_PROJECT, topic, event, {"participant_role": "END_USER"})

    [request] = receiver.wait_for(1)
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["headers"]["participant_role"] == "END_USER"
    assert request["headers"]["x-goog-pubsub-message-id"] == message_id
    assert (
        request["headers"]["x-goog-pubsub-subscription-name"]
        == f"projects/{PUBSUB_PROJECT}/subscriptions/{topic}-raw"
    )
    assert PushReceiver.json(request) == event


def test_wiring_twice_repoints_the_push_subscriptions(pubsub, topics, receiver):
    admin = pubsub.admin()
    wire_interceptor(admin, PUBSUB_PROJECT, "http://127.0.0.1:9/nowhere", topics)
    subscriptions = wire_interceptor(admin, PUBSUB_PROJECT, receiver.url, topics)

    admin.publish(PUBSUB_PROJECT, topics[EventKind.LIFECYCLE], {"type": "CONVERSATION_STARTED"})

    assert (
        subscriptions[EventKind.LIFECYCLE]
        == f"projects/{PUBSUB_PROJECT}/subscriptions/{topics[EventKind.LIFECYCLE]}-push"
    )
    assert receiver.wait_for(1)[0]["path"] == f"/{EventKind.LIFECYCLE}"


def test_publishing_to_a_missing_topic_fails_the_delivery_not_the_call(pubsub, topics):
    api = emulator_api(pubsub, topics)
    assert api.create_conversation().status_code == 200
    wait_until(lambda: api.notifications()[0]["status"] == "failed", 10, "the delivery to give up")
    assert "HTTP 404" in api.notifications()[0]["error"]


def test_the_emulator_starts_and_stops(tmp_path):
    emulator = PubSubEmulator(log_path=tmp_path / "emulator.log").start()
    assert http_ok(f"http://{emulator.host_port}/")
    emulator.stop()
    assert not http_ok(f"http://{emulator.host_port}/")
    assert f"Server started, listening on {emulator.port}" in (tmp_path / "emulator.log").read_text()
