"""Every response parses, with no unknown field, as the Dialogflow v2 proto message it stands for."""

from __future__ import annotations

import pytest
from google.cloud import dialogflow_v2 as v2
from google.protobuf import json_format

from aa_common.events import EventKind

from .conftest import PROFILE, SCOPES


def assert_is(message_type, body: dict) -> None:
    json_format.ParseDict(body, message_type.pb(message_type()), ignore_unknown_fields=False)


@pytest.fixture
def talk(api, conversation, agent, customer) -> dict:
    api.say(agent, "Hello, how can I help?")
    return api.say(customer, "I need to change my flight and add a bag")


def test_conversation_and_participant_resources(api, client, conversation, customer):
    assert_is(v2.Conversation, client.get(api.url(conversation)).json)
    assert_is(v2.Conversation, api.complete(conversation).json)
    assert_is(v2.Participant, client.get(api.url(customer)).json)
    assert_is(v2.ListParticipantsResponse, client.get(api.url(f"{conversation}/participants?pageSize=1")).json)


def test_analyze_content_and_messages(api, client, conversation, talk):
    assert_is(v2.AnalyzeContentResponse, talk)
    assert_is(v2.ListMessagesResponse, client.get(api.url(f"{conversation}/messages?pageSize=1")).json)


def test_notifications(api, talk):
    for notification in api.notifications():
        message_type = getattr(v2, EventKind(notification["kind"]).dialogflow_type)
        assert_is(message_type, notification["data"])


def test_suggestion_methods(api, client, conversation, agent, talk):
    for feature, message_type in [
        ("suggestArticles", v2.SuggestArticlesResponse),
        ("suggestFaqAnswers", v2.SuggestFaqAnswersResponse),
        ("suggestSmartReplies", v2.SuggestSmartRepliesResponse),
        ("suggestKnowledgeAssist", v2.SuggestKnowledgeAssistResponse),
    ]:
        assert_is(message_type, api.suggest(agent, feature).json)
    summary = client.post(api.url(f"{conversation}/suggestions:suggestConversationSummary"), json={}).json
    assert_is(v2.SuggestConversationSummaryResponse, summary)
    generated = client.post(api.url(f"{conversation}/suggestions:generate"), json={}).json
    assert_is(v2.GenerateSuggestionsResponse, generated)


def test_knowledge_and_generators(client):
    search = {"query": {"text": "refund"}, "conversationProfile": PROFILE, "sessionId": "s"}
    assert_is(
        v2.SearchKnowledgeResponse,
        client.post(f"/v2/{SCOPES['global']}/suggestions:searchKnowledge", json=search).json,
    )
    generate = {
        "generator": {"freeFormContext": {"text": "next step"}},
        "conversationContext": {"messageEntries": [{"role": "END_USER", "text": "refund?"}]},
    }
    assert_is(
        v2.GenerateStatelessSuggestionResponse,
        client.post(f"/v2/{SCOPES['global']}/statelessSuggestion:generate", json=generate).json,
    )


def test_answer_record(api, talk):
    record = talk["humanAgentSuggestionResults"][0]["suggestArticlesResponse"]["articleAnswers"][0]["answerRecord"]
    assert_is(v2.AnswerRecord, api.feedback(record, {"clicked": True, "correctnessLevel": "FULLY_CORRECT"}).json)


def test_configuration_resources(client):
    scope = SCOPES["global"]
    assert_is(v2.ConversationProfile, client.get(f"/v2/{scope}/conversationProfiles/p").json)
    assert_is(v2.ConversationModel, client.get(f"/v2/{scope}/conversationModels/m").json)
    assert_is(v2.Generator, client.get(f"/v2/{scope}/generators/g").json)
