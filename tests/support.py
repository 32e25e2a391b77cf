"""Helpers the tests share: fixture payloads, push envelopes and a desktop Socket.IO client."""
from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import engineio
import requests
import socketio
import websocket

from aa_common.events import EventKind
from devstack.processes import REPO_ROOT, wait_until
from ui_connector.sockets import JOIN_CONVERSATION, LEAVE_CONVERSATION

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
PROJECT = "my-proj"
_message_ids = itertools.count(int(time.time() * 1000))


def fixture_event(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def new_conversation(location: str | None = "global") -> str:
    """A fresh conversation name, so tests sharing one Redis never see each other's events."""
    conversation_id = uuid.uuid4().hex[:16]
    if location:
        return f"projects/{PROJECT}/locations/{location}/conversations/{conversation_id}"
    return f"projects/{PROJECT}/conversations/{conversation_id}"


def event_for(conversation: str, fixture: str = "conversation-started.json") -> dict:
    """A fixture event re-addressed to ``conversation`` (its nested resource names too)."""
    text = (FIXTURES / fixture).read_text()
    return json.loads(text.replace(f"projects/{PROJECT}/locations/global/conversations/CONV_ID", conversation))


def envelope(event: dict | bytes, message_id: str | None = None, attributes: dict | None = None) -> dict:
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    message_id = message_id or str(next(_message_ids))
    message = {
        "data": base64.b64encode(data).decode(),
        "messageId": message_id,
        "message_id": message_id,
        "publishTime": "2026-02-26T19:13:55.749Z",
        "publish_time": "2026-02-26T19:13:55.749Z",
    }
    if attributes is not None:
        message["attributes"] = attributes
    return {"message": message, "subscription": "projects/my-proj/subscriptions/test"}


def push(interceptor_url: str, route: str, event: dict, message_id: str | None = None,
         attributes: dict | None = None, timeout: float = 15, session: requests.Session | None = None
         ) -> requests.Response:
    return (session or requests).post(f"{interceptor_url}/{route}", json=envelope(event, message_id, attributes),
                                      timeout=timeout)


def register(connector_url: str, user: str = "agent-1") -> str:
    response = requests.post(f"{connector_url}/register", headers={"Authorization": "Bearer desk-token"},
                             json={"user": user}, timeout=10)
    response.raise_for_status()
    return response.json()["token"]


class InOrderEngineIOClient(engineio.Client):
    """Handles each packet on the read loop, in arrival order, as browsers and Node do.

    The stock client runs every message handler in a thread of its own, so two events can be
    recorded in the opposite order they arrived in, which would make order assertions flaky.
    """

    def _trigger_event(self, event, *args, **kwargs):
        kwargs.pop("run_async", None)
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return InOrderEngineIOClient


class Desktop:
    """An agent desktop: a python-socketio client over a real WebSocket that records every event."""

    def __init__(self, connector_url: str, token: str, transports: tuple[str, ...] = ("websocket",)):
        self.events: list[tuple[str, dict]] = []
        self._changed = threading.Condition()
        self.client = InOrderClient(reconnection=False)
        self.client.on("*", self._record)
        self.client.connect(connector_url, auth={"token": token}, transports=list(transports), wait_timeout=10)

    def _record(self, name: str, data) -> None:
        with self._changed:
            self.events.append((name, data))
            self._changed.notify_all()

    def join(self, conversation: str, last_event_id: str | None = None):
        message = conversation if last_event_id is None else {"conversationName": conversation,
                                                              "lastEventId": last_event_id}
        return self.client.call(JOIN_CONVERSATION, message, timeout=10)

    def leave(self, conversation: str):
        return self.client.call(LEAVE_CONVERSATION, conversation, timeout=10)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, dict]]:
        """Wait until ``count`` events arrived; return them all (more may have come)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def settle(self, quiet: float = 0.5) -> list[tuple[str, dict]]:
        """Wait until no event has arrived for ``quiet`` seconds; proves nothing extra comes."""
        seen = -1
        while seen != len(self.events):
            seen = len(self.events)
            time.sleep(quiet)
        return list(self.events)

    def message_ids(self) -> list[str]:
        return [data["message_id"] for _, data in self.events]

    def close(self) -> None:
        self.client.disconnect()


class RawSocketIO:
    """Engine.IO v4 / Socket.IO v5 spoken by hand over a WebSocket, to send what no well-behaved
    client library would: reserved event names, binary packets, floods, half-open sessions."""

    def __init__(self, connector_url: str, token: str | None = None):
        url = connector_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=10)
        opening = self.ws.recv()
        assert opening.startswith("0"), opening
        self.received: list[str] = []
        if token is not None:
            self.ws.send("40" + json.dumps({"token": token}))

    def send(self, packet: str) -> None:
        self.ws.send(packet)

    def emit(self, event: str, *args, ack_id: int | None = None) -> None:
        self.ws.send("42" + ("" if ack_id is None else str(ack_id)) + json.dumps([event, *args]))

    def next_packet(self, timeout: float = 10) -> str | None:
        """The next Socket.IO packet (Engine.IO pings are answered); None once the server closed."""
        self.ws.settimeout(timeout)
        while True:
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return None
            if frame == "":
                return None
            if frame == "2":
                self.ws.send("3")
                continue
            if frame == "1":  # Engine.IO CLOSE
                return None
            if frame.startswith("4"):
                self.received.append(frame[1:])
                return frame[1:]

    def wait_closed(self, timeout: float = 10) -> bool:
        """Read until the server closes the session; False if it is still open after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.next_packet(timeout=max(0.1, deadline - time.monotonic())) is None:
                    return True
            except websocket.WebSocketTimeoutException:
                return False
        return False

    def close(self) -> None:
        try:
            self.ws.close()
        except OSError:
            pass


