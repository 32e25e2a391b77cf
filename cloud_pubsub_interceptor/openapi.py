"""The interceptor's OpenAPI description, built from the code it describes: one push route per
``EventKind``, the envelope ``push.read_push`` accepts, the answers ``routes`` gives.

``python -m cloud_pubsub_interceptor.openapi [--check] [PATH]`` writes it to docs/api/interceptor.openapi.json
(or checks it).
"""
from __future__ import annotations

import base64
import json
import sys
from typing import Any

from aa_common.api_documents import CommittedDocument
from aa_common.events import EventKind
from aa_common.openapi import (
    CONVERSATION_NAME_SCHEMA,
    DOCUMENT_ROUTE,
    OpenApiDocument,
    add_common_routes,
    body_limit_errors,
    json_content,
)
from cloud_pubsub_interceptor.push import MAX_MESSAGE_ID_LENGTH, MESSAGE_ID_HEADER, PUBLISH_TIME_HEADER

EXAMPLE_EVENT = {"conversation": CONVERSATION_NAME_SCHEMA["examples"][0], "type": "CONVERSATION_STARTED"}
MESSAGE_ID = {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_ID_LENGTH, "pattern": r"\S"}


def build() -> dict[str, Any]:
    document = OpenApiDocument(
        "Agent Assist Pub/Sub interceptor",
        "Receives the Dialogflow notifications Pub/Sub pushes, one route per topic, and acknowledges each "
        "only once it is stored in Redis (and published to the conversation's channel).")
    push = _push_operation_parts(document)
    for kind in EventKind:
        document.add("POST", f"/{kind}", {
            "operationId": f"push-{kind}",
            "summary": f"A Pub/Sub push of a {kind.dialogflow_type}: {kind.summary}",
            **push,
            "description": push["description"] + "".join(
                f" The message attribute `{attribute}` reaches desktops as the event's `{field}`."
                for field, attribute in kind.attribute_fields.items()),
        })
    add_common_routes(document, "Redis answers")
    return document.as_dict()


def _push_operation_parts(document: OpenApiDocument) -> dict[str, Any]:
    """What every push route shares: its request and its answers."""
    event = document.schema("DialogflowEvent", {
        "description": "A Dialogflow notification, as published; stored and delivered as its JSON text.",
        "type": "object", "required": ["conversation"], "properties": {"conversation": CONVERSATION_NAME_SCHEMA}})
    envelope = document.schema("PushEnvelope", _envelope(event))
    return {
        "description": "Either form of push: the wrapped envelope (what push subscriptions send by default), or "
                       f"the unwrapped event itself with its message id in `{MESSAGE_ID_HEADER}`. The body is read "
                       "as JSON whatever its `Content-Type` (the Pub/Sub emulator sends form-urlencoded).",
        "security": [*document.security_scheme("pushToken", {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "The Google-signed OIDC token of an authenticated push subscription. Checked only "
                           "when `PUSH_AUDIENCE` is set: for that audience, issued by Google and, with "
                           "`PUSH_SERVICE_ACCOUNT`, to that service account."}), {}],
        "parameters": [
            {"name": MESSAGE_ID_HEADER, "in": "header", "schema": {"type": "string"},
             "description": f"An unwrapped push's message id: not blank, at most {MAX_MESSAGE_ID_LENGTH} characters. "
                            "Ignored for a wrapped push, whose id is in its body."},
            {"name": PUBLISH_TIME_HEADER, "in": "header", "schema": {"type": "string"},
             "description": "An unwrapped push's publish time (RFC 3339)."},
        ],
        "requestBody": {"required": True, "content": json_content(
            {"anyOf": [envelope, event]},
            examples={"wrapped": {"summary": "A wrapped push", "value": _example_envelope()}})},
        "responses": {
            "204": {"description": "Stored, or already stored (a redelivery of the same message id): "
                                   "acknowledged."},
            "400": document.error(400, "Not a push of a Dialogflow event; the message says what is wrong."),
            "401": document.error(401, "`PUSH_AUDIENCE` is set and the push has no valid OIDC token for it."),
            "403": document.error(403, "The token was issued to another service account than "
                                       "`PUSH_SERVICE_ACCOUNT`."),
            **body_limit_errors(document),
            "503": document.error(503, "Not stored: Redis is unavailable, the replicas did not confirm the event "
                                       "in time (`REDIS_WAIT_REPLICAS`), or Google's token signing certificates "
                                       "could not be fetched. Pub/Sub redelivers.", retry_after=True),
        },
    }


def _envelope(event: dict[str, str]) -> dict[str, Any]:
    """The wrapped push as ``push._read_wrapped`` reads it; Pub/Sub sends both spellings of each field."""
    data = {"type": "string", "minLength": 1, "contentEncoding": "base64", "contentMediaType": "application/json",
            "contentSchema": event, "description": "The Dialogflow notification, base64-encoded."}
    time = {"description": "When Pub/Sub received the message, an RFC 3339 string; when absent or not a string, "
                           "the time the push is stored."}
    return {
        "description": "A Pub/Sub push, wrapped (the push subscription default).",
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {
                "type": "object",
                "required": ["data"],
                "anyOf": [{"required": ["messageId"]}, {"required": ["message_id"]}],
                "properties": {
                    "data": data,
                    "messageId": MESSAGE_ID,
                    "message_id": {"description": "The same id, as Pub/Sub also spells it: read when `messageId` "
                                                  "is absent or empty, and then held to the same rules."},
                    "publishTime": time,
                    "publish_time": time,
                    "attributes": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                },
            },
            "subscription": {"description": "The subscription's name; not read."},
        },
    }


def _example_envelope() -> dict[str, Any]:
    data = base64.b64encode(json.dumps(EXAMPLE_EVENT).encode()).decode()
    return {"message": {"data": data, "messageId": "2070443601311540", "publishTime": "2026-02-26T19:13:55.749Z",
                        "attributes": {}},
            "subscription": "projects/my-project/subscriptions/aa-lifecycle"}


DOCUMENT = CommittedDocument(build, "interceptor.openapi.json", DOCUMENT_ROUTE, "cloud_pubsub_interceptor.openapi")

if __name__ == "__main__":
    sys.exit(DOCUMENT.main())
