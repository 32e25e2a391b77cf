"""Reading configuration from environment variables, with errors that name the variable."""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass


# prometheus-client's own variable: set, every process writes its metrics to files in that directory.
PROMETHEUS_MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class ConfigError(RuntimeError):
    """The environment does not describe a service that can start."""


class Env:
    """Typed, validated access to a mapping of environment variables."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ

    def str(self, name: str, default: str = "") -> str:
        return self._environ.get(name, default).strip()

    def required(self, name: str, why: str) -> str:
        value = self.str(name)
        if not value:
            raise ConfigError(f"{name} must be set: {why}")
        return value

    def int(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self.str(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value

    def float(self, name: str, default: float, minimum: float = 0.0) -> float:
        raw = self.str(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.str(name).lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def list(self, name: str) -> list[str]:
        return [item.strip() for item in self.str(name).split(",") if item.strip()]


@dataclass(frozen=True)
class RedisSettings:
    """How to reach Redis (Memorystore in production): the tutorial's REDISHOST/REDISPORT plus AUTH and TLS."""

    host: str = "localhost"
    port: int = 6379
    password: str | None = None
    tls: bool = False
    tls_ca_cert: str | None = None
    tls_check_hostname: bool = True
    timeout_seconds: float = 2.0
    max_connections: int = 64
    cluster: bool = False
    iam_auth: bool = False
    wait_replicas: int = 0
    wait_timeout_ms: int = 500

    @classmethod
    def from_env(cls, env: Env) -> "RedisSettings":
        ca_cert = env.str("REDIS_TLS_CA_CERT") or None
        if ca_cert and not os.path.isfile(ca_cert):
            raise ConfigError(f"REDIS_TLS_CA_CERT names {ca_cert!r}, which is not a file")
        host = env.str("REDISHOST", "localhost")
        return cls(
            host=host,
            port=env.int("REDISPORT", 6379, minimum=1),
            password=env.str("REDIS_PASSWORD") or None,
            tls=env.bool("REDIS_TLS", default=bool(ca_cert)),
            tls_ca_cert=ca_cert,
            # Memorystore is reached by IP and its certificate names that IP only in its CN, which
            # Python's hostname check ignores; the chain is still verified against the CA.
            tls_check_hostname=env.bool("REDIS_TLS_CHECK_HOSTNAME", default=not _is_ip_address(host)),
            timeout_seconds=env.float("REDIS_TIMEOUT_SECONDS", 2.0, minimum=0.1),
            max_connections=env.int("REDIS_MAX_CONNECTIONS", 64, minimum=4),
            cluster=env.bool("REDIS_CLUSTER"),
            iam_auth=_redis_auth(env) == "iam",
            wait_replicas=env.int("REDIS_WAIT_REPLICAS", 0),
            wait_timeout_ms=env.int("REDIS_WAIT_TIMEOUT_MS", 500, minimum=1),
        )


def _redis_auth(env: Env) -> str:
    """``password`` (REDIS_PASSWORD, Memorystore for Redis' AUTH string) or ``iam`` (Memorystore for Redis
    Cluster, which takes an OAuth access token of the service's own account instead)."""
    value = env.str("REDIS_AUTH", "password").lower()
    if value not in ("password", "iam"):
        raise ConfigError(f"REDIS_AUTH must be password or iam, got {value!r}")
    if value == "iam" and env.str("REDIS_PASSWORD"):
        raise ConfigError("REDIS_AUTH=iam authenticates with an access token: REDIS_PASSWORD must not be set too")
    return value


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RetentionSettings:
    """How long Redis keeps a conversation's events (for late joiners and resumes) and message ids."""

    seconds: int = 86400
    max_events_per_conversation: int = 10000

    @classmethod
    def from_env(cls, env: Env) -> "RetentionSettings":
        return cls(
            seconds=env.int("EVENT_RETENTION_SECONDS", 86400, minimum=60),
            max_events_per_conversation=env.int("EVENT_STREAM_MAXLEN", 10000, minimum=100),
        )
