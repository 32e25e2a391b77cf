"""The official socket.io-client (npm), as agent desktops use it, connects, joins and receives."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.processes import REPO_ROOT
from tests.support import event_for, new_conversation, push, register, short_name

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parent.parent / "node" / "desktop.mjs"


@pytest.fixture(scope="module")
def node():
    executable = shutil.which("node")
    if not executable or not (REPO_ROOT / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("node and the npm socket.io-client are needed; `make install` installs them")
    return executable


def start_desktop(node, connector, conversation, count, last_event_id=None):
    args = [node, str(SCRIPT), connector.url, register(connector.url), conversation, str(count)]
    process = subprocess.Popen(args + ([last_event_id] if last_event_id else []), cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
    joined = json.loads(process.stdout.readline())
    return process, joined


def events_of(process) -> list[dict]:
    output, _ = process.communicate(timeout=30)
    lines = [json.loads(line) for line in output.splitlines()]
    assert process.returncode == 0, lines
    return lines


def test_node_desktop_joins_and_receives_live_events(node, interceptor, connector):
    conversation = new_conversation()
    process, joined = start_desktop(node, connector, conversation, 2)
    assert joined == {"joined": True, "name": short_name(conversation)}

    push(interceptor.url, "new-message-event", event_for(conversation, "new-message.json"), "node-1")
    push(interceptor.url, "human-agent-assistant-event",
         event_for(conversation, "suggestions-articles-faq-smartreply.json"), "node-2")

    lines = events_of(process)
    assert [line["event"] for line in lines] == ["new-message-event", "human-agent-assistant-event"]
    first = lines[0]["payload"]
    assert first["message_id"] == "node-1" and json.loads(first["data"])["type"] == "NEW_MESSAGE"


def test_node_desktop_resumes_after_its_last_event_id(node, interceptor, connector):
    conversation = new_conversation()
    for index in range(3):
        push(interceptor.url, "new-message-event", event_for(conversation, "new-message.json"), f"node-r{index}")
    process, _ = start_desktop(node, connector, conversation, 3)
    first_run = events_of(process)
    resume_after = first_run[0]["payload"]["event_id"]

    process, joined = start_desktop(node, connector, conversation, 2, resume_after)

    assert joined["joined"] is True
    assert [line["payload"]["message_id"] for line in events_of(process)] == ["node-r1", "node-r2"]
