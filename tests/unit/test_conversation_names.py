"""/conversation-name: integration keys stored as an HMAC with a TTL, never in clear."""
from __future__ import annotations

import hashlib
import logging

import pytest


@pytest.fixture
def client(make_connector):
    app = make_connector()
    token = app.extensions["ui_connector"].tokens.issue("agent")
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return test_client


NAME = "projects/my-proj/locations/global/conversations/C1"


def test_set_get_delete_round_trip(client):
    stored = client.post("/conversation-name", json={"conversationIntegrationKey": "+15551234567",
                                                    "conversationName": NAME})
    assert stored.status_code == 200 and stored.get_json() == {"+15551234567": NAME}
    found = client.get("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert found.get_json() == {"conversationName": NAME}
    assert client.delete("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"}).status_code == 200
    missing = client.get("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert missing.get_json() == {"conversationName": ""}
    gone = client.delete("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert gone.status_code == 404


def test_keys_are_stored_keyed_hashed_with_a_ttl_and_never_logged(client, fake_redis, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/conversation-name", json={"conversationIntegrationKey": "+15551234567", "conversationName": NAME})
    [key] = fake_redis.keys("aa:conversation-name:*")
    assert "15551234567" not in key
    assert hashlib.sha256(b"+15551234567").hexdigest() not in key
    assert 0 < fake_redis.ttl(key) <= 86400
    assert "15551234567" not in caplog.text


@pytest.mark.parametrize("body,status,problem", [
    ({"conversationName": NAME}, 400, "conversationIntegrationKey is required"),
    ({"conversationIntegrationKey": "k"}, 400, "conversation name"),
    ({"conversationIntegrationKey": "k", "conversationName": "C1"}, 400, "conversation name"),
    ({"conversationIntegrationKey": "k" * 600, "conversationName": NAME}, 400, "longer than"),
    ({"conversationIntegrationKey": "k", "conversationName": "projects/other/conversations/C1"}, 403, "another project"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_requests(client, body, status, problem):
    response = client.post("/conversation-name", json=body)
    assert response.status_code == status and problem in response.get_json()["error"]["message"]


def test_get_needs_a_key(client):
    assert client.get("/conversation-name").status_code == 400
