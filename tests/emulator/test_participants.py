"""Participants and analyzeContent."""

from __future__ import annotations

import pytest

from .conftest import SCOPES, DialogflowApi


@pytest.mark.parametrize(
    "role,expected",
    [
        ("END_USER", "END_USER"),
        ("HUMAN_AGENT", "HUMAN_AGENT"),
        ("AUTOMATED_AGENT", "AUTOMATED_AGENT"),
        (3, "END_USER"),
        (1, "HUMAN_AGENT"),
    ],
)
def test_create_participant_by_role_name_or_number(api, client, conversation, role, expected):
    name = api.add_participant(conversation, role)
    assert name.startswith(f"{conversation}/participants/")
    assert client.get(api.url(name)).json == {"name": name, "role": expected}


def test_participant_details_are_kept(api, client, conversation):
    name = api.add_participant(
        conversation,
        "END_USER",
        obfuscatedExternalUserId="user-42",
        documentsMetadataFilters={"market": "uk"},
        agentDesktopSource=5,
    )
    assert client.get(api.url(name)).json == {
        "name": name,
        "role": "END_USER",
        "obfuscatedExternalUserId": "user-42",
        "documentsMetadataFilters": {"market": "uk"},
        "agentDesktopSource": "OTHER",
    }


@pytest.mark.parametrize(
    "body,reason",
    [
        ({}, "role"),
        ({"role": "ROLE_UNSPECIFIED"}, "role"),
        ({"role": "CUSTOMER"}, "role"),
        ({"role": 9}, "role"),
        ({"role": "END_USER", "nickname": "bob"}, 'Unknown name "nickname"'),
        ({"role": "END_USER", "documentsMetadataFilters": {"market": 1}}, "documents_metadata_filters"),
        ({"role": "END_USER", "obfuscatedExternalUserId": ["x"]}, "obfuscated_external_user_id"),
        ({"role": "END_USER", "agentDesktopSource": "WHATSAPP"}, "agent_desktop_source"),
    ],
)
def test_create_participant_rejects_bad_bodies(api, client, conversation, body, reason):
    response = client.post(api.url(f"{conversation}/participants"), json=body)
    assert response.status_code == 400
    assert reason in response.json["error"]["message"]


def test_list_participants_in_creation_order(api, client, conversation):
    names = [api.add_participant(conversation, role) for role in ("HUMAN_AGENT", "END_USER")]
    body = client.get(api.url(f"{conversation}/participants")).json
    assert [p["name"] for p in body["participants"]] == names

    first_page = client.get(api.url(f"{conversation}/participants?pageSize=1")).json
    second_page = client.get(
        api.url(f"{conversation}/participants?pageSize=1&pageToken={first_page['nextPageToken']}")
    ).json
    assert [p["name"] for p in first_page["participants"] + second_page["participants"]] == names
    assert "nextPageToken" not in second_page


def test_patch_updates_only_the_masked_fields(api, client, customer):
    client.patch(
        api.url(f"{customer}?updateMask=obfuscatedExternalUserId"), json={"obfuscatedExternalUserId": "u-1"}
    )
    response = client.patch(
        api.url(f"{customer}?updateMask=documents_metadata_filters"),
        json={"obfuscatedExternalUserId": "ignored", "documentsMetadataFilters": {"tier": "gold"}},
    )
    assert response.status_code == 200
    expected = {
        "name": customer,
        "role": "END_USER",
        "obfuscatedExternalUserId": "u-1",
        "documentsMetadataFilters": {"tier": "gold"},
    }
    assert response.json == expected
    assert client.get(api.url(customer)).json == expected


def test_patch_with_a_masked_field_absent_clears_it(api, client, conversation):
    name = api.add_participant(conversation, "END_USER", obfuscatedExternalUserId="u-1")
    response = client.patch(api.url(f"{name}?updateMask=obfuscatedExternalUserId"), json={})
    assert response.json == {"name": name, "role": "END_USER"}


