"""Errors in the google.rpc.Status shape, never a stack trace; the /emulator/ inspection endpoints."""

from __future__ import annotations

import pytest

from devstack.dialogflow_emulator.config import EmulatorConfig
from devstack.dialogflow_emulator.service import DialogflowEmulator
from tests.support import fixture_event

from .conftest import SCOPES

CONVERSATIONS = f"/v2/{SCOPES['global']}/conversations"


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/"),
        ("GET", "/v3/projects/my-proj/conversations/c1"),
        ("GET", "/v2/projects/my-proj/agents"),
        ("DELETE", f"{CONVERSATIONS}/c1"),
        ("GET", f"{CONVERSATIONS}/c1:complete"),
        ("POST", "/healthz"),
    ],
)
def test_unknown_routes_and_methods_are_404_rpc_status(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"].keys() == fixture_event("rest-error.json")["error"].keys()
    assert response.json["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', "\xff\xfe"])
def test_malformed_bodies_are_400(client, data):
    response = client.post(CONVERSATIONS, data=data.encode("latin-1"), content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["status"] == "INVALID_ARGUMENT"
    assert "Invalid JSON payload" in response.json["error"]["message"]


def test_an_unexpected_failure_is_a_500_without_internals(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(DialogflowEmulator, "get_conversation", explode)
    response = client.get(f"{CONVERSATIONS}/c1")
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL", "details": []}
    }
    assert b"Traceback" not in response.data and b"secret" not in response.data


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_reset_forgets_everything(api, client, conversation, customer):
    answer = api.say(customer, "refund please")["humanAgentSuggestionResults"][1]
    record = answer["suggestFaqAnswersResponse"]["faqAnswers"][0]["answerRecord"]
    api.feedback(record, {"clicked": True})

    assert client.post("/emulator/reset").status_code == 200

    assert client.get(api.url(conversation)).status_code == 404
    assert api.feedback(record, {"clicked": True}).status_code == 404
    assert client.get("/emulator/feedback").json == {"feedback": []}
    assert client.get("/emulator/notifications").json == {"notifications": []}


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"SUGGESTION_TOPIC_ID": "1-starts-with-digit"}, "SUGGESTION_TOPIC_ID"),
        ({"PUBSUB_EMULATOR_HOST": "http://localhost:8085"}, "PUBSUB_EMULATOR_HOST"),
        ({"INTERCEPTOR_URL": "localhost:8080"}, "INTERCEPTOR_URL"),
    ],
)
def test_bad_configuration_is_refused_at_start_up(env, variable):
    with pytest.raises(ValueError, match=variable):
        EmulatorConfig.from_env(env)
