"""Conversations and messages through Dialogflow's REST paths."""

from __future__ import annotations

import re

import pytest

from .conftest import PROFILE, PROJECT, SCOPES, DialogflowApi

RFC3339_MILLIS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_create_get_and_complete_in_every_version_and_location_form(client, version, scope):
    api = DialogflowApi(client, scope, version)

    created = api.create_conversation("conv-1")
    assert created.status_code == 200
    assert created.json["name"] == f"{scope}/conversations/conv-1"
    assert created.json["lifecycleState"] == "IN_PROGRESS"
    assert created.json["conversationProfile"] == PROFILE
    assert "endTime" not in created.json

    assert client.get(api.url(f"{scope}/conversations/conv-1")).json == created.json

    completed = api.complete(f"{scope}/conversations/conv-1")
    assert completed.status_code == 200
    assert completed.json["lifecycleState"] == "COMPLETED"
    assert completed.json["endTime"] >= completed.json["startTime"]
    assert client.get(api.url(f"{scope}/conversations/conv-1")).json["lifecycleState"] == "COMPLETED"


def test_timestamps_are_rfc3339_utc(api, client, conversation):
    body = api.complete(conversation).json
    for field in ("startTime", "endTime"):
        assert re.match(RFC3339_MILLIS, body[field]), body[field]


def test_generated_ids_are_unique_and_start_with_a_letter(api):
    names = {api.new_conversation() for _ in range(20)}
    assert len(names) == 20
    assert all(name.rsplit("/", 1)[1][0].isalpha() for name in names)


def test_location_less_and_global_forms_name_the_same_conversation(client, api):
    api.create_conversation("shared-1")
    body = client.get(f"/v2/projects/{PROJECT}/conversations/shared-1").json
    assert body["name"] == f"projects/{PROJECT}/conversations/shared-1"


def test_a_regional_conversation_is_not_found_in_another_location(client):
    DialogflowApi(client, SCOPES["regional"]).create_conversation("regional-1")
    response = client.get(f"/v2/{SCOPES['global']}/conversations/regional-1")
    assert response.status_code == 404


def test_unknown_conversation_is_404_with_rpc_status(client):
    name = f"{SCOPES['global']}/conversations/NOPE"
    history = {"requests": [{"message": {"participant": f"{name}/participants/p1", "content": "hi"}}]}
    for response in (
        client.get(f"/v2/{name}"),
        client.post(f"/v2/{name}:complete"),
        client.get(f"/v2/{name}/messages"),
        client.post(f"/v2beta1/{name}/messages:batchCreate", json=history),
        client.post(f"/v2/{name}/participants", json={"role": "END_USER"}),
        client.get(f"/v2/{name}/participants"),
        client.post(f"/v2/{name}/suggestions:suggestConversationSummary", json={}),
    ):
        assert response.status_code == 404
        assert response.json == {
            "error": {
                "code": 404,
                "message": f"Conversation {name} not found.",
                "status": "NOT_FOUND",
                "details": [],
            }
        }


@pytest.mark.parametrize(
    "body", [{}, {"conversationProfile": ""}, {"conversationProfile": "my-profile"}, {"conversationProfile": 42}]
)
def test_create_needs_a_conversation_profile_name(client, body):
    response = client.post(f"/v2/{SCOPES['global']}/conversations", json=body)
    assert response.status_code == 400
    assert response.json["error"]["status"] == "INVALID_ARGUMENT"
    assert "conversation_profile" in response.json["error"]["message"]


@pytest.mark.parametrize("conversation_id", ["1abc", "ab", "a" * 65, "has space", "bad.dot"])
def test_create_rejects_ids_dialogflow_rejects(api, conversation_id):
    response = api.create_conversation(conversation_id)
    assert response.status_code == 400
    assert "conversation_id" in response.json["error"]["message"]


def test_create_with_an_existing_id_is_409(api):
    assert api.create_conversation("dup-1").status_code == 200
    response = api.create_conversation("dup-1")
    assert response.status_code == 409
    assert response.json["error"]["status"] == "ALREADY_EXISTS"


def test_completing_twice_keeps_the_first_end_time(api, conversation):
    first = api.complete(conversation).json
    assert api.complete(conversation).json["endTime"] == first["endTime"]


