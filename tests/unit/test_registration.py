"""/register and /register-app: the check_auth hook, the built-in providers and rate limiting."""
from __future__ import annotations

import jwt
import pytest

from ui_connector import auth


def test_check_auth_refuses_everyone_until_the_operator_implements_it(make_connector):
    assert auth.check_auth("anything") is False
    response = make_connector().test_client().post("/register", headers={"Authorization": "token"})
    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == "UNAUTHENTICATED"


def test_an_implemented_check_auth_gets_a_token_with_the_documented_claims(make_connector, monkeypatch, secret_file):
    seen = []
    monkeypatch.setattr(auth, "check_auth", lambda token: seen.append(token) or token == "Bearer good")
    client = make_connector().test_client()

    response = client.post("/register", headers={"Authorization": "Bearer good"}, json={"user": "agent-7"})

    assert response.status_code == 200 and seen == ["Bearer good"]
    token = response.get_json()["token"]
    claims = jwt.decode(token, secret_file.read_text().strip(), algorithms=["HS256"], audience="aa-agent-desktop",
                        issuer="aa-ui-connector")
    assert claims["project"] == "my-proj" and claims["sub"] == "agent-7"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


@pytest.mark.parametrize("path", ["/register", "/register-app"])
@pytest.mark.parametrize("body,field", [({"user": 7}, "user"), ({"user": "", "userId": {}}, "userId"),
                                        ({"userId": ["agent-7"]}, "userId")])
def test_a_user_that_is_not_text_is_a_400_not_an_anonymous_token(make_connector, path, body, field):
    client = make_connector(AUTH_OPTION="Skip", ALLOW_INSECURE_AUTH_SKIP="true").test_client()

    response = client.post(path, headers={"Authorization": "x"}, json={"accountSid": "AC1", "authToken": "t", **body})

    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"'{field}' must be a string"


def test_a_null_user_is_no_user(make_connector):
    client = make_connector(AUTH_OPTION="Skip", ALLOW_INSECURE_AUTH_SKIP="true").test_client()

    response = client.post("/register", headers={"Authorization": "x"}, json={"user": None, "userId": "agent-7"})

    assert response.status_code == 200
    assert jwt.decode(response.get_json()["token"], options={"verify_signature": False})["sub"] == "agent-7"


