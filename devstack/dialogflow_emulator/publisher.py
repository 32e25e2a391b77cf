"""Delivering notifications as Dialogflow does: JSON messages on Pub/Sub topics.

With ``PUBSUB_EMULATOR_HOST`` they are published to the Pub/Sub emulator; with ``INTERCEPTOR_URL``
they are pushed straight to the interceptor in Pub/Sub's wrapped push format; with neither they
are only recorded. One background thread delivers them in publication order, so the API never
waits on a slow receiver and a conversation's events arrive in the order they happened.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from aa_common.events import EventKind

from .config import EmulatorConfig
from .names import last_segment, rfc3339, utc_now

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.2
HTTP_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Notification:
    kind: EventKind
    conversation: str  # the full name, with location
    data: JsonObject

    @property
    def project(self) -> str:
        return self.conversation.split("/")[1]


@dataclass
class Delivery:
    """One notification on its way: where it goes and how far it got ("" where that does not apply)."""

    notification: Notification
    topic: str
    publish_time: str
    status: str  # recorded (no sink), pending, delivered or failed
    destination: str = ""
    message_id: str = ""
    error: str = ""

    def to_json(self) -> JsonObject:
        return {
            "kind": self.notification.kind.value,
            "topic": self.topic,
            "destination": self.destination or None,
            "conversation": self.notification.conversation,
            "data": self.notification.data,
            "publishTime": self.publish_time,
            "status": self.status,
            "messageId": self.message_id or None,
            "error": self.error or None,
        }


class DeliveryFailed(Exception):
    pass


class Sink(Protocol):
    def destination(self, notification: Notification, topic: str) -> str: ...

    def assign_message_id(self) -> str:
        """The message id to push with, or "" when the receiving side assigns it."""

    def send(self, delivery: Delivery) -> str:
        """Deliver once; return the Pub/Sub message id or raise DeliveryFailed."""


class PubSubEmulatorSink:
    """Publishes through the Pub/Sub emulator's REST API; the emulator assigns message ids."""

    def __init__(self, host: str) -> None:
        self._base_url = f"http://{host}/v1"
        self._session = requests.Session()

    def destination(self, notification: Notification, topic: str) -> str:
        return f"{self._base_url}/{topic}:publish"

    def assign_message_id(self) -> str:
        return ""

    def send(self, delivery: Delivery) -> str:
        message = {
            "data": _base64_json(delivery.notification.data),
            "attributes": {},
            "orderingKey": delivery.notification.conversation,
        }
        body = _post(self._session, delivery.destination, {"messages": [message]})
        message_ids = body.get("messageIds")
        if not isinstance(message_ids, list) or not message_ids:
            raise DeliveryFailed(f"the publish response has no message id: {body}")
        return str(message_ids[0])


class DirectPushSink:
    """Posts Pub/Sub's wrapped push envelope straight to the interceptor's route for each kind."""

    def __init__(self, interceptor_url: str) -> None:
        self._interceptor_url = interceptor_url
        self._session = requests.Session()
        # Ids start at the current time in microseconds, so an emulator restart does not reuse ids
        # that the interceptor still remembers for de-duplication.
        self._message_ids = itertools.count(time.time_ns() // 1000)

    def destination(self, notification: Notification, topic: str) -> str:
        return f"{self._interceptor_url}/{notification.kind}"

    def assign_message_id(self) -> str:
        return str(next(self._message_ids))

    def send(self, delivery: Delivery) -> str:
        project = delivery.topic.split("/")[1]
        envelope = {
            "message": {
                "data": _base64_json(delivery.notification.data),
                "attributes": {},
                "messageId": delivery.message_id,
                "message_id": delivery.message_id,
                "publishTime": delivery.publish_time,
                "publish_time": delivery.publish_time,
            },
            "subscription": f"projects/{project}/subscriptions/{last_segment(delivery.topic)}-push",
        }
        _post(self._session, delivery.destination, envelope)
        return delivery.message_id


class Publisher:
    def __init__(self, config: EmulatorConfig, sink: Sink | None) -> None:
        self._config = config
        self._sink = sink
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._queue: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
        if sink is not None:
            worker = threading.Thread(target=self._deliver_forever, args=(sink,), name="publisher", daemon=True)
            worker.start()

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> Publisher:
        if config.pubsub_emulator_host:
            return cls(config, PubSubEmulatorSink(config.pubsub_emulator_host))
        if config.interceptor_url:
            return cls(config, DirectPushSink(config.interceptor_url))
        return cls(config, None)

    def publish(self, notification: Notification) -> None:
        """Queue ``notification``; deliveries happen in the order of these calls."""
        topic = self._config.topic_name(notification.kind, notification.project)
        now = rfc3339(utc_now())
        if self._sink is None:
            delivery = Delivery(notification, topic, now, "recorded")
        else:
            destination = self._sink.destination(notification, topic)
            delivery = Delivery(notification, topic, now, "pending", destination, self._sink.assign_message_id())
        with self._lock:
            self._deliveries.append(delivery)
        if self._sink is not None:
            self._queue.put(delivery)

    def deliveries(self) -> list[JsonObject]:
        with self._lock:
            return [delivery.to_json() for delivery in self._deliveries]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def _deliver_forever(self, sink: Sink) -> None:
        while True:
            delivery = self._queue.get()
            try:
                self._deliver(sink, delivery)
            except Exception as error:  # the worker must outlive any one bad delivery
                log.exception("delivery to %s failed unexpectedly", delivery.destination)
                self._settle(delivery, "failed", error=f"{type(error).__name__}: {error}")

    def _deliver(self, sink: Sink, delivery: Delivery) -> None:
        error = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                message_id = sink.send(delivery)
            except DeliveryFailed as failure:
                error = str(failure)
                log.warning("delivery %d/%d to %s failed: %s", attempt + 1, ATTEMPTS, delivery.destination, error)
                continue
            self._settle(delivery, "delivered", message_id=message_id)
            return
        log.error("gave up on a %s notification for %s", delivery.notification.kind.value, delivery.destination)
        self._settle(delivery, "failed", error=error)

    def _settle(self, delivery: Delivery, status: str, *, message_id: str = "", error: str = "") -> None:
        with self._lock:
            delivery.status = status
            delivery.message_id = message_id or delivery.message_id
            delivery.error = error


def _base64_json(data: JsonObject) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _post(session: requests.Session, url: str, body: JsonObject) -> JsonObject:
    try:
        response = session.post(url, json=body, timeout=HTTP_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        return response.json() if response.content else {}
    except ValueError:
        return {}
