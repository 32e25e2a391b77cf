"""What the UI connector's routes and workers reach: built by the app factory, read with ``connector()``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask

from aa_common.services import ServiceSlot

if TYPE_CHECKING:
    from flask_socketio import SocketIO

    from ui_connector.config import ConnectorConfig
    from ui_connector.conversation_names import ConversationNames
    from ui_connector.deadlines import Deadlines
    from ui_connector.dialogflow_proxy import DialogflowClient
    from ui_connector.fanout import ConversationFanout
    from ui_connector.rate_limits import WindowCounter
    from ui_connector.socket_guard import SocketGuard
    from ui_connector.tokens import TokenService


@dataclass
class ConnectorServices:
    config: ConnectorConfig
    tokens: TokenService
    user_check: Callable[[str], bool]
    app_check: Callable[[object], bool]
    registration_attempts: WindowCounter
    conversation_names: ConversationNames
    fanout: ConversationFanout
    socketio: SocketIO
    deadlines: Deadlines
    guard: SocketGuard
    dialogflow: DialogflowClient


CONNECTOR: ServiceSlot[ConnectorServices] = ServiceSlot("ui_connector")


def connector(app: Flask | None = None) -> ConnectorServices:
    """The services of ``app``, or of the app serving the current request."""
    return CONNECTOR.get(app)
