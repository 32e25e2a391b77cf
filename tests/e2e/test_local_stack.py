"""The local stack as `make dev` runs it: a desktop calls Dialogflow through the proxy, and the
notifications come back over the real Pub/Sub emulator's push subscriptions."""
from __future__ import annotations

import json
import os

import pytest
import requests

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from devstack.pubsub_emulator import find_emulator
from devstack.stack import LocalStack
from tests.support import Desktop, register

pytestmark = [pytest.mark.e2e, pytest.mark.pubsub_emulator]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    if find_emulator() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the Pub/Sub emulator must be installed in CI (Google Cloud CLI pubsub-emulator component)")
        pytest.skip("the Google Cloud CLI's Pub/Sub emulator is not installed")
    stack = LocalStack(state_dir=tmp_path_factory.mktemp("local-stack"), use_pubsub_emulator=True).start()
    yield stack
    stack.stop()


class DesktopSession:
    """What a desktop does over REST: register, then call Dialogflow through the proxy."""

    def __init__(self, connector_url: str):
        self.url = connector_url
        self.token = register(connector_url)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{self.url}/v2beta1/{path}", json=body, timeout=15,
                                    headers={"Authorization": f"Bearer {self.token}"})
        assert response.ok, response.text
        return response.json()


def test_analyze_content_through_the_proxy_reaches_a_joined_desktop_via_pubsub(local_stack):
    connector = local_stack.url("ui-connector")
    session = DesktopSession(connector)
    parent = f"projects/{local_stack.project}/locations/global"
    conversation = session.call("POST", f"{parent}/conversations",
                                {"conversationProfile": f"{parent}/conversationProfiles/p1"})["name"]
    customer = session.call("POST", f"{conversation}/participants", {"role": "END_USER"})["name"]
    desktop = Desktop(connector, session.token)
    assert desktop.join(conversation) == (True, normalize_conversation_name(conversation))

    session.call("POST", f"{customer}:analyzeContent",
                 {"textInput": {"text": "I need to change my flight to Friday", "languageCode": "en-US"}})

    events = {name: json.loads(payload["data"]) for name, payload in desktop.wait_for(3, timeout=30)}
    assert events[EventKind.LIFECYCLE]["type"] == "CONVERSATION_STARTED"
    message = events[EventKind.NEW_MESSAGE]["newMessagePayload"]
    assert message["content"] == "I need to change my flight to Friday" and message["participantRole"] == "END_USER"
    assert events[EventKind.SUGGESTION]["suggestionResults"]
    published = requests.get(f"{local_stack.url('dialogflow-emulator')}/emulator/notifications", timeout=10).json()
    destinations = {entry["destination"] for entry in published["notifications"]}
    assert all(local_stack.pubsub.host_port in destination for destination in destinations)
    desktop.close()


def test_every_proxied_dialogflow_method_reaches_the_emulator(local_stack):
    """Each method the proxy serves, called through the running connector, is answered by the
    Dialogflow emulator (a 2xx in Dialogflow's shape), not refused by the proxy."""
    session = DesktopSession(local_stack.url("ui-connector"))
    parent = f"projects/{local_stack.project}/locations/global"
    profile = f"{parent}/conversationProfiles/p1"
    conversation = session.call("POST", f"{parent}/conversations?conversationId=routes-{os.getpid()}",
                                {"conversationProfile": profile})["name"]
    customer = session.call("POST", f"{conversation}/participants", {"role": "END_USER"})["name"]
    turn = session.call("POST", f"{customer}:analyzeContent",
                        {"textInput": {"text": "Can I get a refund?", "languageCode": "en-US"}})
    answer_record = first_answer_record(turn["humanAgentSuggestionResults"])
    calls = [
        ("GET", conversation, None),
        ("GET", f"{conversation}/messages?pageSize=5", None),
        ("POST", f"{conversation}/messages:batchCreate",
         {"requests": [{"parent": conversation, "message": {"content": "imported", "participant": customer,
                                                           "participantRole": "END_USER"}}]}),
        ("GET", f"{conversation}/participants", None),
        ("GET", customer, None),
        ("PATCH", f"{customer}?updateMask=documentsMetadataFilters", {"documentsMetadataFilters": {"k": "v"}}),
        ("POST", f"{customer}/suggestions:suggestArticles", {}),
        ("POST", f"{customer}/suggestions:suggestFaqAnswers", {}),
        ("POST", f"{customer}/suggestions:suggestSmartReplies", {}),
        ("POST", f"{customer}/suggestions:suggestKnowledgeAssist", {}),
        ("POST", f"{conversation}/suggestions:suggestConversationSummary", {}),
        ("POST", f"{conversation}/suggestions:generate", {"triggerEvents": ["MANUAL_CALL"]}),
        ("POST", f"{conversation}/suggestions:searchKnowledge",
         {"query": {"text": "baggage allowance"}, "conversationProfile": profile, "sessionId": "s1"}),
        ("POST", f"{parent}/suggestions:searchKnowledge",
         {"query": {"text": "baggage allowance"}, "conversationProfile": profile, "sessionId": "s1"}),
        ("POST", f"{parent}/statelessSuggestion:generate",
         {"generatorName": f"{parent}/generators/g1", "conversationContext": {"messageEntries": []}}),
        ("PATCH", f"{answer_record}?updateMask=answerFeedback", {"answerFeedback": {"clicked": True}}),
        ("GET", profile, None),
        ("GET", f"{parent}/conversationModels/m1", None),
        ("GET", f"{parent}/generators/g1", None),
        ("POST", f"{conversation}:complete", {}),
    ]
    answers = [session.call(method, path, body) for method, path, body in calls]  # each asserts a 2xx

    assert answers[0]["name"] == conversation and answers[-1]["lifecycleState"] == "COMPLETED"
    feedback = requests.get(f"{local_stack.url('dialogflow-emulator')}/emulator/feedback", timeout=10).json()
    assert answer_record in json.dumps(feedback)


def first_answer_record(value) -> str | None:
    """The first answerRecord name anywhere in a Dialogflow response."""
    if isinstance(value, dict):
        if isinstance(value.get("answerRecord"), str):
            return value["answerRecord"]
        value = list(value.values())
    if isinstance(value, list):
        return next((found for item in value if (found := first_answer_record(item))), None)
    return None
