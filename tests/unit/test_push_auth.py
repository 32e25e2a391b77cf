"""PUSH_AUDIENCE set: pushes need a Google-signed OIDC token for the push service account.

Tokens are signed here with a generated key whose certificate a local fake serves in the
format of Google's certs endpoint, so the real verification code path runs."""
from __future__ import annotations

import base64
import datetime
import json
import time

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from aa_common.events import EventKind

ROUTE = f"/{EventKind.NEW_MESSAGE}"
AUDIENCE = f"https://interceptor.example.run.app{ROUTE}"
PUSHER = "cloud-run-pubsub-invoker@my-proj.iam.gserviceaccount.com"


def self_signed(key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google-certs")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def google(fake_http):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_http.routes["/oauth2/v1/certs"] = (200, {"kid-1": self_signed(key)})

    def token(**overrides):
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": PUSHER, "email_verified": True,
                  "iat": now, "exp": now + 600, "sub": "1234", **overrides}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "kid-1"})

    return f"{fake_http.url}/oauth2/v1/certs", token


def envelope():
    event = {"conversation": "projects/my-proj/conversations/C1", "type": "NEW_MESSAGE"}
    return {"message": {"data": base64.b64encode(json.dumps(event).encode()).decode(), "messageId": "1"}}


@pytest.mark.parametrize("overrides,status", [
    (None, 401),
    ({}, 204),
    ({"aud": "https://elsewhere"}, 401),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, 401),
    ({"iss": "https://evil.example"}, 401),
    ({"email": "someone@my-proj.iam.gserviceaccount.com"}, 403),
    ({"email_verified": False}, 403),
])
def test_push_authentication(make_interceptor, google, overrides, status):
    certs_url, token = google
    app = make_interceptor(PUSH_AUDIENCE=AUDIENCE, PUSH_SERVICE_ACCOUNT=PUSHER, PUSH_AUTH_CERTS_URL=certs_url)
    headers = {} if overrides is None else {"Authorization": f"Bearer {token(**overrides)}"}
    response = app.test_client().post(ROUTE, json=envelope(), headers=headers)
    assert response.status_code == status


def test_a_token_signed_by_another_key_is_refused(make_interceptor, google):
    certs_url, _ = google
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": PUSHER,
                         "email_verified": True, "iat": int(time.time()), "exp": int(time.time()) + 600},
                        stranger, algorithm="RS256", headers={"kid": "kid-1"})
    app = make_interceptor(PUSH_AUDIENCE=AUDIENCE, PUSH_SERVICE_ACCOUNT=PUSHER, PUSH_AUTH_CERTS_URL=certs_url)
    response = app.test_client().post(ROUTE, json=envelope(), headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_certificates_unreachable_is_retryable(make_interceptor, google):
    _, token = google
    app = make_interceptor(PUSH_AUDIENCE=AUDIENCE, PUSH_AUTH_CERTS_URL="http://127.0.0.1:9/certs")
    response = app.test_client().post(ROUTE, json=envelope(),
                                      headers={"Authorization": f"Bearer {token()}"})
    assert response.status_code == 503


def test_without_push_audience_no_token_is_needed(make_interceptor):
    assert make_interceptor().test_client().post(ROUTE, json=envelope()).status_code == 204


def test_a_key_google_rotated_in_since_the_last_fetch_is_fetched_once(make_interceptor, google, fake_http,
                                                                       monkeypatch):
    from cloud_pubsub_interceptor import push_auth

    certs_url, token = google
    app = make_interceptor(PUSH_AUDIENCE=AUDIENCE, PUSH_AUTH_CERTS_URL=certs_url)
    client = app.test_client()
    assert client.post(ROUTE, json=envelope(), headers={"Authorization": f"Bearer {token()}"}).status_code == 204
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_http.routes["/oauth2/v1/certs"] = (200, {**fake_http.routes["/oauth2/v1/certs"][1], "kid-2": self_signed(new_key)})
    claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 600}
    rotated = jwt.encode(claims, new_key, algorithm="RS256", headers={"kid": "kid-2"})
    made_up = jwt.encode(claims, new_key, algorithm="RS256", headers={"kid": "kid-made-up"})
    cert_fetches = lambda: sum(request["path"] == "/oauth2/v1/certs" for request in fake_http.requests)  # noqa: E731

    blocked = client.post(ROUTE, json=envelope(), headers={"Authorization": f"Bearer {rotated}"})
    assert blocked.status_code == 401 and cert_fetches() == 1  # fetched moments ago: no early refresh yet

    monkeypatch.setattr(push_auth, "_MIN_SECONDS_BETWEEN_EARLY_REFRESHES", 0)
    accepted = client.post(ROUTE, json=envelope(), headers={"Authorization": f"Bearer {rotated}"})
    assert accepted.status_code == 204 and cert_fetches() == 2

    monkeypatch.setattr(push_auth, "_MIN_SECONDS_BETWEEN_EARLY_REFRESHES", 60)
    for _ in range(3):
        refused = client.post(ROUTE, json=envelope(), headers={"Authorization": f"Bearer {made_up}"})
        assert refused.status_code == 401
    assert cert_fetches() == 2


