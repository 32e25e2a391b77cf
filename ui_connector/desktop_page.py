"""The agent desktop page at ``/``: a working desktop for trying the stack, and the page the
browser tests drive. It registers, connects over Socket.IO and calls Dialogflow through the
proxy like any desktop would. The Socket.IO client comes from npm (``make install`` locally,
the image's build stage in production), never from a copy in this repository."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, render_template, send_from_directory

from aa_common.events import EventKind
from ui_connector.services import connector
from ui_connector.sockets import JOIN_CONVERSATION, LEAVE_CONVERSATION, UNAUTHENTICATED_EVENT, Refusal

desktop_page_routes = Blueprint("desktop_page", __name__, static_folder="static", static_url_path="/static",
                                template_folder="templates")
# The client's files the page may load, and what each is served as: named here, not guessed from the
# machine's MIME table (which calls a source map application/octet-stream, and .js differently by version).
SOCKETIO_CLIENT_FILES = {"socket.io.min.js": "text/javascript", "socket.io.min.js.map": "application/json"}
# Exactly what the page loads: its scripts and styles (/static, and the Socket.IO client at
# /vendor), the empty data: icon, REST and WebSocket to its own origin ('self' covers ws: and
# wss: there). No inline code, no other site, and no framing by any page (clickjacking).
PAGE_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])


# What the page's scripts would otherwise hard-code of the Socket.IO API (a data- attribute, as the CSP
# allows no inline script): the event names by kind, the events it sends, the refusals worth a retry.
SOCKET_API = {
    "events": {kind.name: kind.value for kind in EventKind},
    "unauthenticated": UNAUTHENTICATED_EVENT,
    "join": JOIN_CONVERSATION,
    "leave": LEAVE_CONVERSATION,
    "retryableRefusals": [refusal.value for refusal in Refusal if refusal.retryable],
}


def socketio_client_dir() -> Path:
    default = Path.cwd() / "node_modules" / "socket.io-client" / "dist"
    return Path(os.environ.get("SOCKETIO_CLIENT_DIR") or default)


@desktop_page_routes.get("/")
def desktop():
    config = connector().config
    page = render_template("desktop.html", project_id=config.project_id, socket_api=SOCKET_API,
                           conversation_profile=config.desktop_conversation_profile)
    return page, {"Content-Security-Policy": PAGE_POLICY}


@desktop_page_routes.get("/vendor/<name>")
def socketio_client(name: str):
    if name not in SOCKETIO_CLIENT_FILES:
        abort(404)
    directory = socketio_client_dir()
    if not (directory / name).is_file():
        abort(404, description="socket.io-client is not installed; run `make install` (npm install)")
    return send_from_directory(directory, name, mimetype=SOCKETIO_CLIENT_FILES[name], max_age=3600)
