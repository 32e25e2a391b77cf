"""Session fixtures: a private redis-server and both services under their production command lines."""
from __future__ import annotations

import secrets

import pytest
import redis

from devstack.processes import INTERCEPTOR_COMMAND, UI_CONNECTOR_COMMAND, RedisServer, Service
from devstack.stack import service_env
from tests.support import PROJECT


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer(persistent=True).start()
    yield server
    server.remove()


@pytest.fixture
def redis_client(redis_server):
    return redis.Redis(port=redis_server.port, decode_responses=True)


@pytest.fixture(scope="session")
def jwt_secret_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secret") / "jwt_secret_key"
    path.write_text(secrets.token_urlsafe(48) + "\n")
    return path


class Stack:
    """Services started for a test module; stopped (and their logs shown on failure) at the end."""

    def __init__(self, redis_port: int, jwt_secret_file, log_dir, **extra_env: str):
        self.env = {**service_env(redis_port, jwt_secret_file, PROJECT), **extra_env}
        self.log_dir = log_dir
        self.services: list[Service] = []

    def start(self, name: str, command: list[str], port: int | None = None, **extra_env: str) -> Service:
        service = Service(name, command, {**self.env, **extra_env}, self.log_dir, port=port).start()
        self.services.append(service)
        return service

    def interceptor(self, **extra_env: str) -> Service:
        return self.start(f"interceptor-{len(self.services)}", INTERCEPTOR_COMMAND, **extra_env)

    def ui_connector(self, port: int | None = None, **extra_env: str) -> Service:
        """A UI connector; ``port`` to take the place of one that stopped, as a replacement instance would."""
        return self.start(f"ui-connector-{len(self.services)}", UI_CONNECTOR_COMMAND, port=port, **extra_env)

    def stop(self) -> None:
        for service in self.services:
            service.stop()


@pytest.fixture(scope="session")
def stack(redis_server, jwt_secret_file, tmp_path_factory):
    stack = Stack(redis_server.port, jwt_secret_file, tmp_path_factory.mktemp("logs"))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def interceptor(stack):
    return stack.interceptor()


@pytest.fixture(scope="session")
def connector(stack):
    return stack.ui_connector()


@pytest.fixture(scope="module")
def module_stack(jwt_secret_file, tmp_path_factory):
    """A Redis of the test module's own, and a Stack on it to start services with: for tests that stop
    Redis or churn it, or leave state there (rate-limit counts, say) that other modules must not meet."""
    server = RedisServer(persistent=True).start()
    stack = Stack(server.port, jwt_secret_file, tmp_path_factory.mktemp("isolated-logs"))
    yield server, stack
    stack.stop()
    server.remove()


@pytest.fixture(scope="module")
def isolated_stack(module_stack):
    """A Redis and services of the test module's own, for tests that stop Redis or churn it."""
    server, stack = module_stack
    return server, stack.interceptor(), stack.ui_connector()
