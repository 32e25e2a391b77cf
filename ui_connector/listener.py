"""The Redis Pub/Sub listener: the only user of this instance's Pub/Sub connections.

Joins and leaves only mark conversations to subscribe or release, and wake the connection's own
loop, which sends SUBSCRIBE/UNSUBSCRIBE on its next turn, keeping what fails for the turn after
(an outage). An idle loop turns once a ``tick``. A released conversation keeps its confirmed subscription
until that turn, so a quick re-join needs no new confirmation. Redis confirming a channel a
second time means the connection dropped and was subscribed again: whatever was published in
between is only in the stream, and ``on_resubscribed`` lets viewers catch up.

On one Redis node there is one connection (classic Pub/Sub). On a Redis Cluster a
conversation's channel is a shard channel, and there is one connection per primary that owns
a watched conversation's slot (SSUBSCRIBE), so a publish reaches only that shard. When a
primary is lost (a failover) or a slot moves (the server unsubscribes its channels), the
topology is read again, the conversations go to the connection of their new owner, and its
confirmation catches their viewers up from the stream.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import redis
from redis.client import PubSub

from aa_common.backoff import Backoff
from aa_common.config import RedisSettings
from aa_common.event_store import channel_name, conversation_of_channel
from aa_common.redis_client import connect_node
from ui_connector.pubsub_reads import PubSubReader, ReadWithin, WaitReadable

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 30.0
SINGLE_NODE = "redis"


class ListenerUnhealthy(RuntimeError):
    """A Pub/Sub connection has stopped turning: live events are not being delivered."""


@dataclass(frozen=True)
class PubSubCommands:
    """The Pub/Sub vocabulary: classic, or sharded (Redis 7's, for a cluster)."""

    subscribe: str
    unsubscribe: str
    message: str


CLASSIC = PubSubCommands("subscribe", "unsubscribe", "message")
SHARDED = PubSubCommands("ssubscribe", "sunsubscribe", "smessage")


class SingleNode:
    """Every conversation on the one connection to a Redis that is not a cluster."""

    commands = CLASSIC

    def __init__(self, client: redis.Redis):
        self._client = client

    def shard_of(self, conversation: str) -> str:
        return SINGLE_NODE

    def open(self, shard: str) -> PubSub:
        return self._client.pubsub()

    def refresh(self) -> None:
        """Nothing to learn: redis-py reconnects the connection, and subscribes it again, by itself."""


class ClusterShards:
    """A conversation on the connection to the primary that owns its channel's slot."""

    commands = SHARDED

    def __init__(self, cluster: redis.RedisCluster, settings: RedisSettings):
        self._cluster = cluster
        self._settings = settings

    def shard_of(self, conversation: str) -> str:
        return self._cluster.get_node_from_key(channel_name(conversation)).name

    def open(self, shard: str) -> PubSub:
        host, _, port = shard.rpartition(":")
        return connect_node(self._settings, host, int(port), pubsub=True).pubsub()

    def refresh(self) -> None:
        self._cluster.nodes_manager.initialize()


Router = SingleNode | ClusterShards


class SubscriptionListener:
    def __init__(self, router: Router, is_watched: Callable[[str], bool],
                 on_message: Callable[[str, str], None], on_resubscribed: Callable[[str], None],
                 spawn: Callable[..., object], sleep: Callable[[float], None], wait_readable: WaitReadable,
                 read_within: ReadWithin = lambda seconds: nullcontext(), tick: float = 1.0):
        self._router = router
        self.is_watched = is_watched
        self.on_message = on_message
        self._on_resubscribed = on_resubscribed
        self._spawn = spawn
        self.sleep = sleep
        self.wait_readable = wait_readable
        self.read_within = read_within
        self.tick = tick
        self._confirmed: dict[str, threading.Event] = {}  # conversation -> set once Redis confirmed it
        self._routes: dict[str, Shard] = {}  # conversation -> the connection it is on
        self._shards: dict[str, Shard] = {}

    def want(self, conversation: str) -> None:
        """Subscribe to ``conversation`` (a no-op when it already is, or is about to be)."""
        self._confirmed.setdefault(conversation, threading.Event())
        shard = self._routes.get(conversation) or self._route(conversation)
        shard.want(conversation)

    def release(self, conversation: str) -> None:
        """Unsubscribe on the connection's next turn, unless a viewer is back by then."""
        shard = self._routes.get(conversation)
        if shard is not None:
            shard.release(conversation)

    def wait_confirmed(self, conversation: str, timeout: float) -> bool:
        confirmed = self._confirmed.get(conversation)
        return confirmed is not None and confirmed.wait(timeout)

    def subscribed(self) -> int:
        return len(self._confirmed)

    def check_health(self) -> None:
        """For readiness: raise if a connection has not turned for a while."""
        for shard in self._shards.values():
            shard.check_health()

    def stop(self) -> None:
        for shard in list(self._shards.values()):
            shard.stop()

    # -- what the connections report ------------------------------------------------------

    def confirmed(self, conversation: str) -> None:
        confirmed = self._confirmed.get(conversation)
        if confirmed is None:
            return
        if confirmed.is_set():
            log.info("subscribed again (a reconnect or a new owner); catching viewers up",
                     extra={"conversation": conversation})
            self._on_resubscribed(conversation)
        else:
            confirmed.set()

    def released(self, conversation: str) -> None:
        self._confirmed.pop(conversation, None)
        self._routes.pop(conversation, None)

    def is_routed_to(self, conversation: str, shard: Shard) -> bool:
        return self._routes.get(conversation) is shard

    def reroute(self, shard: Shard, conversations: list[str]) -> None:
        """``shard`` lost its connection, or its server unsubscribed ``conversations`` (their slot moved):
        learn the topology again and move each to the connection of its owner now."""
        try:
            self._router.refresh()
        except redis.RedisError as error:  # the cluster is still electing: the shard retries, and so do we
            log.warning("cannot read the Redis topology yet", extra={"error": type(error).__name__})
            return
        for conversation in conversations:
            if self._routes.get(conversation) is not shard:
                continue
            target = self._shard(self._router.shard_of(conversation))
            if target is not shard:
                shard.forget(conversation)
                self._routes[conversation] = target
                target.want(conversation)
        if not shard.conversations:
            self._shards.pop(shard.name, None)
            shard.stop()

    def _route(self, conversation: str) -> Shard:
        shard = self._routes[conversation] = self._shard(self._router.shard_of(conversation))
        return shard

    def _shard(self, name: str) -> Shard:
        shard = self._shards.get(name)
        if shard is None:
            shard = self._shards[name] = Shard(name, self._router.open(name), self._router.commands, self)
            self._spawn(shard.run)
        return shard


class Shard:
    """One Pub/Sub connection and the conversations routed to it, subscribed and read on its own loop."""

    def __init__(self, name: str, pubsub: PubSub, commands: PubSubCommands, listener: SubscriptionListener):
        self.name = name
        self.conversations: set[str] = set()  # routed here and subscribed, or about to be
        self._pubsub = pubsub
        self._wake_up, self._woken = socket.socketpair()
        self._wake_up.setblocking(False)
        self._woken.setblocking(False)
        self._reader = PubSubReader(pubsub, listener.wait_readable, self._woken, listener.read_within)
        self._commands = commands
        self._listener = listener
        self._to_subscribe: set[str] = set()
        self._to_release: set[str] = set()
        self._strays: set[str] = set()  # channels subscribed here that no conversation here wants
        self._running = True
        self._last_turn = time.monotonic()
        self._backoff = Backoff()

    def want(self, conversation: str) -> None:
        self._to_release.discard(conversation)
        if conversation not in self.conversations:
            self.conversations.add(conversation)
            self._to_subscribe.add(conversation)
            self._wake()

    def release(self, conversation: str) -> None:
        self._to_release.add(conversation)
        self._wake()

    def _wake(self) -> None:
        """End the loop's wait for messages: there is a subscription to send."""
        try:
            self._wake_up.send(b"!")
        except BlockingIOError:
            pass  # woken already
    def forget(self, conversation: str) -> None:
        """The conversation moved to another connection; what this one still receives of it is a stray."""
        self.conversations.discard(conversation)
        self._to_subscribe.discard(conversation)
        self._to_release.discard(conversation)
        self._strays.add(channel_name(conversation))

    def check_health(self) -> None:
        if self._running and time.monotonic() - self._last_turn > STALE_AFTER_SECONDS:
            raise ListenerUnhealthy(f"the Redis Pub/Sub connection to {self.name} is stuck")

    def stop(self) -> None:
        self._running = False

    def run(self) -> None:
        while self._running:
            self.turn()
        self._pubsub.reset()
        self._wake_up.close()
        self._woken.close()

    def turn(self) -> None:
        """One turn of the loop: subscription changes sent, then what has arrived handled; a lost
        connection (or any surprise) waits a backoff, and the next turn reconnects."""
        self._last_turn = time.monotonic()
        try:
            self._apply_changes()
            self._read()
            self._backoff.reset()
        except redis.RedisError as error:
            log.warning("Redis Pub/Sub connection lost; reconnecting",
                        extra={"shard": self.name, "error": type(error).__name__})
            self._listener.reroute(self, list(self.conversations))
            self._listener.sleep(self._backoff.next_delay())
        except Exception:  # never let one bad turn stop delivery for every conversation
            log.exception("Redis Pub/Sub listener error; starting over on a fresh connection")
            self._pubsub.reset()
            self._to_subscribe.update(self.conversations)
            self._listener.sleep(self._backoff.next_delay())

    def _read(self) -> None:
        message = self._reader.next_message(self._listener.tick)
        while message is not None:  # drain what is buffered before looking at joins again
            self._handle(message)
            message = self._reader.next_message(0) if self._reader.buffered() else None

    def _apply_changes(self) -> None:
        """Send the SUBSCRIBE/UNSUBSCRIBE that joins and leaves asked for; keep what fails for the next turn."""
        released = [c for c in self._to_release if c in self.conversations and not self._listener.is_watched(c)]
        self._to_release.clear()
        for conversation in released:
            self.conversations.discard(conversation)
            self._listener.released(conversation)
        unwanted = {channel_name(c) for c in released} | {
            channel for channel in self._strays if conversation_of_channel(channel) not in self.conversations}
        self._strays.clear()
        wanted = [c for c in self._to_subscribe if c in self.conversations]
        self._to_subscribe.clear()
        try:
            if unwanted:
                getattr(self._pubsub, self._commands.unsubscribe)(*unwanted)
            if wanted:
                getattr(self._pubsub, self._commands.subscribe)(*map(channel_name, wanted))
        except BaseException:
            self._strays.update(unwanted)
            self._to_subscribe.update(c for c in wanted if c in self.conversations)
            raise

    def _handle(self, message: dict) -> None:
        kind, conversation = message["type"], conversation_of_channel(message["channel"])
        if conversation not in self.conversations or not self._listener.is_routed_to(conversation, self):
            if kind in (self._commands.subscribe, self._commands.message):
                # Nobody here wants it: an UNSUBSCRIBE lost to an outage was resubscribed on reconnect,
                # or the conversation moved to another connection.
                self._strays.add(message["channel"])
            return
        if kind == self._commands.message:
            self._listener.on_message(conversation, message["data"])
        elif kind == self._commands.subscribe:
            self._listener.confirmed(conversation)
        elif kind == self._commands.unsubscribe:
            # Not asked for (a released conversation has left ``conversations``): its slot moved away.
            self._listener.reroute(self, [conversation])
