"""The UI connector's Socket.IO API as an AsyncAPI 3.0 document, built from the code that serves it.

    python -m ui_connector.asyncapi            # writes docs/api/ui-connector.asyncapi.json
    python -m ui_connector.asyncapi --check    # exits 1 when that file is not what the code builds

The connector serves the same document at ``GET /asyncapi.json``. Event kinds and payload fields come
from ``aa_common.events``, name and id patterns from ``aa_common``, refusal codes and client events
from ``ui_connector.sockets``; tests check the committed file, the official AsyncAPI 3.0 schema, and
that what real clients receive validates against it.

Socket.IO in AsyncAPI terms: the default namespace ``/`` is the one channel; a message's ``name`` is
its Socket.IO event name and its payload the event's one argument; an acknowledgement is the reply
of its operation, whose payload is the list of arguments the client's ack callback receives.
Messages carrying conversation events have the tag ``conversation-event``; an operation's id is its
action and its message's name (``receiveJoinConversation``, ``sendNewMessageEvent``).
"""
from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields

from aa_common.api_documents import CommittedDocument, anchored, package_version
from aa_common.conversations import CONVERSATION_KEY_PATTERN, CONVERSATION_NAME_PATTERN
from aa_common.event_store import EVENT_ID_PATTERN
from aa_common.events import Event, EventKind
from ui_connector.sockets import (JOIN_CONVERSATION, REFRESH_TOKEN, UNAUTHENTICATED_EVENT, DesktopNamespace, Refusal,
                                  event_name)

CHANNEL = "desktop"
CONVERSATION_EVENT_TAG = "conversation-event"
_JSON_TYPES = {str: "string"}

DESCRIPTION = """\
Agent desktops connect to the UI connector with Socket.IO (protocol 5, Engine.IO 4) and receive every event \
of the conversations they join, as Dialogflow publishes them.

Connect with `io(URL, {{auth: {{token: JWT}}, transports: ['websocket']}})`, the JWT from `POST /register` \
(long-polling is accepted too). A missing, invalid or expired token gets `{unauthenticated}`, then the server \
closes the connection: register again and reconnect. The same happens when the token expires on an open \
connection, unless the desktop sent a fresh one with `{refresh}`.

After a successful `{join}` the server sends every stored event after `lastEventId` (all of them \
without one), oldest first, then the live tail: each event once, in stream order. Keep the last `event_id` \
and send it as `lastEventId` when you join again. A connection that closes (its maximum age, an instance \
replaced) reconnects by itself; a rejoin with the same token and no `lastEventId` resumes where it was.

Suggestions and the message they answer come from different Pub/Sub topics, so a desktop may receive a \
`{suggestion}` before the `{new_message}` it follows.

Every acknowledgement is `[true, ...]` or a refusal `[false, reason, code]`: decide by the code, the reason \
is for people. Payloads may gain fields; ignore the ones you do not know.""".format(
    unauthenticated=UNAUTHENTICATED_EVENT, refresh=REFRESH_TOKEN, join=JOIN_CONVERSATION,
    suggestion=EventKind.SUGGESTION, new_message=EventKind.NEW_MESSAGE)


def build_document() -> dict:
    messages = {**_client_messages(), **_server_messages()}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Agent Assist UI connector: Socket.IO API",
            "version": package_version(),
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "ui-connector": {
                "host": "{host}",
                "protocol": "wss",
                "pathname": "/socket.io/",
                "description": "Socket.IO over WebSocket (or HTTP long-polling) at the UI connector's URL.",
                "variables": {"host": {"description": "The UI connector's host, e.g. its Cloud Run URL's."}},
                "security": [_ref("components", "securitySchemes", "jwt")],
            },
        },
        "channels": {
            CHANNEL: {
                "address": "/",
                "title": "The default Socket.IO namespace",
                "messages": {key: _ref("components", "messages", key) for key in messages},
            },
        },
        "operations": {**_client_operations(), **_server_operations()},
        "components": {
            "schemas": _schemas(),
            "messages": messages,
            "securitySchemes": {
                "jwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The token from POST /register, sent in the Socket.IO handshake's auth "
                                   "object, {token: JWT}, not in a header.",
                },
            },
        },
    }


