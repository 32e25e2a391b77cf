"""The Socket.IO namespace's own bookkeeping, through Flask-SocketIO's in-process test client."""
from __future__ import annotations

from ui_connector.services import connector


def test_a_closed_connection_leaves_nothing_scheduled_behind(make_connector):
    app = make_connector()
    services = connector(app)
    token = services.tokens.issue("agent")

    for _ in range(200):
        client = services.socketio.test_client(app, auth={"token": token})
        assert client.is_connected() and len(services.deadlines) == 2  # token expiry, maximum age
        client.disconnect()

    assert len(services.deadlines) == 0
