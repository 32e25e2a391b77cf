"""The Google Cloud CLI's Pub/Sub emulator for the local stack and the tests.

``PubSubEmulator`` starts and stops the emulator; ``PubSubAdmin`` talks to its REST API (topics,
push and pull subscriptions, publish, pull); ``wire_interceptor`` creates the Agent Assist topics
with push subscriptions to the interceptor's routes.

The emulator is started through its own launch script rather than ``gcloud beta emulators pubsub
start``, which wraps the same script but starts a Python CLI first and needs the beta component.

What the emulator's push looks like (emulator 0.8.x, checked by tests/emulator):
- by default the wrapped envelope, ``Content-Type: application/json``: ``{"subscription",
  "message": {"data", "attributes" (``{}`` when none), "messageId", "message_id", "publishTime",
  "publish_time"}}``; no ``deliveryAttempt`` and no ``orderingKey``;
- with ``noWrapper`` the raw data with ``Content-Type: application/x-www-form-urlencoded``, and
  with ``writeMetadata`` each attribute as a header of its own name plus ``x-goog-pubsub-message-id``,
  ``x-goog-pubsub-publish-time`` and ``x-goog-pubsub-subscription-name``;
- no ``Authorization`` header, even when the subscription asks for an OIDC token;
- message ids count up from 1 in each emulator process, so they repeat after a restart;
- a non-2xx answer is retried about once a second; without message ordering two pushes of a
  subscription can be in flight at once and arrive out of order.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from aa_common.events import EventKind
from devstack.processes import free_port, http_ok, stop_process_group, wait_until

DEFAULT_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
LAUNCH_SCRIPT = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
HTTP_TIMEOUT_SECONDS = 10


def find_emulator() -> Path | None:
    """The emulator's launch script: ``$PUBSUB_EMULATOR_BIN``, else in the SDK that ``gcloud`` belongs
    to, else in the default SDK location; None when it is not installed."""
    candidates = []
    if os.environ.get("PUBSUB_EMULATOR_BIN"):
        candidates.append(Path(os.environ["PUBSUB_EMULATOR_BIN"]))
    gcloud = shutil.which("gcloud")
    if gcloud:
        candidates.append(Path(gcloud).resolve().parent.parent / LAUNCH_SCRIPT)
    candidates.append(DEFAULT_SDK_ROOT / LAUNCH_SCRIPT)
    return next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)), None)


class PubSubEmulator:
    """The Pub/Sub emulator on its own port, logging to ``log_path`` (a temporary file by default)."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: str | Path | None = None,
        executable: str | Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port()
        self.log_path = Path(log_path) if log_path else _temporary_log()
        self._executable = Path(executable) if executable else find_emulator()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host_port(self) -> str:
        """What ``PUBSUB_EMULATOR_HOST`` is set to for clients of this emulator."""
        return f"{self.host}:{self.port}"

    def admin(self) -> PubSubAdmin:
        return PubSubAdmin(self.host_port)

    def start(self, timeout: float = 30) -> PubSubEmulator:
        """Starts the emulator and waits until it answers; raises RuntimeError if it cannot."""
        if self._executable is None:
            raise RuntimeError(
                "the Pub/Sub emulator is not installed: `gcloud components install pubsub-emulator` "
                "or `apt-get install google-cloud-cli-pubsub-emulator`"
            )
        command = [str(self._executable), f"--host={self.host}", f"--port={self.port}"]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(
                lambda: self._exited() or http_ok(f"http://{self.host_port}/"),
                timeout,
                f"the Pub/Sub emulator on {self.host_port}",
            )
        except BaseException:  # a timeout, or Ctrl-C while it starts
            self.stop()
            raise
        if self._exited():
            raise RuntimeError(f"the Pub/Sub emulator exited at start-up; see {self.log_path}")
        return self

    def stop(self) -> None:
        """Stops the emulator (the launch script and the JVM it runs, as one process group)."""
        stop_process_group(self._process, timeout=10)
        self._process = None

    def __enter__(self) -> PubSubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None


@dataclass(frozen=True)
class PulledMessage:
    data: Any  # the message data, decoded from base64 and parsed as JSON
    attributes: dict[str, str]
    message_id: str
    publish_time: str
    ordering_key: str


