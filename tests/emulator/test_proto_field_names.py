"""Request bodies in proto field names (``conversation_profile``), as Google's demo page sends them.

Proto3 JSON parsers accept a field's proto name and its lowerCamelCase JSON name alike; answers
always use the JSON name. Map and Struct keys are data, not field names, and stay as sent.
"""

from __future__ import annotations

from .conftest import PROFILE, SCOPES

PARENT = SCOPES["global"]


def test_create_a_conversation(client):
    response = client.post(f"/v2beta1/{PARENT}/conversations", json={"conversation_profile": PROFILE})
    assert response.status_code == 200, response.json
    assert response.json["conversationProfile"] == PROFILE


def test_a_participant_with_its_details_and_map_keys_as_sent(api, client, conversation):
    body = {"role": "END_USER", "obfuscated_external_user_id": "user-42",
            "documents_metadata_filters": {"market_segment": "uk"}, "agent_desktop_source": "OTHER"}
    response = client.post(api.url(f"{conversation}/participants"), json=body)
    assert response.status_code == 200, response.json
    assert response.json == {"name": response.json["name"], "role": "END_USER", "obfuscatedExternalUserId": "user-42",
                             "documentsMetadataFilters": {"market_segment": "uk"}, "agentDesktopSource": "OTHER"}


def test_analyze_content(api, client, customer):
    body = {"text_input": {"text": "Can I get a refund?", "language_code": "en-GB"},
            "message_send_time": "2026-02-26T19:13:55.000Z"}
    response = client.post(api.url(f"{customer}:analyzeContent"), json=body)
    assert response.status_code == 200, response.json
    message = response.json["message"]
    assert (message["content"], message["languageCode"]) == ("Can I get a refund?", "en-GB")
    assert message["sendTime"] == "2026-02-26T19:13:55.000Z"


def test_search_knowledge_in_and_outside_a_conversation(api, client, conversation):
    body = {"query": {"text": "how much luggage can I take", "language_code": "en-US"},
            "conversation_profile": PROFILE, "session_id": "s-1"}
    for url in (f"/v2/{PARENT}/suggestions:searchKnowledge", api.url(f"{conversation}/suggestions:searchKnowledge")):
        response = client.post(url, json=body)
        assert response.status_code == 200, response.json
        assert response.json["answers"][0]["answerSources"][0]["uri"].endswith("/baggage")


def test_batch_create_messages(api, client, conversation, customer):
    body = {"requests": [{"parent": conversation, "message": {
        "content": "imported", "participant": customer, "language_code": "en-US",
        "send_time": "2026-02-26T19:13:55.000Z"}}]}
    response = client.post(api.url(f"{conversation}/messages:batchCreate"), json=body)
    assert response.status_code == 200, response.json
    assert response.json["messages"][0]["sendTime"] == "2026-02-26T19:13:55.000Z"


def test_suggestions_with_latest_message_and_context_size(api, client, conversation, customer, agent):
    first = api.say(customer, "Can I get a refund?")["message"]["name"]
    api.say(customer, "Also my bag is missing")
    answer = api.suggest(agent, "suggestFaqAnswers", latest_message=first, context_size=1).json
    assert answer["faqAnswers"][0]["question"] == "How do I get a refund?"
    summary = client.post(api.url(f"{conversation}/suggestions:suggestConversationSummary"),
                          json={"latest_message": first}).json
    assert summary["latestMessage"] == first


def test_stateless_suggestion(client):
    body = {"generator_name": f"{PARENT}/generators/next-step",
            "conversation_context": {"message_entries": [{"role": "END_USER", "text": "I want to cancel my trip",
                                                          "language_code": "en-US"}]}}
    response = client.post(f"/v2/{PARENT}/statelessSuggestion:generate", json=body)
    assert response.status_code == 200, response.json
    assert "cancellation fee" in response.json["generatorSuggestion"]["freeFormSuggestion"]["response"]


def test_answer_feedback_is_recorded_under_json_names(api, client, customer):
    results = api.say(customer, "How do I get a refund?")["humanAgentSuggestionResults"]
    record = results[1]["suggestFaqAnswersResponse"]["faqAnswers"][0]["answerRecord"]
    body = {"answer_feedback": {"correctness_level": "FULLY_CORRECT", "click_time": "2026-02-26T19:14:02.000Z"}}
    response = client.patch(api.url(f"{record}?updateMask=answer_feedback"), json=body)
    assert response.status_code == 200, response.json
    assert response.json["answerFeedback"] == {"correctnessLevel": "FULLY_CORRECT",
                                               "clickTime": "2026-02-26T19:14:02.000Z"}


def test_one_field_in_both_spellings_is_a_400_naming_it(api, client, customer):
    both = client.post(f"/v2/{PARENT}/conversations", json={"conversation_profile": PROFILE,
                                                            "conversationProfile": PROFILE})
    assert both.status_code == 400 and "conversation_profile" in both.json["error"]["message"]
    nested = client.post(api.url(f"{customer}:analyzeContent"),
                         json={"textInput": {"text": "hi", "language_code": "en-US", "languageCode": "en-US"}})
    assert nested.status_code == 400 and "language_code" in nested.json["error"]["message"]
