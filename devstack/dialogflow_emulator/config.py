"""The emulator's configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aa_common.events import EventKind

_TOPIC_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.~+%-]{2,254}")
_HOST_PORT = re.compile(r"[^\s/:]+:\d{1,5}")


@dataclass(frozen=True)
class EmulatorConfig:
    """Where notifications go: the Pub/Sub emulator, the interceptor directly, or nowhere (recorded only)."""

    topics: Mapping[EventKind, str]
    pubsub_emulator_host: str | None = None
    pubsub_project_id: str | None = None
    interceptor_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
        env = os.environ if environ is None else environ
        config = cls(
            topics={kind: env.get(kind.topic_variable, "").strip() or kind.default_topic for kind in EventKind},
            pubsub_emulator_host=env.get("PUBSUB_EMULATOR_HOST", "").strip() or None,
            pubsub_project_id=env.get("PUBSUB_PROJECT_ID", "").strip() or None,
            interceptor_url=env.get("INTERCEPTOR_URL", "").strip().rstrip("/") or None,
        )
        config.validate()
        return config

    @classmethod
    def recording_only(cls) -> EmulatorConfig:
        return cls(topics={kind: kind.default_topic for kind in EventKind})

    def validate(self) -> None:
        for kind, topic in self.topics.items():
            if not _TOPIC_ID.fullmatch(topic):
                raise ValueError(f"{kind.topic_variable}={topic!r} is not a valid Pub/Sub topic id")
        if self.pubsub_emulator_host and not _HOST_PORT.fullmatch(self.pubsub_emulator_host):
            raise ValueError(f"PUBSUB_EMULATOR_HOST={self.pubsub_emulator_host!r} must be host:port")
        if self.interceptor_url and urlsplit(self.interceptor_url).scheme not in ("http", "https"):
            raise ValueError(f"INTERCEPTOR_URL={self.interceptor_url!r} must be an http(s) URL")

    def topic_name(self, kind: EventKind, project: str) -> str:
        """The full topic name a notification about ``project`` is published to."""
        return f"projects/{self.pubsub_project_id or project}/topics/{self.topics[kind]}"
