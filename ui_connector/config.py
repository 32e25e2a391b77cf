"""The UI connector's configuration, read once from the environment and validated at start-up."""
from __future__ import annotations

from dataclasses import dataclass, field

from aa_common.config import ConfigError, Env, RedisSettings, RetentionSettings
from ui_connector.socket_guard import SocketLimits

AUTH_OPTIONS = ("", "Salesforce", "SalesforceLWC", "GenesysCloud", "Twilio", "OIDC", "Skip")
APP_AUTH_OPTIONS = ("", "Twilio")


@dataclass(frozen=True)
class AuthSettings:
    """Which identity provider vouches for a desktop at /register, and how to reach it."""

    option: str = ""
    app_option: str = ""
    allow_insecure_skip: bool = False
    salesforce_domain: str = "login.salesforce.com"
    salesforce_organization_id: str = ""
    genesys_cloud_environment: str = "mypurecloud.com"
    genesys_cloud_organization_id: str = ""
    twilio_flex_environment: str = ""
    twilio_account_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    timeout_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: Env) -> "AuthSettings":
        settings = cls(
            option=env.str("AUTH_OPTION"),
            app_option=env.str("APP_AUTH_OPTION"),
            allow_insecure_skip=env.bool("ALLOW_INSECURE_AUTH_SKIP"),
            salesforce_domain=env.str("SALESFORCE_DOMAIN", "login.salesforce.com"),
            salesforce_organization_id=env.str("SALESFORCE_ORGANIZATION_ID"),
            genesys_cloud_environment=env.str("GENESYS_CLOUD_ENVIRONMENT", "mypurecloud.com"),
            genesys_cloud_organization_id=env.str("GENESYS_CLOUD_ORGANIZATION_ID"),
            twilio_flex_environment=env.str("TWILIO_FLEX_ENVIRONMENT"),
            twilio_account_sid=env.str("TWILIO_ACCOUNT_SID"),
            twilio_api_base_url=env.str("TWILIO_API_BASE_URL", "https://api.twilio.com"),
            oidc_issuer=env.str("OIDC_ISSUER"),
            oidc_audience=env.str("OIDC_AUDIENCE"),
            oidc_jwks_url=env.str("OIDC_JWKS_URL"),
            timeout_seconds=env.float("AUTH_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.option not in AUTH_OPTIONS:
            raise ConfigError(f"AUTH_OPTION must be one of {', '.join(filter(None, AUTH_OPTIONS))} or empty, "
                              f"got {self.option!r}")
        if self.app_option not in APP_AUTH_OPTIONS:
            raise ConfigError(f"APP_AUTH_OPTION must be Twilio or empty, got {self.app_option!r}")
        if self.option == "Skip" and not self.allow_insecure_skip:
            raise ConfigError("AUTH_OPTION=Skip gives a token to anyone who asks; it is for local development "
                              "only and also needs ALLOW_INSECURE_AUTH_SKIP=true")
        needs = {
            "Salesforce": ("SALESFORCE_ORGANIZATION_ID", self.salesforce_organization_id),
            "SalesforceLWC": ("SALESFORCE_ORGANIZATION_ID", self.salesforce_organization_id),
            "GenesysCloud": ("GENESYS_CLOUD_ORGANIZATION_ID", self.genesys_cloud_organization_id),
            "Twilio": ("TWILIO_FLEX_ENVIRONMENT", self.twilio_flex_environment),
            "OIDC": ("OIDC_ISSUER and OIDC_AUDIENCE", self.oidc_issuer and self.oidc_audience),
        }
        if self.option in needs and not needs[self.option][1]:
            raise ConfigError(f"AUTH_OPTION={self.option} needs {needs[self.option][0]}")
        if self.app_option == "Twilio" and not self.twilio_account_sid:
            raise ConfigError("APP_AUTH_OPTION=Twilio needs TWILIO_ACCOUNT_SID")


@dataclass(frozen=True)
class TokenSettings:
    issuer: str = "aa-ui-connector"
    audience: str = "aa-agent-desktop"
    lifetime_minutes: int = 60


@dataclass(frozen=True)
class ConnectorConfig:
    project_id: str
    redis: RedisSettings
    retention: RetentionSettings
    auth: AuthSettings
    tokens: TokenSettings
    jwt_secret_key_path: str = "/secret/jwt_secret_key"
    jwt_secret_name: str = ""
    jwt_previous_secret_key_path: str = ""
    cors_allowed_origins: list[str] = field(default_factory=list)
    conversation_name_ttl_seconds: int = 86400
    conversation_name_lookups_per_minute: int = 60
    register_failures_per_minute: int = 10
    max_request_bytes: int = 1024 * 1024
    dialogflow_api_endpoint: str = ""
    dialogflow_timeout_seconds: float = 30.0
    dialogflow_auth: str = "google"
    desktop_conversation_profile: str = ""
    trusted_proxy_hops: int = 0
    socket_limits: SocketLimits = field(default_factory=SocketLimits)
    connection_max_age_seconds: int = 3300
    request_read_timeout_seconds: int = 10
    resume_cursor_ttl_seconds: int = 300

    @classmethod
    def from_env(cls, env: Env | None = None) -> "ConnectorConfig":
        env = env or Env()
        return cls(
            project_id=env.required("GCP_PROJECT_ID", "desktops may only join conversations of this project"),
            redis=RedisSettings.from_env(env),
            retention=RetentionSettings.from_env(env),
            auth=AuthSettings.from_env(env),
            tokens=TokenSettings(
                issuer=env.str("JWT_ISSUER", "aa-ui-connector"),
                audience=env.str("JWT_AUDIENCE", "aa-agent-desktop"),
                lifetime_minutes=env.int("JWT_LIFETIME_MINUTES", 60, minimum=1),
            ),
            jwt_secret_key_path=env.str("JWT_SECRET_KEY_PATH", "/secret/jwt_secret_key"),
            jwt_secret_name=env.str("JWT_SECRET_NAME"),
            jwt_previous_secret_key_path=env.str("JWT_PREVIOUS_SECRET_KEY_PATH"),
            cors_allowed_origins=env.list("CORS_ALLOWED_ORIGINS"),
            conversation_name_ttl_seconds=env.int("CONVERSATION_NAME_TTL_SECONDS", 86400, minimum=60),
            conversation_name_lookups_per_minute=env.int("CONVERSATION_NAME_LOOKUPS_PER_MINUTE", 60, minimum=1),
            register_failures_per_minute=env.int("REGISTER_FAILURES_PER_MINUTE", 10, minimum=1),
            max_request_bytes=env.int("MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024),
            dialogflow_api_endpoint=env.str("DIALOGFLOW_API_ENDPOINT").rstrip("/"),
            dialogflow_timeout_seconds=env.float("DIALOGFLOW_TIMEOUT_SECONDS", 30.0, minimum=0.1),
            dialogflow_auth=_dialogflow_auth(env),
            desktop_conversation_profile=env.str("DESKTOP_CONVERSATION_PROFILE"),
            trusted_proxy_hops=env.int("TRUSTED_PROXY_HOPS", 0),
            socket_limits=SocketLimits(
                max_sessions=env.int("SOCKET_MAX_CONNECTIONS", 1000, minimum=1),
                authenticate_within_seconds=env.float("SOCKET_AUTH_TIMEOUT_SECONDS", 5.0, minimum=0.5),
                events_per_second=env.float("SOCKET_EVENTS_PER_SECOND", 20.0, minimum=0.1),
                event_burst=env.int("SOCKET_EVENT_BURST", 100, minimum=1),
                ping_interval_seconds=env.int("SOCKET_PING_INTERVAL_SECONDS", 25, minimum=1),
                ping_timeout_seconds=env.int("SOCKET_PING_TIMEOUT_SECONDS", 20, minimum=1),
                max_backlog_bytes=env.int("SOCKET_MAX_BACKLOG_BYTES", 8 * 1024 * 1024, minimum=1024 * 1024),
            ),
            # Cloud Run ends every request (a WebSocket too) at 60 minutes: close first, so desktops reconnect.
            connection_max_age_seconds=env.int("CONNECTION_MAX_AGE_SECONDS", 3300, minimum=1),
            resume_cursor_ttl_seconds=env.int("RESUME_CURSOR_TTL_SECONDS", 300, minimum=10),
            request_read_timeout_seconds=env.int("REQUEST_READ_TIMEOUT_SECONDS", 10, minimum=1),
        )


def _dialogflow_auth(env: Env) -> str:
    """``google``: the service's own credentials (production). ``none``: for a local emulator only."""
    value = env.str("DIALOGFLOW_AUTH", "google")
    if value not in ("google", "none"):
        raise ConfigError(f"DIALOGFLOW_AUTH must be google or none, got {value!r}")
    if value == "none" and not env.str("DIALOGFLOW_API_ENDPOINT"):
        raise ConfigError("DIALOGFLOW_AUTH=none is only for an emulator named in DIALOGFLOW_API_ENDPOINT")
    return value
