"""The emulator's configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit


class Channel(Enum):
    """A kind of Dialogflow notification: the topic it goes to and the interceptor route it is pushed to."""

    SUGGESTIONS = ("TOPIC_SUGGESTIONS", "aa-suggestions", "/human-agent-assistant-event")
    NEW_MESSAGES = ("TOPIC_NEW_MESSAGES", "aa-new-messages", "/new-message-event")
    LIFECYCLE = ("TOPIC_LIFECYCLE", "aa-lifecycle", "/conversation-lifecycle-event")
    RECOGNITION = ("TOPIC_RECOGNITION", "aa-new-recognition-results", "/new-recognition-result-notification-event")

    def __init__(self, env_var: str, default_topic: str, push_route: str) -> None:
        self.env_var = env_var
        self.default_topic = default_topic
        self.push_route = push_route


_TOPIC_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.~+%-]{2,254}")
_HOST_PORT = re.compile(r"[^\s/:]+:\d{1,5}")


@dataclass(frozen=True)
class EmulatorConfig:
    """Where notifications go: the Pub/Sub emulator, the interceptor directly, or nowhere (recorded only)."""

    topics: Mapping[Channel, str]
    pubsub_emulator_host: str | None = None
    pubsub_project_id: str | None = None
    interceptor_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
        env = os.environ if environ is None else environ
        config = cls(
            topics={channel: env.get(channel.env_var, "").strip() or channel.default_topic for channel in Channel},
            pubsub_emulator_host=env.get("PUBSUB_EMULATOR_HOST", "").strip() or None,
            pubsub_project_id=env.get("PUBSUB_PROJECT_ID", "").strip() or None,
            interceptor_url=env.get("INTERCEPTOR_URL", "").strip().rstrip("/") or None,
        )
        config.validate()
        return config

    @classmethod
    def recording_only(cls) -> EmulatorConfig:
        return cls(topics={channel: channel.default_topic for channel in Channel})

    def validate(self) -> None:
        for channel, topic in self.topics.items():
            if not _TOPIC_ID.fullmatch(topic):
                raise ValueError(f"{channel.env_var}={topic!r} is not a valid Pub/Sub topic id")
        if self.pubsub_emulator_host and not _HOST_PORT.fullmatch(self.pubsub_emulator_host):
            raise ValueError(f"PUBSUB_EMULATOR_HOST={self.pubsub_emulator_host!r} must be host:port")
        if self.interceptor_url and urlsplit(self.interceptor_url).scheme not in ("http", "https"):
            raise ValueError(f"INTERCEPTOR_URL={self.interceptor_url!r} must be an http(s) URL")

    def topic_name(self, channel: Channel, project: str) -> str:
        """The full topic name a notification about ``project`` is published to."""
        return f"projects/{self.pubsub_project_id or project}/topics/{self.topics[channel]}"
