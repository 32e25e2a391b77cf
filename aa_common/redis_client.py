"""The one way both services open Redis: bounded timeouts, AUTH and TLS for Memorystore."""
from __future__ import annotations

import datetime
import socket
import threading

import redis
from redis.backoff import ExponentialBackoff
from redis.credentials import CredentialProvider
from redis.retry import Retry

from aa_common.config import RedisSettings


# Notice a silently dropped connection (the Pub/Sub listener's above all) in about a minute,
# not after the kernel's default two hours.
_KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


Client = redis.Redis | redis.RedisCluster


def connect_redis(settings: RedisSettings, *, pubsub: bool = False) -> Client:
    """Return a client whose every call fails fast (one quick retry) rather than hangs: a
    ``RedisCluster`` with ``REDIS_CLUSTER``, else a ``Redis``.

    ``pubsub`` is for the Pub/Sub listener: its reads wait for the next message, and it reconnects
    by itself (redis-py must not retry a read for it, see ``ui_connector.pubsub_reads``). When
    every pooled connection is busy (a burst of joins after a restart: a thousand greenlets at
    once), a call waits up to the timeout for one rather than failing at once, as redis-py's
    default pool does.
    """
    if settings.cluster:
        # RedisCluster makes each node's pool itself, and passes pool settings to clients that take none:
        # its pools grow as needed instead (one connection per concurrent call, a thousand at most).
        options = connection_options(settings, pubsub, cluster=True)
        del options["max_connections"], options["timeout"]
        return redis.RedisCluster(host=settings.host, port=settings.port, require_full_coverage=False, **options)
    return connect_node(settings, settings.host, settings.port, pubsub=pubsub)


def connect_node(settings: RedisSettings, host: str, port: int, *, pubsub: bool = False) -> redis.Redis:
    """A client of one node of a cluster (its sharded Pub/Sub connections), with the cluster's settings."""
    return redis.Redis(connection_pool=redis.BlockingConnectionPool(host=host, port=port,
                                                                   **connection_options(settings, pubsub)))


def connection_options(settings: RedisSettings, pubsub: bool, cluster: bool = False) -> dict:
    """Connection settings for a pool (or, ``cluster``, for RedisCluster, which makes the pools itself)."""
    tls = {"ssl_ca_certs": settings.tls_ca_cert, "ssl_check_hostname": settings.tls_check_hostname,
           **({"ssl": True} if cluster else {"connection_class": redis.SSLConnection})}
    return {
        **({"credential_provider": IamTokenCredentials()} if settings.iam_auth else {"password": settings.password}),
        **(tls if settings.tls else {}),
        "max_connections": settings.max_connections,
        "timeout": settings.timeout_seconds,  # to wait for a free pooled connection
        "socket_connect_timeout": settings.timeout_seconds,
        "socket_timeout": None if pubsub else settings.timeout_seconds,
        "socket_keepalive": True,
        "socket_keepalive_options": _KEEPALIVE,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 0 if pubsub else 1),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "decode_responses": True,
        # RESP2: the services use nothing of RESP3, and redis-py parses a Pub/Sub message in RESP3
        # at ~2.5x the CPU (~42 against ~17 µs here; ~13 with hiredis, which is installed).
        "protocol": 2,
    }


class IamTokenCredentials(CredentialProvider):
    """Memorystore for Redis Cluster's IAM authentication: the service account's OAuth access token
    as the password of user ``default``, fetched again shortly before it expires (each new connection
    authenticates with a valid one)."""

    _REFRESH_BEFORE = datetime.timedelta(minutes=5)

    def __init__(self) -> None:
        self._credentials = None
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            if self._credentials is None:
                import google.auth

                self._credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            expiry = self._credentials.expiry
            if not self._credentials.token or expiry is None or (
                    expiry - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) < self._REFRESH_BEFORE):
                from google.auth.transport.requests import Request

                self._credentials.refresh(Request())
            return "default", self._credentials.token


Command = tuple  # ("EVALSHA", sha, 2, key, ...): a command and its arguments


class DedicatedConnection:
    """One Redis connection of its own, for a hot path that makes one call at a time (the interceptor's
    event loop stores every push through it).

    redis-py's client-level command path (connection pool, retry wrapper, and redis-py 8's metrics
    hooks, which run even when disabled) costs about twice the CPU of the round trip itself: ~160 µs
    against ~70 µs per store-and-publish on these machines. This calls the connection directly, with
    the same settings (AUTH, TLS, timeouts) and the same single retry on a connection error.
    """

    def __init__(self, client: redis.Redis):
        self._connection = client.connection_pool.make_connection()
        self._lock = threading.Lock()  # one call at a time, should a second thread ever call

    def run(self, routing_key: str, commands: list[Command]) -> list:
        """Send ``commands`` in one write and read their answers in one round trip; an error answer is
        returned in its place, not raised. (``routing_key`` is for a cluster's calls: one node has all.)"""
        with self._lock:
            try:
                return self._round_trip(commands)
            except (redis.ConnectionError, redis.TimeoutError):
                return self._round_trip(commands)  # once more, on a fresh connection

    def _round_trip(self, commands: list[Command]) -> list:
        connection = self._connection
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            return [_answer(connection) for _ in commands]
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()
            raise


def _answer(connection) -> object:
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return error


class ClusterNodeCalls:
    """The same, in a cluster: ``commands`` go, in one round trip, to the primary that owns ``routing_key``
    (a conversation's keys share its slot). A topology that changed under them (MOVED, a primary gone)
    is read again and the call made once more; then the error is the caller's (a 503)."""

    def __init__(self, cluster: redis.RedisCluster):
        self._cluster = cluster

    _TOPOLOGY_CHANGED = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.MovedError,
                         redis.exceptions.AskError, redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError)

    def run(self, routing_key: str, commands: list[Command]) -> list:
        try:
            return self._on_owner(routing_key, commands)
        except self._TOPOLOGY_CHANGED:
            self._cluster.nodes_manager.initialize()
            return self._on_owner(routing_key, commands)

    def _on_owner(self, routing_key: str, commands: list[Command]) -> list:
        node = self._cluster.get_node_from_key(routing_key)
        pipeline = self._cluster.get_redis_connection(node).pipeline(transaction=False)
        for command in commands:
            pipeline.execute_command(*command)
        answers = pipeline.execute(raise_on_error=False)
        moved = next((answer for answer in answers if isinstance(answer, self._TOPOLOGY_CHANGED)), None)
        if moved is not None:
            raise moved  # the slot is elsewhere now (or moving): read the topology again
        return answers
