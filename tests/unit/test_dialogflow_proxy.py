"""The Dialogflow proxy against a recording stand-in for Dialogflow's REST endpoint."""
from __future__ import annotations

import json

import pytest

from ui_connector.dialogflow_proxy import ALLOWED_METHODS, GLOBAL_ENDPOINT, DialogflowClient
from ui_connector.services import connector

P = "projects/my-proj"
C = "conversations/CONV-1"
PART = f"{C}/participants/PART_1"
# One concrete request per listed Dialogflow method (method, path under the project[/location]).
CALLS = [
    ("POST", "conversations?conversationId=CONV-1"),
    ("GET", C),
    ("POST", f"{C}:complete"),
    ("GET", f"{C}/messages?pageSize=10&filter=create_time%3E%222026-01-01%22"),
    ("POST", f"{C}/messages:batchCreate"),
    ("POST", f"{C}/participants"),
    ("GET", f"{C}/participants?pageToken=abc"),
    ("GET", PART),
    ("PATCH", f"{PART}?updateMask=documentsMetadataFilters"),
    ("POST", f"{PART}:analyzeContent"),
    ("POST", f"{PART}/suggestions:suggestArticles"),
    ("POST", f"{PART}/suggestions:suggestFaqAnswers"),
    ("POST", f"{PART}/suggestions:suggestSmartReplies"),
    ("POST", f"{PART}/suggestions:suggestKnowledgeAssist"),
    ("POST", f"{C}/suggestions:suggestConversationSummary"),
    ("POST", f"{C}/suggestions:generate"),
    ("POST", f"{C}/suggestions:searchKnowledge"),
    ("POST", "suggestions:searchKnowledge"),
    ("POST", "statelessSuggestion:generate"),
    ("PATCH", "answerRecords/AR-1?updateMask=answerFeedback"),
    ("GET", "conversationProfiles/PROFILE-1"),
    ("GET", "conversationModels/MODEL-1"),
    ("GET", "generators/GEN-1"),
]
PREFIXES = [f"v2/{P}/locations/global", f"v2beta1/{P}/locations/us-central1", f"v2beta1/{P}"]


@pytest.fixture
def proxy(make_connector, fake_http):
    fake_http.default = (200, {"name": "ok"})
    app = make_connector(DIALOGFLOW_API_ENDPOINT=fake_http.url, DIALOGFLOW_AUTH="none",
                         DIALOGFLOW_TIMEOUT_SECONDS="1")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {connector(app).tokens.issue('agent')}"
    return client


def test_every_listed_dialogflow_method_has_a_test_call():
    assert len(CALLS) == len(ALLOWED_METHODS)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method,path", CALLS)
def test_each_route_reaches_dialogflow_with_method_path_query_and_body_intact(proxy, fake_http, prefix, method,
                                                                               path):
    body = {"textInput": {"text": "I need to change my flight", "languageCode": "en-US"}}
    response = proxy.open(f"/{prefix}/{path}", method=method, json=None if method == "GET" else body)

    assert response.status_code == 200, response.get_json()
    sent = fake_http.requests[-1]
    assert (sent["method"], sent["path"]) == (method, f"/{prefix}/{path}")
    if method != "GET":
        assert json.loads(sent["body"]) == body
    assert "Bearer" not in sent["headers"].get("Authorization", ""), "the desktop's JWT must not leave"


def test_upstream_status_body_and_headers_pass_through(proxy, fake_http):
    not_found = {"error": {"code": 404, "message": "Conversation not found.", "status": "NOT_FOUND"}}
    fake_http.routes[f"/v2/{P}/locations/global/{C}"] = (404, not_found)
    response = proxy.get(f"/v2/{P}/locations/global/{C}")
    assert response.status_code == 404 and response.get_json() == not_found
    assert response.headers["Content-Type"] == "application/json"
    assert "Transfer-Encoding" not in response.headers and "Content-Encoding" not in response.headers


