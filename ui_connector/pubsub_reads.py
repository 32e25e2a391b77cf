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

from collections.abc import Callable

from redis._parsers import _HiredisParser
from redis.client import PubSub

WaitReadable = Callable[[object, float], bool]  # (socket, timeout) -> readable before the timeout


class PubSubReader:
    def __init__(self, pubsub: PubSub, wait_readable: WaitReadable):
        self._pubsub = pubsub
        self._wait_readable = wait_readable

    def next_message(self, timeout: float) -> dict | None:
        """The next message (subscription confirmations included), waiting at most ``timeout``."""
        sock = self._socket()
        if sock is None or not self._pubsub.subscribed:
            # Not connected (redis-py connects and resubscribes), or subscribed to nothing: then
            # get_message(timeout=None) would wait for a subscription forever, and only we subscribe.
            return self._pubsub.get_message(timeout=timeout)
        if not (self.buffered() or _tls_pending(sock) or self._wait_readable(sock, timeout)):
            return None
        return self._pubsub.get_message(timeout=None)  # data is there: this read does not wait for more

    def buffered(self) -> bool:
        """True when another whole message is already read from the socket, waiting in the parser."""
        connection = self._pubsub.connection
        parser = getattr(connection, "_parser", None)
        return isinstance(parser, _HiredisParser) and bool(parser._reader) and parser._reader.has_data()

    def _socket(self):
        connection = self._pubsub.connection
        if connection is None or not isinstance(connection._parser, _HiredisParser):
            return None  # without hiredis, buffered messages cannot be seen: redis-py's own reads then
        return connection._sock


def _tls_pending(sock) -> bool:
    """Decrypted bytes TLS holds above the socket, which readiness of the socket does not show."""
    pending = getattr(sock, "pending", None)
    return bool(pending and pending())


def wait_readable_with_gevent(sock, timeout: float) -> bool:
    from gevent.socket import wait_read

    try:
        wait_read(sock.fileno(), timeout=timeout)
    except TimeoutError:
        return False
    except (OSError, ValueError):
        return True  # a closed socket: the read that follows reports it
    return True
