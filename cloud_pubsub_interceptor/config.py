"""The interceptor's configuration, read once from the environment at start-up."""
from __future__ import annotations

from dataclasses import dataclass

from aa_common.config import ConfigError, Env, RedisSettings, RetentionSettings

GOOGLE_OIDC_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"


@dataclass(frozen=True)
class PushAuthSettings:
    """Verification of Pub/Sub's OIDC token, for deployments that Cloud Run IAM does not already guard."""

    audience: str
    service_account: str | None
    certs_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.audience)


@dataclass(frozen=True)
class InterceptorConfig:
    redis: RedisSettings
    retention: RetentionSettings
    push_auth: PushAuthSettings
    max_request_bytes: int
    project_id: str

    @classmethod
    def from_env(cls, env: Env | None = None) -> "InterceptorConfig":
        env = env or Env()
        if env.str("PUSH_SERVICE_ACCOUNT") and not env.str("PUSH_AUDIENCE"):
            raise ConfigError("PUSH_SERVICE_ACCOUNT is set but PUSH_AUDIENCE is not: push tokens would not be "
                              "checked at all; set PUSH_AUDIENCE (the push endpoint URL by default)")
        return cls(
            redis=RedisSettings.from_env(env),
            retention=RetentionSettings.from_env(env),
            push_auth=PushAuthSettings(
                audience=env.str("PUSH_AUDIENCE"),
                service_account=env.str("PUSH_SERVICE_ACCOUNT") or None,
                certs_url=env.str("PUSH_AUTH_CERTS_URL", GOOGLE_OIDC_CERTS_URL),
            ),
            max_request_bytes=env.int("MAX_REQUEST_BYTES", 4 * 1024 * 1024, minimum=1024),
            project_id=env.str("GCP_PROJECT_ID"),
        )
