"""Suggestions from the built-in airline knowledge base: deterministic, in Dialogflow's shapes."""

from __future__ import annotations

import json
import re

import pytest

from tests.support import fixture_event

from .conftest import PROFILE, PROJECT, SCOPES, DialogflowApi

ANSWER_RECORD = re.compile(rf"projects/{PROJECT}/locations/([^/]+)/answerRecords/[A-Za-z0-9]+")
FEATURES = {
    "suggestArticles": "articleAnswers",
    "suggestFaqAnswers": "faqAnswers",
    "suggestSmartReplies": "smartReplyAnswers",
}


def by_kind(suggestion_results: list[dict]) -> dict[str, dict]:
    return {kind: value for result in suggestion_results for kind, value in result.items()}


def results_by_kind(analyze_body: dict) -> dict[str, dict]:
    return by_kind(analyze_body["humanAgentSuggestionResults"])


def without_answer_records(value):
    if isinstance(value, dict):
        return {
            k: without_answer_records(v) for k, v in value.items() if k not in ("answerRecord", "latestMessage")
        }
    if isinstance(value, list):
        return [without_answer_records(item) for item in value]
    return value


@pytest.mark.parametrize(
    "text,article,question",
    [
        ("I need to change my flight to Friday.", "Change a booking", "How do I change my flight?"),
        ("My luggage did not arrive", "Baggage allowance and delayed bags", "How much baggage can I bring?"),
        ("Can I get my money back?", "Refunds and compensation", "How do I get a refund?"),
        ("I'd like a window seat please", "Choosing and upgrading seats", "Can I choose my seat?"),
        ("Please cancel my booking", "Cancelling a booking", "How do I cancel my booking?"),
    ],
)
def test_a_customer_turn_gets_answers_for_its_topic(api, customer, text, article, question):
    results = results_by_kind(api.say(customer, text))

    assert results["suggestArticlesResponse"]["articleAnswers"][0]["title"] == article
    assert results["suggestFaqAnswersResponse"]["faqAnswers"][0]["question"] == question
    assert results["suggestSmartRepliesResponse"]["smartReplyAnswers"]
    knowledge = results["suggestKnowledgeAssistResponse"]["knowledgeAssistAnswer"]
    assert knowledge["suggestedQueryAnswer"]["generativeSource"]["snippets"][0]["title"] == article


def test_a_turn_matching_nothing_gets_the_fallback(api, customer):
    results = results_by_kind(api.say(customer, "Good morning!"))
    assert (
        results["suggestFaqAnswersResponse"]["faqAnswers"][0]["question"] == "How can I contact customer service?"
    )
    assert results["suggestArticlesResponse"]["articleAnswers"][0]["title"] == "Help centre"
    assert results["suggestSmartRepliesResponse"]["smartReplyAnswers"][0]["reply"].startswith(
        "Thanks for reaching out"
    )


def test_the_best_matching_topic_comes_first(api, customer):
    results = results_by_kind(api.say(customer, "My bag is lost and I want to change my flight"))
    titles = [a["title"] for a in results["suggestArticlesResponse"]["articleAnswers"]]
    assert titles == ["Baggage allowance and delayed bags", "Change a booking"]
    confidences = [a["confidence"] for a in results["suggestArticlesResponse"]["articleAnswers"]]
    assert confidences == sorted(confidences, reverse=True)


def test_suggestions_are_deterministic(api):
    bodies = []
    for _ in range(2):
        customer = api.add_participant(api.new_conversation())
        bodies.append(api.say(customer, "Can I upgrade my seat and get a refund?")["humanAgentSuggestionResults"])
    assert without_answer_records(bodies[0]) == without_answer_records(bodies[1])


def test_answers_match_the_fixture_shapes(api, customer):
    expected = by_kind(fixture_event("suggestions-articles-faq-smartreply.json")["suggestionResults"])
    expected.update(by_kind(fixture_event("suggestions-knowledge-generator-error.json")["suggestionResults"]))
    actual = results_by_kind(api.say(customer, "I need to change my flight to Friday."))

    for kind, answers in [
        ("suggestArticlesResponse", "articleAnswers"),
        ("suggestFaqAnswersResponse", "faqAnswers"),
        ("suggestSmartRepliesResponse", "smartReplyAnswers"),
    ]:
        assert actual[kind].keys() == expected[kind].keys()
        assert actual[kind][answers][0].keys() == expected[kind][answers][0].keys()
    knowledge, expected_knowledge = (
        actual["suggestKnowledgeAssistResponse"],
        expected["suggestKnowledgeAssistResponse"],
    )
    assert knowledge.keys() == expected_knowledge.keys()
    assert knowledge["knowledgeAssistAnswer"].keys() == expected_knowledge["knowledgeAssistAnswer"].keys()