class PubSubAdmin:
    """The Pub/Sub REST API of the emulator at ``host_port``. Creating what exists already is not an error."""

    def __init__(self, host_port: str) -> None:
        self._base_url = f"http://{host_port}/v1"
        self._session = requests.Session()

    def create_topic(self, project: str, topic: str) -> str:
        """Creates ``projects/{project}/topics/{topic}`` and returns that name."""
        name = f"projects/{project}/topics/{topic}"
        self._create(name, {})
        return name

    def create_push_subscription(
        self,
        project: str,
        subscription: str,
        topic: str,
        endpoint: str,
        *,
        wrapped: bool = True,
        write_metadata: bool = True,
        ordered: bool = False,
        ack_deadline_seconds: int = 10,
    ) -> str:
        """Subscribes ``endpoint`` to ``topic``, or points the existing subscription at it.

        ``wrapped=False`` pushes the raw data (``noWrapper``), with the metadata as headers when
        ``write_metadata``. ``ordered`` delivers messages with one ordering key one at a time, in order.
        """
        push_config: dict[str, Any] = {"pushEndpoint": endpoint}
        if not wrapped:
            push_config["noWrapper"] = {"writeMetadata": write_metadata}
        name = f"projects/{project}/subscriptions/{subscription}"
        body = {
            "topic": f"projects/{project}/topics/{topic}",
            "pushConfig": push_config,
            "ackDeadlineSeconds": ack_deadline_seconds,
            "enableMessageOrdering": ordered,
        }
        if not self._create(name, body):
            self._post(f"{name}:modifyPushConfig", {"pushConfig": push_config})
        return name

    def create_pull_subscription(self, project: str, subscription: str, topic: str) -> str:
        name = f"projects/{project}/subscriptions/{subscription}"
        self._create(name, {"topic": f"projects/{project}/topics/{topic}"})
        return name

    def publish(
        self,
        project: str,
        topic: str,
        data: Any,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str = "",
    ) -> str:
        """Publishes ``data`` as JSON; returns the message id."""
        message: dict[str, Any] = {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "attributes": dict(attributes or {}),
        }
        if ordering_key:
            message["orderingKey"] = ordering_key
        body = self._post(f"projects/{project}/topics/{topic}:publish", {"messages": [message]})
        return body["messageIds"][0]

    def pull(self, project: str, subscription: str, max_messages: int = 100) -> list[PulledMessage]:
        """Pulls and acknowledges what is waiting now (possibly nothing)."""
        name = f"projects/{project}/subscriptions/{subscription}"
        # Without returnImmediately the emulator holds an empty pull open until a message arrives.
        request = {"maxMessages": max_messages, "returnImmediately": True}
        received = self._post(f"{name}:pull", request).get("receivedMessages", [])
        if received:
            self._post(f"{name}:acknowledge", {"ackIds": [item["ackId"] for item in received]})
        return [_pulled(item["message"]) for item in received]

    def _create(self, name: str, body: dict[str, Any]) -> bool:
        """PUT ``name``: True when created, False when it already existed."""
        response = self._session.put(f"{self._base_url}/{name}", json=body, timeout=HTTP_TIMEOUT_SECONDS)
        if response.status_code == 409:
            return False
        _raise_for_status(response)
        return True

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._session.post(f"{self._base_url}/{path}", json=body, timeout=HTTP_TIMEOUT_SECONDS)
        _raise_for_status(response)
        return response.json() if response.content.strip() else {}


def wire_interceptor(
    admin: PubSubAdmin,
    project: str,
    interceptor_url: str,
    topics: Mapping[EventKind, str] | None = None,
    *,
    ordered: bool = True,
) -> dict[EventKind, str]:
    """Creates the Agent Assist topics, each with a push subscription ``{topic}-push`` to its kind's
    interceptor route; returns the subscription names.

    ``topics`` defaults to each kind's default topic, the one ``deploy/`` creates. ``ordered`` delivers a
    conversation's notifications in order, as the Dialogflow emulator publishes them with the
    conversation name as ordering key.
    """
    subscriptions = {}
    for kind in EventKind:
        topic = (topics or {}).get(kind, kind.default_topic)
        admin.create_topic(project, topic)
        endpoint = f"{interceptor_url.rstrip('/')}/{kind}"
        subscriptions[kind] = admin.create_push_subscription(
            project, f"{topic}-push", topic, endpoint, ordered=ordered
        )
    return subscriptions


def _temporary_log() -> Path:
    handle, path = tempfile.mkstemp(prefix="pubsub-emulator-", suffix=".log")
    os.close(handle)
    return Path(path)


def _pulled(message: dict[str, Any]) -> PulledMessage:
    return PulledMessage(
        data=json.loads(base64.b64decode(message.get("data", ""))),
        attributes=message.get("attributes", {}),
        message_id=message["messageId"],
        publish_time=message["publishTime"],
        ordering_key=message.get("orderingKey", ""),
    )


def _raise_for_status(response: requests.Response) -> None:
    if not response.ok:
        raise RuntimeError(
            f"Pub/Sub emulator: {response.request.method} {response.url} -> "
            f"HTTP {response.status_code}: {response.text[:300]}"
        )
