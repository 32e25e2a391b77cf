"""The one way both services open Redis: bounded timeouts, AUTH and TLS for Memorystore."""
from __future__ import annotations

import socket

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from aa_common.config import RedisSettings


# Notice a silently dropped connection (the Pub/Sub listener's above all) in about a minute,
# not after the kernel's default two hours.
_KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


def connect_redis(settings: RedisSettings, *, blocking_reads: bool = False) -> redis.Redis:
    """Return a client whose every call fails fast (one quick retry) rather than hangs.

    ``blocking_reads`` is for the Pub/Sub listener, whose reads wait for the next message.
    """
    return redis.Redis(
        host=settings.host,
        port=settings.port,
        password=settings.password,
        ssl=settings.tls,
        ssl_ca_certs=settings.tls_ca_cert,
        ssl_check_hostname=settings.tls_check_hostname,
        max_connections=settings.max_connections,
        socket_connect_timeout=settings.timeout_seconds,
        socket_timeout=None if blocking_reads else settings.timeout_seconds,
        socket_keepalive=True,
        socket_keepalive_options=_KEEPALIVE,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        decode_responses=True,
    )