@pytest.mark.parametrize(
    "scope,location",
    [(SCOPES["global"], "global"), (SCOPES["regional"], "europe-west2"), (SCOPES["location-less"], "global")],
)
def test_every_answer_has_its_own_answer_record_in_the_conversations_location(client, scope, location):
    api = DialogflowApi(client, scope)
    customer = api.add_participant(api.new_conversation())
    body = api.say(customer, "I want to cancel and get a refund")

    records = re.findall(r'"answerRecord": "([^"]+)"', json.dumps(body))

    assert len(records) >= 4
    assert len(set(records)) == len(records)
    assert all(ANSWER_RECORD.fullmatch(record).group(1) == location for record in records)


@pytest.mark.parametrize("feature", FEATURES)
def test_participant_suggest_methods_answer_the_latest_customer_message(api, customer, agent, feature):
    api.say(customer, "Where is my suitcase?")
    latest = api.say(agent, "Let me look into it.")["message"]["name"]

    response = api.suggest(agent, feature)

    assert response.status_code == 200
    answers = response.json[FEATURES[feature]]
    assert answers and all(ANSWER_RECORD.fullmatch(a["answerRecord"]) for a in answers)
    assert response.json["latestMessage"] == latest
    assert response.json["contextSize"] == 2
    if feature == "suggestArticles":
        assert answers[0]["title"] == "Baggage allowance and delayed bags"


def test_suggest_knowledge_assist(api, customer, agent):
    api.say(customer, "I'd like an aisle seat")
    body = api.suggest(agent, "suggestKnowledgeAssist").json
    assert body["knowledgeAssistAnswer"]["suggestedQuery"] == {"queryText": "seat selection upgrade"}
    assert body["contextSize"] == 1


def test_latest_message_and_context_size_choose_what_is_answered(api, customer, agent):
    first = api.say(customer, "Can I get a refund?")["message"]["name"]
    api.say(customer, "Also my bag is missing")

    earlier = api.suggest(agent, "suggestFaqAnswers", latestMessage=first).json
    assert earlier["faqAnswers"][0]["question"] == "How do I get a refund?"
    assert earlier["latestMessage"] == first
    assert earlier["contextSize"] == 1

    windowed = api.suggest(agent, "suggestFaqAnswers", contextSize=1).json
    assert windowed["contextSize"] == 1
    assert windowed["faqAnswers"][0]["question"] == "How much baggage can I bring?"


def test_no_customer_message_means_no_answers(api, agent):
    api.say(agent, "Hello, I'm Sam.")
    for feature, field in FEATURES.items():
        assert api.suggest(agent, feature).json[field] == []
    assert "knowledgeAssistAnswer" not in api.suggest(agent, "suggestKnowledgeAssist").json


@pytest.mark.parametrize(
    "body,status",
    [
        ({"latestMessage": "projects/my-proj/locations/global/conversations/other/messages/m1"}, 404),
        ({"latestMessage": "PLACEHOLDER/messages/missing"}, 404),
        ({"latestMessage": "not-a-message-name"}, 400),
        ({"contextSize": "many"}, 400),
        ({"contextSize": True}, 400),
    ],
)
def test_suggest_rejects_bad_requests(api, conversation, agent, body, status):
    body = {k: v.replace("PLACEHOLDER", conversation) if isinstance(v, str) else v for k, v in body.items()}
    assert api.suggest(agent, "suggestArticles", **body).status_code == status


def test_unknown_suggestion_feature_is_404(api, agent):
    assert api.suggest(agent, "suggestHoroscope").status_code == 404


def test_conversation_summary(api, client, conversation, customer, agent):
    api.say(customer, "I need to change my flight")
    api.say(agent, "Sure, which day works for you?")
    api.complete(conversation)

    response = client.post(api.url(f"{conversation}/suggestions:suggestConversationSummary"), json={})

    assert response.status_code == 200
    summary = response.json["summary"]
    assert summary["textSections"] == {
        "situation": "The customer asked about changing a flight.",
        "action": "The agent replied in 1 message(s).",
        "resolution": "The conversation has ended.",
    }
    assert [s["section"] for s in summary["sortedTextSections"]] == ["situation", "action", "resolution"]
    assert "Situation: The customer asked about changing a flight." in summary["text"]
    assert ANSWER_RECORD.fullmatch(summary["answerRecord"])
    assert response.json["contextSize"] == 2


def test_summary_of_an_empty_conversation_is_empty(api, client, conversation):
    body = client.post(api.url(f"{conversation}/suggestions:suggestConversationSummary"), json={}).json
    assert body == {"summary": {}, "contextSize": 0}


def test_summary_of_an_unknown_conversation_is_404(api, client):
    url = api.url(f"{SCOPES['global']}/conversations/nope/suggestions:suggestConversationSummary")
    assert client.post(url, json={}).status_code == 404


def test_generate_suggestions_in_a_conversation(api, client, conversation, customer, agent):
    api.say(customer, "I want to cancel my trip")
    latest = api.say(agent, "Let me check.")["message"]["name"]

    response = client.post(api.url(f"{conversation}/suggestions:generate"), json={"triggerEvents": ["MANUAL_CALL"]})

    assert response.status_code == 200
    [answer] = response.json["generatorSuggestionAnswers"]
    assert answer["generatorSuggestion"] == {
        "freeFormSuggestion": {"response": "Confirm the booking and explain the cancellation fee before cancelling."}
    }
    assert answer["sourceGenerator"] == f"{SCOPES['global']}/generators/next-step"
    assert ANSWER_RECORD.fullmatch(answer["answerRecord"])
    assert response.json["latestMessage"] == latest