class Balancer:
    """A TCP front end for several UI connectors, as Cloud Run's is: each new connection goes to the next
    backend that accepts it, so a desktop whose instance died reconnects to another through one URL."""

    def __init__(self, ports: list[int]):
        self._ports = list(ports)
        self._next = itertools.count()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: set = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            backend = self._connect()
            if backend is None:
                client.close()
                continue
            with self._lock:
                self._open.update((client, backend))
            for source, target in ((client, backend), (backend, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _connect(self):
        for _ in range(len(self._ports)):
            port = self._ports[next(self._next) % len(self._ports)]
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
        return None

    def _pipe(self, source, target) -> None:
        source.settimeout(None)
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._open:
                connection.close()


class NodeDesktop:
    """The npm socket.io-client, reconnecting by itself and rejoining without lastEventId, like Google's UI modules."""

    def __init__(self, connector_url: str, token: str, conversation: str, resume_with_last_event_id: bool = False):
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node is needed; `make install` installs the npm packages it runs")
        self.lines: list[dict] = []
        env = {**os.environ, "RESUME_WITH_LAST_EVENT_ID": "1" if resume_with_last_event_id else "0"}
        self._process = subprocess.Popen([node, str(Path(__file__).parent / "node" / "resilient.mjs"), connector_url,
                                          token, conversation], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._process.stdout:
            self.lines.append(json.loads(line))

    def events(self) -> list[str]:
        return [line["event"] for line in self.lines if "event" in line]

    def of(self, kind: str) -> list:
        return [line[kind] for line in self.lines if kind in line]

    def wait_for_events(self, count: int, timeout: float = 20) -> None:
        wait_until(lambda: len(self.events()) >= count, timeout, f"{count} events at the node desktop")

    def wait_joined(self, times: int, timeout: float = 20) -> None:
        wait_until(lambda: self.of("joined").count(True) >= times, timeout, f"join number {times}")

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(10)


class Pusher:
    """Pushes events to one conversation at ``RATE`` per second until stopped, retrying each one Redis
    cannot take now as Pub/Sub would; keeps the ids of those acknowledged, in order."""

    RATE = 200  # events per second, a busy conversation and then some

    def __init__(self, interceptor_url: str, conversation: str):
        self.acknowledged: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interceptor_url, conversation))
        self._thread.start()

    def _run(self, url: str, conversation: str) -> None:
        session, event = requests.Session(), event_for(conversation, "new-message.json")
        next_at = time.perf_counter()
        while not self._stop.is_set():
            message_id = f"drill-{uuid.uuid4().hex[:12]}"
            for _ in range(50):  # a push Redis cannot take now is retried, as Pub/Sub would
                response = push(url, EventKind.NEW_MESSAGE, event, message_id, session=session)
                if response.status_code == 204:
                    self.acknowledged.append(message_id)
                    break
                time.sleep(0.1)
            next_at += 1 / self.RATE
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(30)
        return self.acknowledged


class NodeDesktops:
    """``count`` socket.io-client desktops in one Node process (tests/node/desktops.mjs), all connecting and
    joining at once, as after an instance was replaced."""

    def __init__(self, connector, count: int, conversations: list[str]):
        self._process = subprocess.Popen(
            ["node", str(Path(__file__).parent / "node" / "desktops.mjs"), connector.url,
             register(connector.url), str(count), *conversations],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self._process.stdout.readline())
        if "ready" not in ready:
            raise RuntimeError(f"the Node desktops did not all join: {ready}")

    def status(self) -> dict:
        self._process.stdin.write("status\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(30)
