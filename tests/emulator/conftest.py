"""Fixtures for the Dialogflow emulator: the app behind a Flask test client, an API helper that
speaks Dialogflow's REST paths, and a local HTTP receiver standing in for the interceptor."""

from __future__ import annotations

import json
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from devstack.dialogflow_emulator import create_app
from devstack.dialogflow_emulator.config import EmulatorConfig
from devstack.processes import BIN, Service, free_port

PROJECT = "my-proj"
PROFILE = f"projects/{PROJECT}/locations/global/conversationProfiles/airline-profile"
SCOPES = {
    "global": f"projects/{PROJECT}/locations/global",
    "regional": f"projects/{PROJECT}/locations/europe-west2",
    "location-less": f"projects/{PROJECT}",
}


class DialogflowApi:
    """Dialogflow REST calls through a Flask test client; each returns the Werkzeug response."""

    def __init__(self, client: FlaskClient, scope: str = SCOPES["global"], version: str = "v2beta1") -> None:
        self.client = client
        self.scope = scope
        self.version = version

    def url(self, name: str) -> str:
        return f"/{self.version}/{name}"

    def create_conversation(self, conversation_id: str | None = None, profile: str = PROFILE):
        query = f"?conversationId={conversation_id}" if conversation_id else ""
        return self.client.post(
            self.url(f"{self.scope}/conversations{query}"), json={"conversationProfile": profile}
        )

    def new_conversation(self) -> str:
        response = self.create_conversation()
        assert response.status_code == 200, response.json
        return response.json["name"]

    def add_participant(self, conversation: str, role: str | int = "END_USER", **fields: Any) -> str:
        response = self.client.post(self.url(f"{conversation}/participants"), json={"role": role, **fields})
        assert response.status_code == 200, response.json
        return response.json["name"]

    def analyze(self, participant: str, text: str, **fields: Any):
        body = {"textInput": {"text": text, "languageCode": "en-US"}, **fields}
        return self.client.post(self.url(f"{participant}:analyzeContent"), json=body)

    def say(self, participant: str, text: str) -> dict:
        response = self.analyze(participant, text)
        assert response.status_code == 200, response.json
        return response.json

    def suggest(self, participant: str, feature: str, **body: Any):
        return self.client.post(self.url(f"{participant}/suggestions:{feature}"), json=body)

    def complete(self, conversation: str):
        return self.client.post(self.url(f"{conversation}:complete"))

    def feedback(self, answer_record: str, feedback: dict, mask: str = "answerFeedback"):
        return self.client.patch(self.url(f"{answer_record}?updateMask={mask}"), json={"answerFeedback": feedback})

    def notifications(self) -> list[dict]:
        return self.client.get("/emulator/notifications").json["notifications"]


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    """The emulator under its gunicorn command line, recording notifications only."""
    command = [str(BIN / "gunicorn"), "--config", "python:devstack.dialogflow_emulator.gunicorn_conf"]
    env = {"PUBSUB_EMULATOR_HOST": "", "INTERCEPTOR_URL": ""}  # whatever the test run's environment says
    service = Service("dialogflow-emulator", command, env, tmp_path_factory.mktemp("emulator-logs")).start()
    yield service
    service.stop()


@pytest.fixture
def app():
    return create_app(EmulatorConfig.recording_only())


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client) -> DialogflowApi:
    return DialogflowApi(client)


@pytest.fixture
def conversation(api) -> str:
    return api.new_conversation()


@pytest.fixture
def customer(api, conversation) -> str:
    return api.add_participant(conversation, "END_USER")


@pytest.fixture
def agent(api, conversation) -> str:
    return api.add_participant(conversation, "HUMAN_AGENT")


class PushReceiver:
    """An HTTP server in a thread that records every POST; answers 204, or 503 to the first ``fail_first``.

    Each request is recorded as ``{"path", "headers" (case-insensitive), "body" (bytes)}``.
    """

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._fail_first = fail_first
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(receiver._record(self.path, self.headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _record(self, path: str, headers: Message, body: bytes) -> int:
        with self._changed:
            self.requests.append({"path": path, "headers": headers, "body": body})
            self._changed.notify_all()
            return 503 if len(self.requests) <= self._fail_first else 204

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.requests) >= count, timeout), (
                f"expected {count} requests, got {len(self.requests)}: {[r['path'] for r in self.requests]}"
            )
            return list(self.requests)

    @staticmethod
    def json(request: dict[str, Any]) -> Any:
        return json.loads(request["body"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    server = PushReceiver()
    yield server
    server.close()
