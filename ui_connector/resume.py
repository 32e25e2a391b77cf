"""Where a closed connection had got in each conversation, kept for a few minutes.

Google's Agent Assist UI modules rejoin without a ``lastEventId`` after a reconnect; without
this, every reconnect (an instance replaced, the 60-minute limit) would replay the whole
conversation to them again. Keyed by the token's id (``jti``), so only the same token resumes,
and in Redis, so a desktop that reconnects to another instance resumes too. Losing a cursor
is harmless (the conversation replays from the start), so writes never fail a disconnect.

Key: ``aa:resume:{<token id>}``, a hash of conversation -> last event id sent.
"""
from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


def resume_key(token_id: str) -> str:
    return f"aa:resume:{{{token_id}}}"


class ResumeCursors:
    def __init__(self, client: redis.Redis, ttl_seconds: int):
        self._client = client
        self._ttl = ttl_seconds

    def save(self, token_id: str, cursors: dict[str, str]) -> None:
        key = resume_key(token_id)
        try:
            pipeline = self._client.pipeline(transaction=False)
            pipeline.hset(key, mapping=cursors)
            pipeline.expire(key, self._ttl)
            pipeline.execute()
        except redis.RedisError as error:
            log.warning("could not keep resume cursors", extra={"error": type(error).__name__})

    def load(self, token_id: str, conversation: str) -> str | None:
        """The last event id this token's connection was sent in ``conversation``; raises RedisError."""
        return self._client.hget(resume_key(token_id), conversation)