def test_generate_suggestions_without_a_customer_message_answers_nothing(api, client, conversation, agent):
    api.say(agent, "Hello, I'm Sam.")
    body = client.post(api.url(f"{conversation}/suggestions:generate"), json={}).json
    assert body["generatorSuggestionAnswers"] == []


@pytest.mark.parametrize("body,status", [
    ({"triggerEvents": ["SOMETIMES"]}, 400),
    ({"triggerEvents": "MANUAL_CALL"}, 400),
    ({"latestMessage": "not-a-message-name"}, 400),
    ({"latestMessage": "PLACEHOLDER/messages/missing"}, 404),
])
def test_generate_suggestions_rejects_bad_requests(api, client, conversation, body, status):
    body = {k: v.replace("PLACEHOLDER", conversation) if isinstance(v, str) else v for k, v in body.items()}
    assert client.post(api.url(f"{conversation}/suggestions:generate"), json=body).status_code == status


def test_generate_suggestions_of_an_unknown_conversation_is_404(api, client):
    url = api.url(f"{SCOPES['global']}/conversations/nope/suggestions:generate")
    assert client.post(url, json={}).status_code == 404


SEARCH = {"query": {"text": "how much luggage can I take"}, "conversationProfile": PROFILE, "sessionId": "s-1"}


@pytest.mark.parametrize("scope", [SCOPES["global"], SCOPES["location-less"]])
def test_search_knowledge(client, scope):
    response = client.post(f"/v2/{scope}/suggestions:searchKnowledge", json=SEARCH)
    assert response.status_code == 200
    answer = response.json["answers"][0]
    assert answer["answerType"] == "FAQ"
    assert answer["answerSources"][0]["title"] == "Baggage allowance and delayed bags"
    assert ANSWER_RECORD.fullmatch(answer["answerRecord"])
    assert response.json["rewrittenQuery"] == "baggage allowance delayed bag"


def test_search_knowledge_in_a_conversation(api, client, conversation):
    url = api.url(f"{conversation}/suggestions:searchKnowledge")
    assert client.post(url, json=SEARCH).json["answers"][0]["answerSources"][0]["uri"].endswith("/baggage")
    missing = api.url(f"{SCOPES['global']}/conversations/nope/suggestions:searchKnowledge")
    assert client.post(missing, json=SEARCH).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"query": None},
        {"conversationProfile": None},
        {"sessionId": None},
        {"query": {"text": ""}},
        {"conversationProfile": "airline-profile"},
    ],
)
def test_search_knowledge_needs_query_profile_and_session(client, change):
    body = {k: v for k, v in {**SEARCH, **change}.items() if v is not None}
    response = client.post(f"/v2/{SCOPES['global']}/suggestions:searchKnowledge", json=body)
    assert response.status_code == 400


GENERATE_URL = f"/v2/{SCOPES['global']}/statelessSuggestion:generate"
ENTRIES = [
    {"role": "END_USER", "text": "I want to cancel my trip", "languageCode": "en-US"},
    {"role": 1, "text": "I can help with that."},
]


def test_stateless_free_form_generator(client):
    body = {
        "generatorName": f"{SCOPES['global']}/generators/next-step",
        "conversationContext": {"messageEntries": ENTRIES},
    }
    response = client.post(GENERATE_URL, json=body)
    assert response.status_code == 200
    assert response.json == {
        "generatorSuggestion": {
            "freeFormSuggestion": {
                "response": "Confirm the booking and explain the cancellation fee before cancelling."
            }
        }
    }


def test_stateless_summarization_generator(client):
    body = {"generator": {"summarizationContext": {}}, "conversationContext": {"messageEntries": ENTRIES}}
    sections = client.post(GENERATE_URL, json=body).json["generatorSuggestion"]["summarySuggestion"][
        "summarySections"
    ]
    assert sections[0] == {"section": "situation", "summary": "The customer asked about cancelling a booking."}


@pytest.mark.parametrize(
    "body",
    [
        {"conversationContext": {"messageEntries": ENTRIES}},
        {"generatorName": "next-step"},
        {
            "generator": {"freeFormContext": {}},
            "conversationContext": {"messageEntries": [{"role": "BOT", "text": "x"}]},
        },
        {"generator": {"freeFormContext": {}}, "conversationContext": {"messageEntries": "hello"}},
        {"generator": {"freeFormContext": {}}, "conversationContext": {"messageEntries": ["hello"]}},
    ],
)
def test_stateless_generate_rejects_bad_requests(client, body):
    assert client.post(GENERATE_URL, json=body).status_code == 400


def test_stateless_generate_only_exists_under_a_location(client):
    url = f"/v2/projects/{PROJECT}/statelessSuggestion:generate"
    assert client.post(url, json={"generatorName": "x"}).status_code == 404
