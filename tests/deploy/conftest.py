"""Fixtures of the deploy tests: deploy/ run against a recording `gcloud` stand-in."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.fake_gcloud import split_call, split_env_vars

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
DEPLOY = DEPLOY_DIR / "deploy.sh"
TEARDOWN = DEPLOY_DIR / "teardown.sh"
FAKE_GCLOUD = Path(__file__).with_name("fake_gcloud.py")

PROJECT = "aa-deploy-test"
# Not the defaults, so that the tests see the configuration flow through to the commands.
CONFIG = {
    "GCP_PROJECT_ID": PROJECT,
    "SERVICE_REGION": "europe-west1",
    "GUNICORN_WORKER_CONNECTIONS": "800",
    "LOGGING_FILE": "/tmp/interceptor.log",
    "AUTH_OPTION": "OIDC",
    "OIDC_ISSUER": "https://issuer.example.com",
    "OIDC_AUDIENCE": "agent-desktop",
    "CORS_ALLOWED_ORIGINS": "https://desk.example.com,https://supervisor.example.com",
}


@dataclass
class Call:
    argv: list[str]
    command: tuple[str, ...] = field(init=False)
    args: list[str] = field(init=False)
    flags: dict = field(init=False)

    def __post_init__(self):
        self.command, self.args, self.flags = split_call(self.argv)

    @property
    def path(self) -> str:
        return " ".join(self.command)

    def env_vars(self) -> dict[str, str]:
        return split_env_vars(self.flags.get("--set-env-vars", ""))


@dataclass
class Run:
    result: subprocess.CompletedProcess
    calls: list[Call]

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    def ok(self) -> "Run":
        assert self.result.returncode == 0, self.output
        return self

    def find(self, path: str, name: str | None = None) -> list[Call]:
        return [call for call in self.calls
                if call.path == path and (name is None or (call.args and call.args[0] == name))]

    def one(self, path: str, name: str | None = None) -> Call:
        found = self.find(path, name)
        assert len(found) == 1, f"expected one `gcloud {path} {name or ''}`, got {len(found)}:\n{self.output}"
        return found[0]


class FakeGcloud:
    """A temp directory with a `gcloud` on PATH that records into, and keeps its state in, it."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.state = root / "state"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        shim = self.bin / "gcloud"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{FAKE_GCLOUD}" "$@"\n')
        shim.chmod(0o755)

    def all_calls(self) -> list[Call]:
        log = self.state / "calls.jsonl"
        if not log.exists():
            return []
        return [Call(json.loads(line)["argv"]) for line in log.read_text().splitlines()]

    def stdin_records(self) -> list[dict]:
        log = self.state / "stdin.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def resources(self) -> dict:
        state = self.state / "state.json"
        return json.loads(state.read_text())["resources"] if state.exists() else {}

    def policies(self) -> dict:
        state = self.state / "state.json"
        return json.loads(state.read_text())["policies"] if state.exists() else {}

    def env(self, config: dict[str, str], env_file: Path | None) -> dict[str, str]:
        # A clean environment: nothing from the developer's shell (a GCP_PROJECT_ID, say) leaks in.
        return {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "FAKE_GCLOUD_DIR": str(self.state),
            "CLOUDSDK_CONFIG": str(self.root / "gcloud-config"),
            "DEPLOY_ENV_FILE": str(env_file or self.root / "no.env"),
            **config,
        }

    def run(self, script: Path, *args: str, config: dict[str, str] | None = None,
            env_file: Path | None = None, stdin=subprocess.DEVNULL) -> Run:
        before = len(self.all_calls())
        result = subprocess.run(
            ["bash", str(script), *args], cwd=REPO_ROOT, env=self.env(CONFIG if config is None else config, env_file),
            stdin=stdin, capture_output=True, text=True, timeout=120,
        )
        return Run(result, self.all_calls()[before:])


@pytest.fixture
def fake_gcloud(tmp_path) -> FakeGcloud:
    return FakeGcloud(tmp_path / "fake")


@dataclass
class Deployment:
    fake: FakeGcloud
    first: Run
    second: Run


@pytest.fixture(scope="session")
def deployment(tmp_path_factory) -> Deployment:
    """The whole deployment, run twice against one stand-in."""
    fake = FakeGcloud(tmp_path_factory.mktemp("deployment"))
    first = fake.run(DEPLOY).ok()
    second = fake.run(DEPLOY).ok()
    return Deployment(fake, first, second)


@dataclass
class Teardown:
    fake: FakeGcloud
    first: Run
    second: Run


@pytest.fixture(scope="session")
def teardown(tmp_path_factory) -> Teardown:
    """A deployment, then teardown.sh --yes twice."""
    fake = FakeGcloud(tmp_path_factory.mktemp("teardown"))
    fake.run(DEPLOY).ok()
    first = fake.run(TEARDOWN, "--yes").ok()
    second = fake.run(TEARDOWN, "--yes").ok()
    return Teardown(fake, first, second)


ADMIN = "ops-admin@example.com"


@pytest.fixture(scope="session")
def admin_runs(tmp_path_factory) -> tuple[Run, Run]:
    """The optional admin step with ADMIN_ACCOUNT set, twice."""
    fake = FakeGcloud(tmp_path_factory.mktemp("admin"))
    config = {**CONFIG, "ADMIN_ACCOUNT": ADMIN}
    return fake.run(DEPLOY, "admin", config=config).ok(), fake.run(DEPLOY, "admin", config=config).ok()
