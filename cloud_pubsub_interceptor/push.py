"""Turning a Pub/Sub push request into a validated Dialogflow event, or a reason it is not one.

Pub/Sub pushes either the wrapped envelope ``{"message": {"data": <base64>, ...}}`` or, for
"no wrapper" subscriptions, the raw event with its metadata in ``x-goog-pubsub-*`` headers.
Content-Type is not trusted either way (the Pub/Sub emulator sends form-urlencoded).
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
import functools
import time
from dataclasses import dataclass

import orjson

from aa_common.conversations import InvalidConversationName, normalize_conversation_name
from aa_common.events import Event, EventKind

MESSAGE_ID_HEADER = "x-goog-pubsub-message-id"
PUBLISH_TIME_HEADER = "x-goog-pubsub-publish-time"
MAX_MESSAGE_ID_LENGTH = 256


class InvalidPush(ValueError):
    """The request is not a Pub/Sub push of a Dialogflow event; the message says why."""


@dataclass(frozen=True)
class PushedMessage:
    data: bytes
    message_id: str
    publish_time: str
    attributes: Mapping[str, str]


def read_push(body: bytes, headers: Mapping[str, str]) -> PushedMessage:
    if not body.strip():
        raise InvalidPush("request body is empty; expected a Pub/Sub push")
    envelope = _json(body, "request body is not JSON")
    if isinstance(envelope, dict) and "message" in envelope:
        return _read_wrapped(envelope["message"])
    if headers.get(MESSAGE_ID_HEADER):
        return _read_unwrapped(body, headers)
    raise InvalidPush(
        "push body has no 'message' object (and no x-goog-pubsub-message-id header, "
        "so it is not an unwrapped push either)"
    )


def _read_wrapped(message: object) -> PushedMessage:
    if not isinstance(message, dict):
        raise InvalidPush("'message' must be an object")
    encoded = message.get("data")
    if not isinstance(encoded, str) or not encoded:
        raise InvalidPush("'message.data' is missing; expected the base64-encoded Dialogflow event")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPush("'message.data' is not valid base64") from None
    attributes = message.get("attributes")
    if attributes is None:  # absent, or null: no attributes
        attributes = {}
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        raise InvalidPush("'message.attributes' must be an object of strings")
    return PushedMessage(
        data=data,
        message_id=_message_id(message.get("messageId") or message.get("message_id")),
        publish_time=_text(message.get("publishTime") or message.get("publish_time")),
        attributes=attributes,
    )


def _read_unwrapped(body: bytes, headers: Mapping[str, str]) -> PushedMessage:
    attributes = {name.lower(): value for name, value in headers.items()}
    return PushedMessage(
        data=body,
        message_id=_message_id(headers.get(MESSAGE_ID_HEADER)),
        publish_time=_text(headers.get(PUBLISH_TIME_HEADER)),
        attributes=attributes,
    )


def to_event(message: PushedMessage, kind: EventKind) -> Event:
    """Validate the decoded Dialogflow event and shape it as desktops receive it."""
    try:
        text = message.data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPush("the event data is not UTF-8 text") from None
    event = _json(text, "the event data is not JSON")
    if not isinstance(event, dict):
        raise InvalidPush("the event data must be a JSON object")
    if "conversation" not in event:
        raise InvalidPush("the event has no 'conversation' field")
    try:
        conversation = normalize_conversation_name(event["conversation"])
    except InvalidConversationName as error:
        raise InvalidPush(f"the event's 'conversation' is invalid: {error}") from None
    return Event(
        conversation_name=conversation,
        data=text,
        data_type=kind.value,
        publish_time=message.publish_time or _now(),
        message_id=message.message_id,
        ack_time=_now(),
        **{name: message.attributes.get(attribute) for name, attribute in kind.attribute_fields.items()},
    )


def _json(text: bytes | str, problem: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # invalid JSON, too deep, or text that is not valid Unicode
        raise InvalidPush(problem) from None


def _message_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidPush("the push has no message id ('message.messageId')")
    if len(value) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidPush(f"the message id is longer than {MAX_MESSAGE_ID_LENGTH} characters")
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _now() -> str:
    """The current UTC time as RFC 3339 with microseconds, as Pub/Sub writes times."""
    now = time.time()
    second = int(now)
    return f"{_utc_second(second)}.{int((now - second) * 1_000_000):06d}Z"


@functools.lru_cache(maxsize=2)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