def test_messages_are_listed_newest_first(api, client, conversation, customer, agent):
    for participant, text in [(customer, "Hello"), (agent, "Hi, how can I help?"), (customer, "My bag is lost")]:
        api.say(participant, text)

    body = client.get(api.url(f"{conversation}/messages")).json

    assert [m["content"] for m in body["messages"]] == ["My bag is lost", "Hi, how can I help?", "Hello"]
    assert [m["participantRole"] for m in body["messages"]] == ["END_USER", "HUMAN_AGENT", "END_USER"]
    assert body["messages"][1]["participant"] == agent
    assert all(m["name"].startswith(f"{conversation}/messages/") for m in body["messages"])
    assert "nextPageToken" not in body


def test_messages_page_with_next_page_token(api, client, conversation, customer):
    for number in range(5):
        api.say(customer, f"message {number}")

    seen, token = [], None
    while True:
        query = f"pageSize=2&pageToken={token}" if token else "pageSize=2"
        body = client.get(api.url(f"{conversation}/messages?{query}")).json
        assert len(body["messages"]) <= 2
        seen += [m["content"] for m in body["messages"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert seen == [f"message {number}" for number in range(4, -1, -1)]


@pytest.mark.parametrize("query", ["pageToken=garbage", "pageSize=-1", "pageSize=ten"])
def test_bad_page_parameters_are_400(api, client, conversation, query):
    assert client.get(api.url(f"{conversation}/messages?{query}")).status_code == 400


def test_batch_create_adds_messages_without_notifying(api, client, conversation, customer, agent):
    before = len(api.notifications())
    requests = [
        {
            "parent": conversation,
            "message": {
                "participant": customer,
                "content": "I want a refund",
                "languageCode": "en-US",
                "sendTime": "2026-02-26T19:13:55.400Z",
            },
        },
        {"message": {"participant": agent, "content": "Let me check"}},
    ]

    response = client.post(api.url(f"{conversation}/messages:batchCreate"), json={"requests": requests})

    assert response.status_code == 200
    created = response.json["messages"]
    assert [(m["content"], m["participantRole"]) for m in created] == [
        ("I want a refund", "END_USER"),
        ("Let me check", "HUMAN_AGENT"),
    ]
    assert created[0]["sendTime"] == "2026-02-26T19:13:55.400Z"
    listed = client.get(api.url(f"{conversation}/messages")).json["messages"]
    assert [m["name"] for m in listed] == [created[1]["name"], created[0]["name"]]
    assert len(api.notifications()) == before


@pytest.mark.parametrize(
    "requests,reason",
    [
        ([], "requests is required"),
        ("nope", "requests"),
        ([{"message": {"content": "no participant"}}], "participant"),
        (
            [{"message": {"participant": "projects/p/conversations/other/participants/x", "content": "hi"}}],
            "participant",
        ),
        ([{"message": {"participant": "PARTICIPANT", "content": ""}}], "content"),
        ([{"message": {"participant": "PARTICIPANT", "content": "hi", "sendTime": "yesterday"}}], "send_time"),
        (["not an object"], "requests[0]"),
        (
            [
                {
                    "parent": "projects/my-proj/conversations/other",
                    "message": {"participant": "PARTICIPANT", "content": "hi"},
                }
            ],
            "parent",
        ),
        ([{"message": {"participant": "PARTICIPANT", "content": "hi"}}] * 1001, "At most 1000"),
    ],
)
def test_batch_create_rejects_bad_requests(api, client, conversation, customer, requests, reason):
    if isinstance(requests, list):
        for entry in requests:
            if isinstance(entry, dict) and entry["message"].get("participant") == "PARTICIPANT":
                entry["message"]["participant"] = customer
    response = client.post(api.url(f"{conversation}/messages:batchCreate"), json={"requests": requests})
    assert response.status_code == 400
    assert reason in response.json["error"]["message"]
    assert client.get(api.url(f"{conversation}/messages")).json == {"messages": []}


def test_batch_create_with_an_unknown_participant_is_404_and_adds_nothing(api, client, conversation, customer):
    requests = [
        {"message": {"participant": customer, "content": "first"}},
        {"message": {"participant": f"{conversation}/participants/ghost", "content": "second"}},
    ]
    response = client.post(api.url(f"{conversation}/messages:batchCreate"), json={"requests": requests})
    assert response.status_code == 404
    assert client.get(api.url(f"{conversation}/messages")).json == {"messages": []}


def test_domain_scoped_project_ids_work(client):
    api = DialogflowApi(client, "projects/example.com:my-proj/locations/global")
    conversation = api.new_conversation()
    customer = api.add_participant(conversation)
    assert api.say(customer, "Hello")["message"]["name"].startswith("projects/example.com:my-proj/")
