"""The notifications Dialogflow would publish, as recorded when no Pub/Sub or interceptor is set."""

from __future__ import annotations

from aa_common.events import EventKind
from devstack.dialogflow_emulator import create_app
from devstack.dialogflow_emulator.config import EmulatorConfig
from tests.support import fixture_event

from .conftest import PROJECT, SCOPES, DialogflowApi


def run_conversation(api: DialogflowApi) -> tuple[str, str, str]:
    conversation = api.new_conversation()
    agent = api.add_participant(conversation, "HUMAN_AGENT")
    customer = api.add_participant(conversation, "END_USER")
    api.say(customer, "I need to change my flight to Friday.")
    api.say(agent, "Sure, which day works for you?")
    api.complete(conversation)
    return conversation, agent, customer


def test_a_conversation_publishes_lifecycle_message_and_suggestion_events_in_order(api):
    conversation, _, _ = run_conversation(api)

    notifications = api.notifications()

    assert [(n["kind"], n["data"].get("type")) for n in notifications] == [
        (EventKind.LIFECYCLE, "CONVERSATION_STARTED"),
        (EventKind.NEW_MESSAGE, "NEW_MESSAGE"),
        (EventKind.SUGGESTION, None),
        (EventKind.NEW_MESSAGE, "NEW_MESSAGE"),
        (EventKind.LIFECYCLE, "CONVERSATION_FINISHED"),
    ]
    assert {n["topic"] for n in notifications} == {
        f"projects/{PROJECT}/topics/{kind.default_topic}"
        for kind in (EventKind.LIFECYCLE, EventKind.NEW_MESSAGE, EventKind.SUGGESTION)
    }
    assert all(n["status"] == "recorded" and n["destination"] is None for n in notifications)
    assert all(n["data"]["conversation"] == conversation for n in notifications)


def test_events_have_the_fixture_shapes(api):
    conversation, agent, customer = run_conversation(api)
    started, customer_message, suggestions, agent_message, finished = [n["data"] for n in api.notifications()]

    assert started == {"conversation": conversation, "type": "CONVERSATION_STARTED"}
    assert finished == {"conversation": conversation, "type": "CONVERSATION_FINISHED"}

    expected_payload = fixture_event("new-message.json")["newMessagePayload"]
    payload = customer_message["newMessagePayload"]
    assert set(payload) <= set(expected_payload)
    assert set(expected_payload) - set(payload) == {"sentimentAnalysis"}
    assert payload["content"] == "I need to change my flight to Friday."
    assert payload["participant"] == customer
    assert payload["participantRole"] == "END_USER"
    assert agent_message["newMessagePayload"]["participantRole"] == "HUMAN_AGENT"

    assert suggestions.keys() == fixture_event("suggestions-articles-faq-smartreply.json").keys()
    assert suggestions["participant"] == agent, "suggestions are compiled for the human agent"


def test_the_suggestion_event_carries_what_analyze_content_returned(api, customer):
    body = api.say(customer, "Where is my bag?")
    event = api.notifications()[-1]["data"]
    assert event["suggestionResults"] == body["humanAgentSuggestionResults"]


def test_events_name_conversations_with_their_location_even_when_asked_without(client):
    api = DialogflowApi(client, SCOPES["location-less"], "v2")
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)
    api.say(customer, "Hello")

    full = conversation.replace(f"projects/{PROJECT}/", f"projects/{PROJECT}/locations/global/")
    events = [n["data"] for n in api.notifications()]
    assert all(event["conversation"] == full for event in events)
    assert events[1]["newMessagePayload"]["name"].startswith(f"{full}/messages/")
    assert events[2]["participant"].startswith(f"{full}/participants/")


def test_without_a_human_agent_suggestions_address_the_customer(api, customer):
    api.say(customer, "Hello")
    assert api.notifications()[-1]["data"]["participant"] == customer


def test_failed_calls_publish_nothing(api, client, conversation, customer):
    before = len(api.notifications())
    api.analyze(customer, "")
    api.create_conversation("1-invalid")
    client.post(api.url(f"{SCOPES['global']}/conversations/nope:complete"))
    assert len(api.notifications()) == before


def test_topics_follow_the_configuration():
    config = EmulatorConfig.from_env({"PUBSUB_PROJECT_ID": "pubsub-proj", EventKind.LIFECYCLE.topic_variable: "lifecycle-events"})
    api = DialogflowApi(create_app(config).test_client())
    api.new_conversation()
    assert api.notifications()[0]["topic"] == "projects/pubsub-proj/topics/lifecycle-events"
