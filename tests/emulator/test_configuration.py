"""Canned configuration resources: conversation profiles, conversation models, generators."""

from __future__ import annotations

import pytest

from aa_common.events import EventKind
from devstack.dialogflow_emulator import create_app
from devstack.dialogflow_emulator.config import EmulatorConfig

from .conftest import PROJECT, SCOPES


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_any_profile_exists_and_names_the_topics_the_emulator_publishes_to(client, scope):
    body = client.get(f"/v2beta1/{scope}/conversationProfiles/any-profile").json

    assert body["name"] == f"{scope}/conversationProfiles/any-profile"
    topics = f"projects/{PROJECT}/topics"
    assert body["humanAgentAssistantConfig"]["notificationConfig"] == {
        "topic": f"{topics}/{EventKind.SUGGESTION.default_topic}",
        "messageFormat": "JSON",
    }
    assert body["notificationConfig"] == {"topic": f"{topics}/{EventKind.LIFECYCLE.default_topic}",
                                          "messageFormat": "JSON"}
    assert body["newMessageEventNotificationConfig"] == {
        "topic": f"{topics}/{EventKind.NEW_MESSAGE.default_topic}",
        "messageFormat": "JSON",
    }
    assert body["newRecognitionResultNotificationConfig"]["topic"] == f"{topics}/{EventKind.RECOGNITION.default_topic}"
    features = [
        f["suggestionFeature"]["type"]
        for f in body["humanAgentAssistantConfig"]["humanAgentSuggestionConfig"]["featureConfigs"]
    ]
    assert {"ARTICLE_SUGGESTION", "FAQ", "SMART_REPLY", "KNOWLEDGE_ASSIST"} <= set(features)


def test_profile_topics_follow_the_configuration():
    config = EmulatorConfig.from_env({EventKind.SUGGESTION.topic_variable: "my-suggestions",
                                      "PUBSUB_PROJECT_ID": "pubsub-proj"})
    body = create_app(config).test_client().get(f"/v2/{SCOPES['global']}/conversationProfiles/p").json
    assert (
        body["humanAgentAssistantConfig"]["notificationConfig"]["topic"]
        == "projects/pubsub-proj/topics/my-suggestions"
    )
    assert body["notificationConfig"]["topic"] == f"projects/pubsub-proj/topics/{EventKind.LIFECYCLE.default_topic}"


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_any_conversation_model_exists(client, scope):
    body = client.get(f"/v2/{scope}/conversationModels/smart-reply-1").json
    assert body["name"] == f"{scope}/conversationModels/smart-reply-1"
    assert body["state"] == "DEPLOYED"


def test_any_generator_exists_under_a_location(client):
    body = client.get(f"/v2/{SCOPES['regional']}/generators/gen-1").json
    assert body["name"] == f"{SCOPES['regional']}/generators/gen-1"
    assert body["triggerEvent"] == "END_OF_UTTERANCE"
    assert client.get(f"/v2/projects/{PROJECT}/generators/gen-1").status_code == 404
