"""The desktop page learns the Socket.IO API's names from the server; no script of it (or of the Node test
desktops) keeps a copy of them. Its files are served as what they are, whatever the machine's MIME table."""
from __future__ import annotations

import html
import json
import mimetypes
import re
from pathlib import Path

import pytest

from aa_common.events import EVENT_TYPES
from ui_connector.asyncapi import CLIENT_EVENTS
from ui_connector.desktop_page import SOCKET_API
from ui_connector.sockets import UNAUTHENTICATED_EVENT, Refusal

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([*(REPO_ROOT / "ui_connector" / "static").glob("*.js"), *(REPO_ROOT / "tests" / "node").glob("*.mjs")])
SERVER_DEFINED = [*EVENT_TYPES, UNAUTHENTICATED_EVENT, *(event.name for event in CLIENT_EVENTS),
                  *(refusal.value for refusal in Refusal)]


def test_the_page_gets_the_socket_api_in_a_data_attribute(make_connector):
    page = make_connector().test_client().get("/").get_data(as_text=True)
    [attribute] = re.findall(r"data-socket-api='([^']*)'", page)
    assert json.loads(html.unescape(attribute)) == SOCKET_API
    assert set(SOCKET_API["events"].values()) == set(EVENT_TYPES)
    assert SOCKET_API["retryableRefusals"] == [Refusal.UNAVAILABLE]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_keeps_a_copy_of_a_server_defined_name(script):
    text = script.read_text()
    copies = [name for name in SERVER_DEFINED if re.search(rf"""['"`]{re.escape(name)}['"`]""", text)]
    assert not copies, f"{script.name} spells out {copies}; take them from the server"


@pytest.mark.parametrize("name,media_type", [("socket.io.min.js", "text/javascript"),
                                             ("socket.io.min.js.map", "application/json")])
def test_the_socketio_client_files_have_their_own_media_types(make_connector, monkeypatch, name, media_type):
    monkeypatch.setattr(mimetypes, "guess_type", lambda *args, **kwargs: ("application/x-unknown", None))

    response = make_connector().test_client().get(f"/vendor/{name}")

    assert response.status_code == 200
    assert response.mimetype == media_type


def test_other_vendor_names_are_a_json_404(make_connector):
    response = make_connector().test_client().get("/vendor/socket.io.js")

    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == "NOT_FOUND"
