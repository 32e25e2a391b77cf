"""Dialogflow resource names, ids and timestamps."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_LOCATION = "global"

# Dialogflow's rule for caller-chosen conversation ids.
CONVERSATION_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{2,63}")
CONVERSATION_PROFILE_NAME = re.compile(r"projects/[^/]+(/locations/[^/]+)?/conversationProfiles/[^/]+")
GENERATOR_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/generators/[^/]+")
# Groups: conversation id, then participant or message id.
PARTICIPANT_NAME = re.compile(r"projects/[^/]+(?:/locations/[^/]+)?/conversations/([^/]+)/participants/([^/]+)")
MESSAGE_NAME = re.compile(r"projects/[^/]+(?:/locations/[^/]+)?/conversations/([^/]+)/messages/([^/]+)")

_ID_FIRST = string.ascii_letters
_ID_REST = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Scope:
    """The ``projects/P`` or ``projects/P/locations/L`` part of a resource name.

    Dialogflow answers in the form it was asked in, so a request's scope keeps ``location=None``
    when the path had none; the resource itself lives in the ``global`` location.
    """

    project: str
    location: str | None = None

    @property
    def prefix(self) -> str:
        if self.location is None:
            return f"projects/{self.project}"
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def location_id(self) -> str:
        return self.location or DEFAULT_LOCATION

    def full(self) -> Scope:
        """The same scope with its location spelled out, as notifications name resources."""
        return Scope(self.project, self.location_id)


def new_id(length: int = 22) -> str:
    """A random resource id that starts with a letter, like the ids Dialogflow generates."""
    return secrets.choice(_ID_FIRST) + "".join(secrets.choice(_ID_REST) for _ in range(length - 1))


def last_segment(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-02-26T19:13:55.612Z``: the JSON form of a protobuf Timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(value: str) -> datetime | None:
    """A protobuf Timestamp in JSON form, or None when ``value`` is not one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
