"""The whole product on one machine, with no Google Cloud account: what `make dev` runs and what the
end-to-end and browser tests drive."""
from __future__ import annotations

import secrets
from pathlib import Path

from devstack.processes import INTERCEPTOR_COMMAND, REPO_ROOT, UI_CONNECTOR_COMMAND, RedisServer, Service

LOCAL_PROJECT = "aa-local"


def service_env(redis_port: int, jwt_secret_path: Path | str, project: str) -> dict[str, str]:
    """What both services need locally: a private Redis, a JWT key file, and open registration."""
    return {
        "REDISHOST": "127.0.0.1",
        "REDISPORT": str(redis_port),
        "GCP_PROJECT_ID": project,
        "JWT_SECRET_KEY_PATH": str(jwt_secret_path),
        # No identity provider locally: any desktop may register. Never in production.
        "AUTH_OPTION": "Skip",
        "ALLOW_INSECURE_AUTH_SKIP": "true",
    }


class LocalStack:
    def __init__(self, state_dir: Path | str = REPO_ROOT / ".devstack", project: str = LOCAL_PROJECT):
        self.state_dir = Path(state_dir)
        self.project = project
        self.redis: RedisServer | None = None
        self.services: dict[str, Service] = {}

    def start(self) -> "LocalStack":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.redis = RedisServer().start()
            env = self._service_env()
            self._start("interceptor", INTERCEPTOR_COMMAND, env)
            self._start("ui-connector", UI_CONNECTOR_COMMAND, env)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
        if self.redis:
            self.redis.remove()
            self.redis = None

    def url(self, name: str) -> str:
        return self.services[name].url

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> Service:
        self.services[name] = Service(name, command, env, self.state_dir).start()
        return self.services[name]

    def _service_env(self) -> dict[str, str]:
        secret = self.state_dir / "jwt_secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(48))
            secret.chmod(0o600)
        return service_env(self.redis.port, secret, self.project)