def test_failed_registrations_are_rate_limited_per_client(make_connector):
    client = make_connector(REGISTER_FAILURES_PER_MINUTE="3", TRUSTED_PROXY_HOPS="1").test_client()
    statuses = [client.post("/register", headers={"Authorization": "bad"}).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    limited = client.post("/register", headers={"Authorization": "bad"})
    assert limited.headers["Retry-After"] == "60"
    other_client = client.post("/register", headers={"Authorization": "bad", "X-Forwarded-For": "203.0.113.9"})
    assert other_client.status_code == 401


def test_by_default_no_proxy_is_trusted_so_x_forwarded_for_buys_no_attempts(make_connector):
    client = make_connector(REGISTER_FAILURES_PER_MINUTE="2").test_client()
    statuses = [client.post("/register", headers={"Authorization": "bad", "X-Forwarded-For": f"203.0.113.{n}"})
                .status_code for n in range(3)]
    assert statuses == [401, 401, 429]


def test_requests_any_site_can_make_without_a_preflight_are_refused_uncounted(make_connector):
    """No Authorization header on /register, no JSON Content-Type on /register-app: what a page
    elsewhere can make a browser send. Refused, and no guess, so they lock nobody out."""
    client = make_connector(REGISTER_FAILURES_PER_MINUTE="2").test_client()
    for _ in range(5):
        assert client.post("/register", data='{"user": "x"}', content_type="text/plain").status_code == 401
        refused = client.post("/register-app", data='{"accountSid": "AC1", "authToken": "t"}',
                              content_type="text/plain")
        assert refused.status_code == 415
        assert refused.get_json()["error"]["message"] == "Content-Type must be application/json"
    assert [client.post("/register", headers={"Authorization": "bad"}).status_code for _ in range(3)] == [401, 401, 429]


def test_register_app_failures_with_a_json_body_count(make_connector):
    client = make_connector(REGISTER_FAILURES_PER_MINUTE="2").test_client()
    statuses = [client.post("/register-app", json={"accountSid": "AC1", "authToken": "t"}).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_skip_gives_tokens_only_when_explicitly_allowed(make_connector):
    client = make_connector(AUTH_OPTION="Skip", ALLOW_INSECURE_AUTH_SKIP="true").test_client()
    assert client.post("/register", headers={"Authorization": "x"}).status_code == 200


def test_register_app_is_refused_without_an_app_auth_option(make_connector):
    response = make_connector().test_client().post("/register-app", json={"accountSid": "AC1", "authToken": "t"})
    assert response.status_code == 401


def test_register_app_with_twilio_checks_the_account(make_connector, fake_http):
    fake_http.routes["/2010-04-01/Accounts/AC123.json"] = (200, {"sid": "AC123"})
    client = make_connector(APP_AUTH_OPTION="Twilio", TWILIO_ACCOUNT_SID="AC123",
                            TWILIO_API_BASE_URL=fake_http.url).test_client()

    assert client.post("/register-app", json={"accountSid": "AC123", "authToken": "tok"}).status_code == 200
    assert fake_http.requests[-1]["headers"]["Authorization"].startswith("Basic ")
    assert client.post("/register-app", json={"accountSid": "AC999", "authToken": "tok"}).status_code == 401


@pytest.mark.parametrize("option,env,path,answer,accepted", [
    ("Salesforce", {"SALESFORCE_ORGANIZATION_ID": "00D000000000001AAA"}, "/services/oauth2/userinfo",
     (200, {"user_id": "u", "organization_id": "00D000000000001"}), True),
    ("Salesforce", {"SALESFORCE_ORGANIZATION_ID": "00D000000000001AAA"}, "/services/oauth2/userinfo",
     (200, {"user_id": "u", "organization_id": "00D000000000999"}), False),
    ("SalesforceLWC", {"SALESFORCE_ORGANIZATION_ID": "00D000000000001"}, "/services/oauth2/userinfo",
     (200, {"user_id": "u", "organization_id": "00D000000000001AAA"}), True),
    ("Salesforce", {"SALESFORCE_ORGANIZATION_ID": "00D000000000001"}, "/services/oauth2/userinfo",
     (401, {"error": "invalid_token"}), False),
    ("GenesysCloud", {"GENESYS_CLOUD_ORGANIZATION_ID": "org-1"}, "/api/v2/users/me",
     (200, {"id": "user-1", "organization": {"id": "org-1"}}), True),
    ("GenesysCloud", {"GENESYS_CLOUD_ORGANIZATION_ID": "org-1"}, "/api/v2/users/me",
     (200, {"id": "user-1", "organization": {"id": "someone-elses-trial-org"}}), False),
    ("GenesysCloud", {"GENESYS_CLOUD_ORGANIZATION_ID": "org-1"}, "/api/v2/users/me", (200, {"id": "user-1"}), False),
    ("GenesysCloud", {"GENESYS_CLOUD_ORGANIZATION_ID": "org-1"}, "/api/v2/users/me",
     (401, {"message": "bad token"}), False),
    ("Twilio", {}, "/verify", (200, {"ok": True}), True),
    ("Twilio", {}, "/verify", (403, {"ok": False}), False),
])
def test_platform_providers_verify_against_the_platform(make_connector, fake_http, option, env, path, answer,
                                                        accepted):
    fake_http.routes[path] = answer
    domains = {"SALESFORCE_DOMAIN": fake_http.url, "GENESYS_CLOUD_ENVIRONMENT": fake_http.url,
               "TWILIO_FLEX_ENVIRONMENT": fake_http.url}
    client = make_connector(AUTH_OPTION=option, **domains, **env).test_client()

    response = client.post("/register", headers={"Authorization": "Bearer platform-token"})

    assert response.status_code == (200 if accepted else 401)
    sent = fake_http.requests[-1]
    assert "platform-token" in sent["headers"].get("Authorization", "") + sent["path"] + sent["body"]


def test_an_unreachable_platform_refuses_rather_than_fails(make_connector):
    client = make_connector(AUTH_OPTION="GenesysCloud", GENESYS_CLOUD_ENVIRONMENT="http://127.0.0.1:9",
                            GENESYS_CLOUD_ORGANIZATION_ID="org-1", AUTH_TIMEOUT_SECONDS="1").test_client()
    assert client.post("/register", headers={"Authorization": "Bearer t"}).status_code == 401