def _ref(*path: str) -> dict:
    return {"$ref": "#/" + "/".join(path)}


def _schema(name: str) -> dict:
    return _ref("components", "schemas", name)


def _schemas() -> dict:
    return {
        "ConversationName": {
            "type": "string",
            "pattern": anchored(CONVERSATION_NAME_PATTERN),
            "description": "A Dialogflow conversation, with or without its location: "
                           "projects/<project>[/locations/<location>]/conversations/<id>.",
        },
        "ConversationKey": {
            "type": "string",
            "pattern": anchored(CONVERSATION_KEY_PATTERN),
            "description": "A conversation as the connector names it: without its location.",
        },
        "EventId": {
            "type": "string",
            "pattern": anchored(EVENT_ID_PATTERN),
            "description": "A Redis stream id, <milliseconds>-<sequence> (two unsigned 64-bit numbers); "
                           "events are ordered by milliseconds, then sequence.",
        },
        "Refusal": {
            "type": "array",
            "description": "A refused request: false, the reason for people, the code to decide by.",
            "items": [
                {"const": False},
                {"type": "string", "description": "What is wrong, for people; never decide by it."},
                {
                    "type": "string",
                    "enum": [refusal.value for refusal in Refusal],
                    "description": "\n".join(f"- {refusal}: {refusal.meaning}"
                                             + (" (retryable)" if refusal.retryable else "") for refusal in Refusal),
                },
            ],
            "minItems": 3,
            "additionalItems": False,
        },
    }


def _accepted(value: dict) -> dict:
    """An acknowledgement: ``[true, value]`` or a refusal."""
    success = {"type": "array", "items": [{"const": True}, value], "minItems": 2, "additionalItems": False}
    return {"oneOf": [success, _schema("Refusal")]}


def _or_object(key: str, value: dict, **optional: dict) -> dict:
    """A value sent bare, or as ``{key: value, ...optional}``."""
    wrapped = {"type": "object", "required": [key], "properties": {key: value, **optional}}
    return {"oneOf": [value, wrapped]}


@dataclass(frozen=True)
class ClientEvent:
    """An event desktops send: the handler that answers it, its payload and the value of an accepted ack."""

    handler: Callable
    summary: str
    payload: dict
    accepted: dict

    @property
    def name(self) -> str:
        return event_name(self.handler)


CLIENT_EVENTS = (
    ClientEvent(DesktopNamespace.on_join_conversation,
                "Watch a conversation: its stored events after lastEventId (all without one), then the live tail.",
                _or_object("conversationName", _schema("ConversationName"), lastEventId=_schema("EventId")),
                _schema("ConversationKey")),
    ClientEvent(DesktopNamespace.on_leave_conversation, "Stop watching a conversation.",
                _or_object("conversationName", _schema("ConversationName")), _schema("ConversationKey")),
    ClientEvent(DesktopNamespace.on_refresh_token,
                "Keep the connection past its token's expiry with a fresh token of the same user from POST /register.",
                _or_object("token", {"type": "string", "description": "A JWT from POST /register."}),
                {"type": "integer", "description": "The new token's expiry (exp), in seconds since the epoch."}),
)


def _client_messages() -> dict:
    messages = {
        "connect": {
            "name": "connect",
            "title": "Socket.IO handshake",
            "summary": "The auth object of the Socket.IO CONNECT packet.",
            "payload": {"type": "object", "required": ["token"],
                        "properties": {"token": {"type": "string", "description": "A JWT from POST /register."}}},
        },
    }
    for event in CLIENT_EVENTS:
        messages[event.name] = {"name": event.name, "summary": event.summary, "payload": event.payload}
        messages[_ack(event.name)] = {"name": _ack(event.name), "summary": f"The acknowledgement of {event.name}.",
                                      "payload": _accepted(event.accepted)}
    return messages


