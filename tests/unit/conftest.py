"""Unit-test fixtures: apps built in-process over fakeredis."""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fakeredis
import pytest

from aa_common.config import Env
from cloud_pubsub_interceptor.app import create_app as create_interceptor
from cloud_pubsub_interceptor.config import InterceptorConfig
from ui_connector.app import create_app as create_connector
from ui_connector.config import ConnectorConfig


@pytest.fixture
def fake_redis():
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "jwt_secret_key"
    path.write_text(f"  {secrets.token_urlsafe(48)}\n")
    return path


@pytest.fixture
def connector_env(secret_file):
    return {"GCP_PROJECT_ID": "my-proj", "JWT_SECRET_KEY_PATH": str(secret_file)}


@pytest.fixture
def make_connector(connector_env, fake_redis):
    def make(**env):
        config = ConnectorConfig.from_env(Env({**connector_env, **env}))
        return create_connector(config, redis_client=fake_redis, pubsub_client=fake_redis)
    return make


@pytest.fixture
def make_interceptor(fake_redis):
    def make(**env):
        return create_interceptor(InterceptorConfig.from_env(Env(env)), redis_client=fake_redis)
    return make


class FakeHTTP:
    """A local HTTP server standing in for a third-party API: canned answers per path, requests recorded."""

    def __init__(self):
        self.routes: dict[str, tuple[int, object]] = {}
        self.default: tuple[int, object] = (404, {"error": "not found"})
        self.delay_seconds = 0.0
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": self.rfile.read(length).decode()})
                time.sleep(fake.delay_seconds)
                status, body = fake.routes.get(self.path.split("?")[0], fake.default)
                payload = body if isinstance(body, str) else json.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self._server.shutdown()


@pytest.fixture
def fake_http():
    server = FakeHTTP()
    yield server
    server.close()
