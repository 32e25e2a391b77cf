"""Reading a Redis Pub/Sub connection's messages under gevent at a cost per burst, not per message.

redis-py's ``PubSub.get_message(timeout)`` checks readiness with ``poll()`` before every message
(twice: for data, and for a closed socket); under gevent ``poll`` is emulated, and those checks
were the largest part of the UI connector's CPU per delivered event (with 1,000 messages a second
on these machines: ~290 µs per message, against ~125 µs reading this way). ``next_message`` waits
for the socket with gevent (once per burst), then reads whole messages while redis-py's hiredis
parser holds more of them, buffered.

A read that blocks must never sit on an idle connection, so this needs a Pub/Sub client without
redis-py's own retries (``connect_redis(..., pubsub=True)``): a lost connection surfaces as an
error, and the next read reconnects (redis-py then subscribes again) within a tick.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from redis._parsers import _HiredisParser
from redis.client import PubSub

WaitReadable = Callable[[list, float], list]  # (sockets, timeout) -> those readable before the timeout
ReadWithin = Callable[[float], AbstractContextManager]  # ends the block quietly after so many seconds
_RECONNECT_WAIT_SECONDS = 0.05


class PubSubReader:
    """``wake`` is a socket that becomes readable when the reader's owner has something else to do
    (a subscription to send): a wait for messages ends then too, so it can be long."""

    def __init__(self, pubsub: PubSub, wait_readable: WaitReadable, wake: socket.socket,
                 read_within: ReadWithin = lambda seconds: nullcontext()):
        self._pubsub = pubsub
        self._wait_readable = wait_readable
        self._wake = wake
        self._read_within = read_within

    def next_message(self, timeout: float) -> dict | None:
        """The next message (subscription confirmations included), waiting at most ``timeout``."""
        sock = self._socket()
        if sock is None:  # not connected (yet, or any more): redis-py connects and subscribes again
            return self._pubsub.get_message(timeout=min(timeout, _RECONNECT_WAIT_SECONDS))
        if self.buffered() or _tls_pending(sock):
            return self._pubsub.get_message(timeout=None)
        if not self._pubsub.subscribed:
            # Nothing to wait for but a subscription of ours (get_message(timeout=None) would wait for
            # one forever): only the wake-up can end this wait early.
            self._woken(self._wait_readable([self._wake], timeout))
            return None
        ready = self._wait_readable([sock, self._wake], timeout)
        self._woken(ready)
        if sock not in ready:
            return None
        # Data is there, so this read does not wait; but gevent's select may report a socket ready that
        # is not (its own source says so, and a thousand joins at once showed it): then the read is cut
        # short, between two reads of the socket, which leaves redis-py's parser as it was.
        message = None
        with self._read_within(max(timeout, _RECONNECT_WAIT_SECONDS)):
            message = self._pubsub.get_message(timeout=None)
        return message

    def buffered(self) -> bool:
        """True when another whole message is already read from the socket, waiting in the parser."""
        connection = self._pubsub.connection
        parser = getattr(connection, "_parser", None)
        return isinstance(parser, _HiredisParser) and bool(parser._reader) and parser._reader.has_data()

    def _woken(self, ready: list) -> None:
        if self._wake in ready:
            try:
                self._wake.recv(4096)
            except BlockingIOError:
                pass

    def _socket(self):
        connection = self._pubsub.connection
        if connection is None or not isinstance(connection._parser, _HiredisParser):
            return None  # without hiredis, buffered messages cannot be seen: redis-py's own reads then
        return connection._sock


def _tls_pending(sock) -> bool:
    """Decrypted bytes TLS holds above the socket, which readiness of the socket does not show."""
    pending = getattr(sock, "pending", None)
    return bool(pending and pending())


def read_within_with_gevent(seconds: float) -> AbstractContextManager:
    import gevent

    return gevent.Timeout(seconds, False)  # False: leave the block quietly, raising nothing


def wait_readable_with_gevent(sockets: list, timeout: float) -> list:
    from gevent import select

    try:
        return select.select(sockets, [], [], timeout)[0]
    except (OSError, ValueError):
        return list(sockets)  # a closed socket: the read that follows reports it
