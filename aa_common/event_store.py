"""The Redis contract between the interceptor and the UI connectors, defined once.

Per conversation (``C`` is the location-free name, see ``aa_common.conversations``):

- ``aa:{C}:events`` a stream of the conversation's events, each entry one field
  ``payload`` (``Event.to_json()``); capped by MAXLEN and expiring after the
  retention period, refreshed on every write. Late joiners and reconnecting
  desktops replay it.
- ``aa:{C}`` a Pub/Sub channel; each message is ``<stream id> <payload>``. On a Redis Cluster it
  is a shard channel (SPUBLISH / SSUBSCRIBE): a publish reaches only the shard owning the slot.
- ``aa:{C}:seen:<data type>:<messageId>`` marks a Pub/Sub message as stored (its value
  is the stream id), so a redelivery is acknowledged without being stored or published
  again. Message ids are unique per topic only, hence the data type (one per topic).

The braces are a Redis Cluster hash tag: all of a conversation's keys (and its channel) live on
one shard, so the store-and-publish script below runs on a single slot. (The design suggested
``aa:dedup:<messageId>``; keeping the marker inside the conversation's hash tag is what lets one
script check it, append and publish atomically.)

Durability: with ``REDIS_WAIT_REPLICAS`` > 0 an append is answered only once that many replicas
have it (WAIT, in the same round trip); otherwise ``NotReplicated``, and the push gets a 503 so
Pub/Sub redelivers: a failover can then not lose an event Pub/Sub was told is stored.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import redis

from aa_common.config import RedisSettings, RetentionSettings
from aa_common.events import Event
from aa_common.metrics import timed_redis
from aa_common.redis_client import ClusterNodeCalls, DedicatedConnection

# KEYS: the message's marker, the stream. ARGV: the channel, the payload. The retention settings
# and the publish command are written into the script (one script per configuration) rather than
# sent with every push. A redelivery touches the marker: a write, so that a WAIT after it also
# waits for the first delivery's writes to reach the replicas (they replicate in order).
_STORE_AND_PUBLISH = """
local stored = redis.call('GET', KEYS[1])
if stored then
  redis.call('EXPIRE', KEYS[1], %(seconds)d)
  return {0, stored}
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', %(max_events)d, '*', 'payload', ARGV[2])
redis.call('EXPIRE', KEYS[2], %(seconds)d)
redis.call('SET', KEYS[1], id, 'EX', %(seconds)d)
redis.call('%(publish)s', ARGV[1], id .. ' ' .. ARGV[2])
return {1, id}
"""


class NotReplicated(redis.RedisError):
    """The event is on the primary, but fewer replicas than required confirmed it in time."""


# ASCII digits only: Python's \d takes any script's, which Redis refuses. Also the AsyncAPI document's pattern.
EVENT_ID_PATTERN = r"([0-9]{1,20})-([0-9]{1,20})"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
CHANNEL_PREFIX = "aa:{"


def stream_key(conversation_key: str) -> str:
    return f"aa:{{{conversation_key}}}:events"


def channel_name(conversation_key: str) -> str:
    return f"aa:{{{conversation_key}}}"


def seen_key(conversation_key: str, data_type: str, message_id: str) -> str:
    return f"aa:{{{conversation_key}}}:seen:{data_type}:{message_id}"


def conversation_of_channel(channel: str) -> str:
    """Inverse of ``channel_name``."""
    return channel[len(CHANNEL_PREFIX):-1]


_MAX_PART = 2**64 - 1  # Redis stream ids are two unsigned 64-bit numbers


def parse_event_id(event_id: object) -> tuple[int, int]:
    """Return a stream id as a sortable pair, or raise ValueError."""
    match = _EVENT_ID.fullmatch(event_id) if isinstance(event_id, str) else None
    if not match:
        raise ValueError("event id must look like <milliseconds>-<sequence>, e.g. 1732406400000-0")
    parts = int(match[1]), int(match[2])
    # The largest id cannot start an exclusive range: nothing comes after it.
    if max(parts) > _MAX_PART or parts == (_MAX_PART, _MAX_PART):
        raise ValueError("event id is out of range for a Redis stream id")
    return parts


def split_channel_message(message: str) -> tuple[str, str]:
    """Split a channel message into (stream id, payload JSON)."""
    event_id, _, payload = message.partition(" ")
    return event_id, payload


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    payload: str


@dataclass(frozen=True)
class AppendResult:
    event_id: str
    duplicate: bool


class EventStore:
    """Appends events durably and reads them back, per conversation."""

    def __init__(self, client: redis.Redis | redis.RedisCluster, retention: RetentionSettings,
                 redis_settings: RedisSettings = RedisSettings()):
        self._client = client
        self._cluster = isinstance(client, redis.RedisCluster)
        self._script = _STORE_AND_PUBLISH % {"seconds": retention.seconds,
                                             "max_events": retention.max_events_per_conversation,
                                             "publish": "SPUBLISH" if self._cluster else "PUBLISH"}
        self._script_sha = hashlib.sha1(self._script.encode()).hexdigest()
        self._wait = redis_settings.wait_replicas, redis_settings.wait_timeout_ms
        self._appends: DedicatedConnection | ClusterNodeCalls | None = None  # opened on the first append

    def append(self, event: Event) -> AppendResult:
        """Store and publish in one round trip (with the replicas' confirmation, when required); a message
        already stored is not stored twice. Raises RedisError (NotReplicated included): retry later."""
        conversation_key = event.conversation_name
        keys = (seen_key(conversation_key, event.data_type, event.message_id), stream_key(conversation_key))
        args = (channel_name(conversation_key), event.to_json())
        with timed_redis("store_and_publish"):
            answers = self._run(keys[1], ("EVALSHA", self._script_sha, 2, *keys, *args))
            if isinstance(answers[0], redis.exceptions.NoScriptError):  # a new or restarted Redis: the script itself
                answers = self._run(keys[1], ("EVAL", self._script, 2, *keys, *args))
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        replicas, _ = self._wait
        if replicas and answers[1] < replicas:
            raise NotReplicated(f"{answers[1]} of {replicas} replicas confirmed the event in time")
        created, event_id = answers[0]
        return AppendResult(event_id=event_id, duplicate=not created)

    def _run(self, routing_key: str, script_call: tuple) -> list:
        if self._appends is None:
            self._appends = ClusterNodeCalls(self._client) if self._cluster else DedicatedConnection(self._client)
        replicas, timeout_ms = self._wait
        return self._appends.run(routing_key, [script_call] + ([("WAIT", replicas, timeout_ms)] if replicas else []))

    def read_after(self, conversation_key: str, after_id: str, count: int) -> list[StoredEvent]:
        """Up to ``count`` events with ids greater than ``after_id``, oldest first."""
        with timed_redis("read_after"):
            entries = self._client.xrange(stream_key(conversation_key), min=f"({after_id}", count=count)
        return [StoredEvent(event_id, fields["payload"]) for event_id, fields in entries]
