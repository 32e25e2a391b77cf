"""The official socket.io-client (npm), in every version desktops are known to run, connects, joins,
receives, and is refused cleanly: no parse error, no crash, no reconnect storm."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import jwt
import pytest

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from devstack.processes import REPO_ROOT
from tests.support import PROJECT, event_for, new_conversation, push, register

pytestmark = pytest.mark.e2e
NODE_DIR = Path(__file__).resolve().parent.parent / "node"
# npm package names from package.json: the page's own client, and aliases of older releases in use.
CLIENT_PACKAGES = {"4.8.4": "socket.io-client", "4.7.5": "socket.io-client-4.7.5", "3.0.4": "socket.io-client-3.0.4"}


@pytest.fixture(scope="module")
def node():
    executable = shutil.which("node")
    if not executable or not (REPO_ROOT / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("node and the npm socket.io-client are needed; `make install` installs them")
    return executable


@pytest.fixture(params=list(CLIENT_PACKAGES), ids=lambda version: f"socket.io-client@{version}")
def client_env(request):
    package = CLIENT_PACKAGES[request.param]
    installed = json.loads((REPO_ROOT / "node_modules" / package / "package.json").read_text())["version"]
    assert installed == request.param, f"{package} is {installed}; run `make install`"
    return {**os.environ, "SOCKET_IO_CLIENT": package}


def start_desktop(node, client_env, connector, conversation, count, last_event_id=None):
    args = [node, str(NODE_DIR / "desktop.mjs"), connector.url, register(connector.url), conversation, str(count)]
    process = subprocess.Popen(args + ([last_event_id] if last_event_id else []), cwd=REPO_ROOT, env=client_env,
                               stdout=subprocess.PIPE, text=True)
    joined = json.loads(process.stdout.readline())
    return process, joined


def events_of(process) -> list[dict]:
    # Not communicate(): with a timeout it reads the pipe itself, past the lines start_desktop's readline buffered.
    output = process.stdout.read()  # desktop.mjs exits within 20 s, whatever happens
    process.wait(timeout=10)
    lines = [json.loads(line) for line in output.splitlines()]
    assert process.returncode == 0, lines
    return lines


def watch_refusal(node, client_env, connector, token: str) -> dict:
    result = subprocess.run([node, str(NODE_DIR / "refused.mjs"), connector.url, json.dumps(token)], cwd=REPO_ROOT,
                            env=client_env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_node_desktop_joins_and_receives_live_events(node, client_env, interceptor, connector):
    conversation = new_conversation()
    process, joined = start_desktop(node, client_env, connector, conversation, 2)
    assert joined == {"joined": True, "name": normalize_conversation_name(conversation)}

    push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))
    push(interceptor.url, EventKind.SUGGESTION,
         event_for(conversation, "suggestions-articles-faq-smartreply.json"))

    lines = events_of(process)
    assert [line["event"] for line in lines] == [EventKind.NEW_MESSAGE, EventKind.SUGGESTION]
    assert json.loads(lines[0]["payload"]["data"])["type"] == "NEW_MESSAGE"


def test_node_desktop_resumes_after_its_last_event_id(node, client_env, interceptor, connector):
    conversation = new_conversation()
    ids = [f"node-r{index}-{time.monotonic_ns()}" for index in range(3)]
    for message_id in ids:
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"), message_id)
    process, _ = start_desktop(node, client_env, connector, conversation, 3)
    resume_after = events_of(process)[0]["payload"]["event_id"]

    process, joined = start_desktop(node, client_env, connector, conversation, 2, resume_after)

    assert joined["joined"] is True
    lines = events_of(process)
    assert [line["payload"]["message_id"] for line in lines] == ids[1:], (resume_after, lines)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "\ud800"], ids=["missing", "malformed", "lone surrogate"])
def test_a_refused_token_is_told_why_once_and_not_retried(node, client_env, connector, token):
    seen = watch_refusal(node, client_env, connector, token)

    assert seen["errors"] == [], "the client could not parse the refusal"
    assert len(seen["unauthenticated"]) == 1 and seen["unauthenticated"][0]["reason"]
    assert seen["disconnects"] == ["io server disconnect"]
    assert seen["reconnectAttempts"] == 0 and seen["connects"] == 1 and seen["connected"] is False


def test_an_expired_token_on_an_open_connection_ends_it_cleanly(node, client_env, connector, jwt_secret_file):
    now = int(time.time())
    token = jwt.encode({"iss": "aa-ui-connector", "aud": "aa-agent-desktop", "iat": now, "exp": now + 1,
                        "project": PROJECT}, jwt_secret_file.read_text().strip(), algorithm="HS256")

    seen = watch_refusal(node, client_env, connector, token)

    assert seen["errors"] == []
    assert seen["unauthenticated"] == [{"reason": "token expired"}]
    assert seen["disconnects"] == ["io server disconnect"] and seen["reconnectAttempts"] == 0