def _server_messages() -> dict:
    messages = {
        UNAUTHENTICATED_EVENT: {
            "name": UNAUTHENTICATED_EVENT,
            "summary": "The token is missing, invalid or expired; the server closes the connection next.",
            "payload": {"type": "object", "required": ["reason"],
                        "properties": {"reason": {"type": "string", "description": "What is wrong, for people."}}},
        },
    }
    for kind in EventKind:
        messages[kind.value] = {
            "name": kind.value,
            "summary": kind.summary,
            "description": f"`data` is the {kind.dialogflow_type} Dialogflow published to the kind's topic.",
            "tags": [{"name": CONVERSATION_EVENT_TAG}],
            "payload": _event_payload(kind),
        }
    return messages


def _event_payload(kind: EventKind) -> dict:
    """The ``Event`` dataclass as ``kind`` carries it, plus the ``event_id`` the connector adds."""
    hints = typing.get_type_hints(Event)
    properties, required = {}, []
    for field in fields(Event):
        if field.default is MISSING:
            required.append(field.name)
        elif field.name not in kind.attribute_fields:
            continue  # a field other kinds carry
        properties[field.name] = {"type": _json_type(hints[field.name]), "description": field.metadata["description"]}
    properties["conversation_name"]["pattern"] = anchored(CONVERSATION_KEY_PATTERN)
    properties["data"]["contentMediaType"] = "application/json"
    properties["data_type"]["const"] = kind.value
    properties["event_id"] = _schema("EventId")
    return {"type": "object", "required": [*required, "event_id"], "properties": properties}


def _json_type(hint: object) -> str:
    """The JSON type of a field typed ``T`` or ``T | None`` (None: the field is left out, never null)."""
    (python_type,) = set(typing.get_args(hint) or (hint,)) - {type(None)}
    return _JSON_TYPES[python_type]


def _ack(event: str) -> str:
    return f"{event}.ack"


def operation_id(action: str, message: str) -> str:
    """``sendNewMessageEvent``, ``receiveJoinConversation``: the action, then the message's name."""
    return action + "".join(word.capitalize() for word in message.split("-"))


def _operation(action: str, message: str, summary: str, reply: str | None = None) -> tuple[str, dict]:
    channel = _ref("channels", CHANNEL)
    operation = {"action": action, "channel": channel, "summary": summary,
                 "messages": [_ref("channels", CHANNEL, "messages", message)]}
    if reply is not None:
        operation["reply"] = {"channel": channel, "messages": [_ref("channels", CHANNEL, "messages", reply)]}
    return operation_id(action, message), operation


def _client_operations() -> dict:
    return dict([
        _operation("receive", "connect",
                   "Connect with a JWT; refused: unauthenticated, then the server closes the connection."),
        *(_operation("receive", event.name, event.summary, reply=_ack(event.name)) for event in CLIENT_EVENTS),
    ])


def _server_operations() -> dict:
    return dict([
        _operation("send", UNAUTHENTICATED_EVENT,
                   "The connection's token was refused or expired; the connection closes next."),
        *(_operation("send", kind.value, f"Each {kind} of a joined conversation, in order.") for kind in EventKind),
    ])


DOCUMENT = CommittedDocument(build_document, "ui-connector.asyncapi.json", "/asyncapi.json", "ui_connector.asyncapi")
DOCUMENT_PATH = DOCUMENT.path
asyncapi_routes = DOCUMENT.blueprint("asyncapi")
main = DOCUMENT.main


def document_json() -> str:
    """The document as the committed file and ``GET /asyncapi.json`` hold it."""
    return DOCUMENT.text


if __name__ == "__main__":
    sys.exit(main())
