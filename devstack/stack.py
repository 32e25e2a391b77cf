"""The whole product on one machine, with no Google Cloud account: what `make dev` runs and what the
end-to-end and browser tests drive.

Redis, the interceptor, the Dialogflow emulator and the UI connector (proxying to the emulator).
Notifications travel as in production, through the Pub/Sub emulator's push subscriptions, when
the Google Cloud CLI's emulator is installed; otherwise the Dialogflow emulator pushes them to the
interceptor directly, in the same envelope.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from devstack.processes import BIN, INTERCEPTOR_COMMAND, REPO_ROOT, UI_CONNECTOR_COMMAND, RedisServer, Service
from devstack.pubsub_emulator import PubSubEmulator, find_emulator, wire_interceptor

LOCAL_PROJECT = "aa-local"
DIALOGFLOW_EMULATOR_COMMAND = [str(BIN / "gunicorn"), "--config", "python:devstack.dialogflow_emulator.gunicorn_conf"]


def service_env(redis_port: int, jwt_secret_path: Path | str, project: str) -> dict[str, str]:
    """What both services need locally: a private Redis, a JWT key file, and open registration."""
    return {
        "REDISHOST": "127.0.0.1",
        "REDISPORT": str(redis_port),
        "GCP_PROJECT_ID": project,
        "HOST": "127.0.0.1",  # registration is open locally: nothing beyond this machine may reach it
        "TRUSTED_PROXY_HOPS": "0",  # no proxy in front: X-Forwarded-For is whatever a client wrote
        "JWT_SECRET_KEY_PATH": str(jwt_secret_path),
        # No identity provider locally: any desktop may register. Never in production.
        "AUTH_OPTION": "Skip",
        "ALLOW_INSECURE_AUTH_SKIP": "true",
    }


class LocalStack:
    """``use_pubsub_emulator``: None uses it where installed, True requires it, False never uses it."""

    def __init__(self, state_dir: Path | str = REPO_ROOT / ".devstack", project: str = LOCAL_PROJECT,
                 use_pubsub_emulator: bool | None = None):
        self.state_dir = Path(state_dir)
        self.project = project
        self.use_pubsub_emulator = find_emulator() is not None if use_pubsub_emulator is None else use_pubsub_emulator
        self.redis: RedisServer | None = None
        self.pubsub: PubSubEmulator | None = None
        self.services: dict[str, Service] = {}

    def start(self) -> "LocalStack":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.redis = RedisServer()  # recorded before it runs
            self.redis.start()
            env = service_env(self.redis.port, self._jwt_secret(), self.project)
            interceptor = self._start("interceptor", INTERCEPTOR_COMMAND, env)
            self._start("dialogflow-emulator", DIALOGFLOW_EMULATOR_COMMAND, self._notification_route(interceptor))
            self._start("ui-connector", UI_CONNECTOR_COMMAND, {
                **env, "DIALOGFLOW_API_ENDPOINT": self.url("dialogflow-emulator"), "DIALOGFLOW_AUTH": "none"})
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
        if self.pubsub:
            self.pubsub.stop()
            self.pubsub = None
        if self.redis:
            self.redis.remove()
            self.redis = None

    def url(self, name: str) -> str:
        return self.services[name].url

    @property
    def notification_path(self) -> str:
        if self.pubsub:
            return f"Pub/Sub emulator {self.pubsub.host_port}, push subscriptions to the interceptor"
        return "direct push from the Dialogflow emulator to the interceptor (no Pub/Sub emulator installed)"

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> Service:
        service = self.services[name] = Service(name, command, env, self.state_dir)  # recorded before it runs
        return service.start()

    def _notification_route(self, interceptor: Service) -> dict[str, str]:
        """Where the Dialogflow emulator sends notifications."""
        if not self.use_pubsub_emulator:
            return {"INTERCEPTOR_URL": interceptor.url}
        self.pubsub = PubSubEmulator(log_path=self.state_dir / "pubsub-emulator.log")  # recorded before it runs
        self.pubsub.start()
        wire_interceptor(self.pubsub.admin(), self.project, interceptor.url)
        return {"PUBSUB_EMULATOR_HOST": self.pubsub.host_port, "PUBSUB_PROJECT_ID": self.project}

    def _jwt_secret(self) -> Path:
        secret = self.state_dir / "jwt_secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(48))
            secret.chmod(0o600)
        return secret