@pytest.mark.parametrize("path,status,problem", [
    (f"/v2/projects/other-proj/locations/global/{C}", 403, "other-proj"),
    (f"/v2/{P}/locations/global/conversations", 405, "not allowed"),  # GET: conversations.list is not served
    (f"/v2/{P}/locations/global/agents/A1", 404, "not a Dialogflow method"),
    (f"/v3/{P}/locations/global/{C}", 404, "not a Dialogflow method"),
    (f"/v2/{P}/locations/global/{C}/../../../secrets", 404, "not a Dialogflow method"),
    (f"/v2/{P}/locations/evil.example.com%2F/{C}", 404, "not a Dialogflow method"),
])
def test_refusals(proxy, fake_http, path, status, problem):
    response = proxy.get(path)
    assert response.status_code == status
    assert problem in response.get_json()["error"]["message"]
    assert fake_http.requests == []


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "conversations", "POST"),
    ("POST", C, "GET"),
    ("POST", PART, "GET, PATCH"),
    ("PATCH", f"{C}/participants", "POST, GET"),
])
def test_another_method_on_a_listed_path_is_a_405_that_says_which_are_allowed(proxy, fake_http, method, path,
                                                                               allowed):
    response = proxy.open(f"/v2/{P}/locations/global/{path}", method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed  # RFC 9110: a 405 must name the methods the resource has
    assert fake_http.requests == []


@pytest.mark.parametrize("path,allowed", [("conversations", "POST, OPTIONS"), (PART, "GET, PATCH, OPTIONS")])
def test_options_names_what_the_path_allows_without_a_jwt(make_connector, fake_http, path, allowed):
    client = make_connector(DIALOGFLOW_API_ENDPOINT=fake_http.url, DIALOGFLOW_AUTH="none").test_client()

    response = client.options(f"/v2/{P}/locations/global/{path}")

    assert response.status_code == 200
    assert response.headers["Allow"] == allowed
    assert fake_http.requests == []


def test_a_cors_preflight_of_a_proxied_call_passes_for_an_allowed_origin(make_connector):
    client = make_connector(CORS_ALLOWED_ORIGINS="https://desk.example.com").test_client()

    response = client.options(f"/v2/{P}/locations/global/{C}", headers={
        "Origin": "https://desk.example.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://desk.example.com"


def test_no_jwt_is_refused_before_anything_is_sent(make_connector, fake_http):
    client = make_connector(DIALOGFLOW_API_ENDPOINT=fake_http.url, DIALOGFLOW_AUTH="none").test_client()
    response = client.get(f"/v2/{P}/locations/global/{C}")
    assert response.status_code == 401 and fake_http.requests == []


def test_upstream_down_is_502(make_connector):
    app = make_connector(DIALOGFLOW_API_ENDPOINT="http://127.0.0.1:9", DIALOGFLOW_AUTH="none")
    token = connector(app).tokens.issue("agent")
    response = app.test_client().get(f"/v2/{P}/locations/global/{C}", headers={"Authorization": token})
    assert response.status_code == 502 and response.get_json()["error"]["status"] == "UNAVAILABLE"


def test_upstream_slow_is_504(proxy, fake_http):
    fake_http.delay_seconds = 2
    response = proxy.get(f"/v2/{P}/locations/global/{C}")
    assert response.status_code == 504 and response.get_json()["error"]["status"] == "DEADLINE_EXCEEDED"


def test_oversized_request_is_413(proxy, fake_http):
    response = proxy.post(f"/v2/{P}/locations/global/{PART}:analyzeContent", data=b"x" * (1024 * 1024 + 1),
                          content_type="application/json")
    assert response.status_code == 413 and fake_http.requests == []


@pytest.mark.parametrize("location,endpoint", [
    (None, GLOBAL_ENDPOINT), ("global", GLOBAL_ENDPOINT), ("europe-west2", "https://europe-west2-dialogflow.googleapis.com"),
])
def test_regional_endpoints(location, endpoint):
    assert DialogflowClient("", 30, use_google_credentials=False).endpoint(location) == endpoint