@pytest.mark.parametrize("query", ["", "?updateMask=role", "?updateMask=name"])
def test_patch_needs_a_mask_of_updatable_fields(api, client, customer, query):
    response = client.patch(api.url(f"{customer}{query}"), json={"role": "HUMAN_AGENT"})
    assert response.status_code == 400
    assert client.get(api.url(customer)).json["role"] == "END_USER"


def test_unknown_participant_is_404(api, client, conversation):
    name = f"{conversation}/participants/ghost"
    for response in (
        client.get(api.url(name)),
        api.analyze(name, "hello"),
        client.patch(api.url(f"{name}?updateMask=obfuscatedExternalUserId"), json={}),
        api.suggest(name, "suggestArticles"),
    ):
        assert response.status_code == 404
        assert response.json["error"] == {
            "code": 404,
            "message": f"Participant {name} not found.",
            "status": "NOT_FOUND",
            "details": [],
        }


def test_analyze_content_for_a_customer_turn(api, customer):
    response = api.analyze(customer, "I need to change my flight to Friday.")

    assert response.status_code == 200
    body = response.json
    assert body["replyText"] == ""
    message = body["message"]
    assert message["content"] == "I need to change my flight to Friday."
    assert message["participant"] == customer
    assert message["participantRole"] == "END_USER"
    assert message["languageCode"] == "en-US"
    assert message["createTime"] == message["sendTime"]
    kinds = [next(iter(result)) for result in body["humanAgentSuggestionResults"]]
    assert kinds == [
        "suggestArticlesResponse",
        "suggestFaqAnswersResponse",
        "suggestSmartRepliesResponse",
        "suggestKnowledgeAssistResponse",
    ]
    articles = body["humanAgentSuggestionResults"][0]["suggestArticlesResponse"]
    assert articles["articleAnswers"][0]["title"] == "Change a booking"
    assert articles["latestMessage"].endswith(message["name"].rsplit("/", 1)[1])
    assert body["endUserSuggestionResults"] == []


def test_analyze_content_for_an_agent_turn_suggests_nothing(api, agent):
    body = api.say(agent, "Which day would you like to fly?")
    assert body["message"]["participantRole"] == "HUMAN_AGENT"
    assert body["humanAgentSuggestionResults"] == []
    assert body["endUserSuggestionResults"] == []


def test_analyze_content_keeps_the_given_send_time(api, customer):
    body = api.analyze(customer, "hello", messageSendTime="2026-02-26T19:13:55.400Z").json
    assert body["message"]["sendTime"] == "2026-02-26T19:13:55.400Z"


def test_analyze_content_in_location_less_form_names_resources_that_way(client):
    api = DialogflowApi(client, SCOPES["location-less"], "v2")
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)
    body = api.say(customer, "Where is my bag?")
    assert body["message"]["name"].startswith(f"{conversation}/messages/")
    assert "/locations/" not in conversation


@pytest.mark.parametrize(
    "body,status,reason",
    [
        ({}, 400, "text_input is required"),
        ({"textInput": {"text": ""}}, 400, "text_input.text is required"),
        ({"textInput": {"text": "   "}}, 400, "text_input.text is required"),
        ({"textInput": "hello"}, 400, "text_input"),
        ({"textInput": {"text": 5}}, 400, "text_input.text"),
        ({"textInput": {"text": "hi"}, "messageSendTime": "soon"}, 400, "message_send_time"),
        ({"audioInput": {"audio": "AAAA"}}, 501, "audioInput"),
    ],
)
def test_analyze_content_rejects_bad_bodies(api, client, customer, body, status, reason):
    response = client.post(api.url(f"{customer}:analyzeContent"), json=body)
    assert response.status_code == status
    assert reason in response.json["error"]["message"]
    assert response.json["error"]["status"] == {400: "INVALID_ARGUMENT", 501: "UNIMPLEMENTED"}[status]


def test_analyze_content_in_a_completed_conversation_fails_precondition(api, conversation, customer):
    api.complete(conversation)
    response = api.analyze(customer, "hello?")
    assert response.status_code == 400
    assert response.json["error"]["status"] == "FAILED_PRECONDITION"