def _verifier(certs_url: str):
    from cloud_pubsub_interceptor.config import PushAuthSettings
    from cloud_pubsub_interceptor.push_auth import PushVerifier

    return PushVerifier(PushAuthSettings(audience=AUDIENCE, service_account=PUSHER, certs_url=certs_url))


def _segment(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


@pytest.mark.parametrize("make_token,problem", [
    (lambda token: token(exp=int(time.time()) - 60, iat=int(time.time()) - 660), "EXPIRED"),
    (lambda token: token(iat=int(time.time()) + 600, exp=int(time.time()) + 1200), "NOT_YET_VALID"),
    (lambda token: token(exp=float(time.time() + 600)), "MALFORMED"),
    (lambda token: token(aud="https://elsewhere"), "WRONG_AUDIENCE"),
    (lambda token: token(iss="https://evil.example"), "WRONG_ISSUER"),
    (lambda token: token().rsplit(".", 1)[0] + "." + _segment(b"\0" * 256), "BAD_SIGNATURE"),
    (lambda token: ".".join([_segment(b'{"alg":"none","kid":"kid-1"}'), token().split(".")[1], ""]), "ALGORITHM"),
    (lambda token: ".".join([_segment(b'{"alg":"RS256","kid":"kid-9"}'), *token().split(".")[1:]]), "UNKNOWN_KEY"),
    (lambda token: ".".join([_segment(b'{"alg":"RS256"}'), *token().split(".")[1:]]), "MALFORMED"),
    (lambda token: ".".join([_segment(b"[" * 5000), *token().split(".")[1:]]), "MALFORMED"),
    (lambda token: "not-a-jwt", "MALFORMED"),
    (lambda token: "\N{SNOWMAN}.e30.e30", "MALFORMED"),
])
def test_each_refused_token_names_the_check_it_failed(google, make_token, problem):
    from cloud_pubsub_interceptor.push_auth import PushUnauthenticated, TokenProblem

    certs_url, token = google
    with pytest.raises(PushUnauthenticated) as refusal:
        _verifier(certs_url).verify(f"Bearer {make_token(token)}")
    assert refusal.value.problem is TokenProblem[problem]
    assert str(refusal.value) == f"invalid push token: {TokenProblem[problem].value}"


def test_the_refusal_reaches_the_pusher_in_the_error_body(make_interceptor, google):
    certs_url, token = google
    app = make_interceptor(PUSH_AUDIENCE=AUDIENCE, PUSH_SERVICE_ACCOUNT=PUSHER, PUSH_AUTH_CERTS_URL=certs_url)
    expired = token(exp=int(time.time()) - 60, iat=int(time.time()) - 660)
    response = app.test_client().post(ROUTE, json=envelope(),
                                      headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "invalid push token: token expired"
