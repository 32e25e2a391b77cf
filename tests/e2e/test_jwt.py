"""Only the right people: every JWT-protected route and the Socket.IO handshake refuse bad tokens."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time

import jwt
import pytest
import requests
import socketio

from devstack.processes import UI_CONNECTOR_COMMAND, REPO_ROOT, free_port
from devstack.stack import service_env
from tests.support import PROJECT, new_conversation, register
from ui_connector.sockets import UNAUTHENTICATED_EVENT

pytestmark = pytest.mark.e2e


def claims(**overrides):
    now = int(time.time())
    base = {"iss": "aa-ui-connector", "aud": "aa-agent-desktop", "iat": now, "exp": now + 600, "project": PROJECT}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def bad_tokens(secret: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "missing": "",
        "malformed": "not.a.jwt",
        "wrong signature": jwt.encode(claims(), "another-secret-that-is-long-enough-for-hs256", algorithm="HS256"),
        "alg none": unsigned(claims()),
        "expired": jwt.encode(claims(iat=now - 7200, exp=now - 3600), secret, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(aud="someone-else"), secret, algorithm="HS256"),
        "wrong issuer": jwt.encode(claims(iss="evil"), secret, algorithm="HS256"),
        "no exp": jwt.encode(claims(exp=None), secret, algorithm="HS256"),
        "other project": jwt.encode(claims(project="other-proj"), secret, algorithm="HS256"),
        "HS512 instead of HS256": jwt.encode(claims(), secret, algorithm="HS512"),
    }


EXPECTED_REASONS = {
    "missing": "missing token",
    "malformed": "malformed",
    "wrong signature": "signature",
    "alg none": "HS256",
    "expired": "expired",
    "wrong audience": "audience",
    "wrong issuer": "issuer",
    "no exp": "'exp'",
    "other project": "another project",
    "HS512 instead of HS256": "HS256",
}
TOKEN_CASES = list(EXPECTED_REASONS)
PROTECTED_ROUTES = [
    ("GET", "/conversation-name?conversationIntegrationKey=k"),
    ("POST", "/conversation-name"),
    ("DELETE", "/conversation-name?conversationIntegrationKey=k"),
]


@pytest.fixture(scope="module")
def secret(jwt_secret_file):
    return jwt_secret_file.read_text().strip()


@pytest.mark.parametrize("case", TOKEN_CASES)
@pytest.mark.parametrize("method,path", PROTECTED_ROUTES)
def test_protected_routes_refuse_bad_tokens(connector, secret, case, method, path):
    token = bad_tokens(secret)[case]
    body = {"conversationIntegrationKey": "k", "conversationName": new_conversation()}
    response = requests.request(method, f"{connector.url}{path}", json=body, timeout=10,
                                headers={"Authorization": f"Bearer {token}"} if token else {})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and EXPECTED_REASONS[case] in error["message"]
    assert token == "" or token not in response.text


@pytest.mark.parametrize("case", TOKEN_CASES)
def test_socketio_connect_refuses_bad_tokens(connector, secret, case):
    refusal, disconnected = {}, threading.Event()
    client = socketio.Client(reconnection=False)
    client.on(UNAUTHENTICATED_EVENT, lambda data: refusal.update(data))
    client.on("disconnect", lambda *args: disconnected.set())

    client.connect(connector.url, auth={"token": bad_tokens(secret)[case]}, transports=["websocket"])

    assert disconnected.wait(10), "the server kept an unauthenticated connection open"
    assert EXPECTED_REASONS[case] in refusal["reason"]
    client.disconnect()


def test_a_good_token_works_as_bearer_and_as_the_bare_header(connector):
    token = register(connector.url)
    for header in (f"Bearer {token}", token):
        response = requests.get(f"{connector.url}/conversation-name", params={"conversationIntegrationKey": "k"},
                                headers={"Authorization": header}, timeout=10)
        assert response.status_code == 200, response.text


def test_register_refuses_without_credentials(connector):
    response = requests.post(f"{connector.url}/register", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("content", ["", "  \n"])
def test_the_connector_refuses_to_start_with_an_empty_secret(redis_server, tmp_path, content):
    empty = tmp_path / "jwt_secret_key"
    empty.write_text(content)
    env = {**service_env(redis_server.port, empty, PROJECT), "PORT": str(free_port())}

    result = subprocess.run(UI_CONNECTOR_COMMAND, cwd=REPO_ROOT, env={**_path_env(), **env},
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert "JWT secret" in result.stdout + result.stderr and "empty" in result.stdout + result.stderr


def test_the_connector_refuses_to_start_without_a_secret(redis_server, tmp_path):
    env = {**service_env(redis_server.port, tmp_path / "absent", PROJECT), "PORT": str(free_port())}
    result = subprocess.run(UI_CONNECTOR_COMMAND, cwd=REPO_ROOT, env={**_path_env(), **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "no JWT secret" in result.stdout + result.stderr


def _path_env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}


def test_no_secret_or_token_reaches_the_connector_log(connector, secret):
    token = register(connector.url)
    requests.get(f"{connector.url}/conversation-name", params={"conversationIntegrationKey": "+15550001111"},
                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
    refused = bad_tokens(secret)["wrong signature"]
    requests.get(f"{connector.url}/conversation-name", headers={"Authorization": f"Bearer {refused}"}, timeout=10)

    log = connector.log_path.read_text()
    assert '"severity": ' in log  # the service's JSON log lines are there to search
    for secret_text in (secret, token, refused, "15550001111"):
        assert secret_text not in log
