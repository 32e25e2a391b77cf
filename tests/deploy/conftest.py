"""Fixtures of the deploy tests: deploy/ run against a recording `gcloud` stand-in."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aa_common.events import EventKind
from tests.deploy.fake_gcloud import split_call, split_containers, split_env_vars

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
    "SOCKET_MAX_CONNECTIONS": "800",
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

    def containers(self) -> dict[str, dict]:
        """`run deploy`: each container's flags (--container=NAME and what follows it)."""
        return split_containers(self.argv)[1]

    def service_flags(self) -> dict:
        """`run deploy`: the flags that apply to the whole service."""
        return split_containers(self.argv)[0]


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
        # Imported rather than run as a script, so that Python keeps it compiled between calls.
        start = (f"import sys; sys.path.insert(0, {str(FAKE_GCLOUD.parent)!r}); import fake_gcloud; "
                 "sys.exit(fake_gcloud.main(sys.argv[1:]))")
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S -c "{start}" "$@"\n')
        shim.chmod(0o755)
        # The scripts' python3 (they need any Python 3): this one, rather than a version manager's
        # shim that takes longer to start than the work it does.
        python = self.bin / "python3"
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)

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

    def state_json(self) -> dict:
        state = self.state / "state.json"
        return json.loads(state.read_text()) if state.exists() else {}

    def secret_versions(self, name: str) -> list[str]:
        """What each version of a Secret Manager secret holds, oldest first."""
        return self.state_json().get("versions", {}).get(name, [])

    def gcloud(self, *argv: str, stdin: str = "") -> None:
        """Run the stand-in directly, as an operator (or the tutorial) once did, to shape the project."""
        env = self.env({}, None)
        result = subprocess.run([str(self.bin / "gcloud"), *argv, f"--project={PROJECT}"], env=env, input=stdin,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"gcloud {' '.join(argv)}: {result.stderr}"

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


def copy_of(fake: FakeGcloud, directory: Path) -> FakeGcloud:
    """A new stand-in holding what FAKE's project holds (its calls not included): a test may change
    it without disturbing a session fixture, and without deploying everything again."""
    copy = FakeGcloud(directory)
    (copy.state / "state.json").write_text((fake.state / "state.json").read_text())
    return copy


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


def make_existing_project(fake: FakeGcloud, region: str = CONFIG["SERVICE_REGION"]) -> None:
    """What the tutorial (or deploy.sh before least privilege, Direct VPC egress and Redis AUTH)
    left in a project: a basic-tier Redis without AUTH or TLS, a VPC connector the services use,
    the tutorial's roles, topics without labels and push subscriptions with other settings."""
    at = f"--region={region}"
    invoker = f"cloud-run-pubsub-invoker@{PROJECT}.iam.gserviceaccount.com"
    for account, what in (("aa-ui-connector", "UI connector"), ("aa-pubsub-interceptor", "Pubsub interceptor")):
        fake.gcloud("iam", "service-accounts", "create", account, f"--display-name=Agent Assist integration - {what}",
                    f"--description=Agent Assist integration - {what} service account")
    fake.gcloud("iam", "service-accounts", "create", "cloud-run-pubsub-invoker",
                "--description=Agent Assist integration - identity of Pub/Sub pushes to the interceptor")
    for account, roles in (("aa-ui-connector", TUTORIAL_CONNECTOR_ROLES), ("aa-pubsub-interceptor", TUTORIAL_INTERCEPTOR_ROLES)):
        for role in roles:
            fake.gcloud("projects", "add-iam-policy-binding", PROJECT,
                        f"--member=serviceAccount:{account}@{PROJECT}.iam.gserviceaccount.com", f"--role={role}")
    fake.gcloud("secrets", "create", "aa-integration-jwt-secret", "--data-file=-", stdin="an-old-jwt-key-of-48-characters-or-so-0123456789")
    fake.gcloud("secrets", "add-iam-policy-binding", "aa-integration-jwt-secret",
                f"--member=serviceAccount:aa-ui-connector@{PROJECT}.iam.gserviceaccount.com",
                "--role=roles/secretmanager.secretAccessor")
    fake.gcloud("redis", "instances", "create", "aa-integration-redis", "--size=5", at, "--tier=basic",
                "--network=default", "--redis-version=redis_6_x")
    fake.gcloud("compute", "networks", "vpc-access", "connectors", "create", "aa-integration-vpc", "--network=default",
                at, "--range=10.8.0.0/28")
    fake.gcloud("artifacts", "repositories", "create", "aa-integration", "--repository-format=docker", f"--location={region}")
    for service, image, account in (("ui-connector", "ui-connector", "aa-ui-connector"),
                                    ("cloud-pubsub-interceptor", "cloud-pubsub-interceptor", "aa-pubsub-interceptor")):
        reference = f"{region}-docker.pkg.dev/{PROJECT}/aa-integration/{image}:old"
        fake.gcloud("builds", "submit", str(REPO_ROOT), f"--substitutions=_DOCKERFILE=x,_IMAGE={reference}")
        deploy = ["run", "deploy", service, f"--image={reference}", at, f"--service-account={account}@{PROJECT}.iam.gserviceaccount.com",
                  "--vpc-connector=aa-integration-vpc", "--set-env-vars=REDISHOST=10.127.0.3,REDISPORT=6379"]
        if service == "ui-connector":
            deploy.append("--update-secrets=/secret/jwt_secret_key=aa-integration-jwt-secret:latest")
        fake.gcloud(*deploy)
    url = "https://cloud-pubsub-interceptor-x7f3kq2lma-uc.a.run.app"
    for topic, route in TOPIC_ROUTES.items():
        fake.gcloud("pubsub", "topics", "create", topic)
        fake.gcloud("pubsub", "subscriptions", "create", f"{topic}-interceptor", f"--topic={topic}",
                    f"--push-endpoint={url}/{route}", f"--push-auth-service-account={invoker}", "--ack-deadline=10")


TOPIC_ROUTES = {kind.default_topic: kind.value for kind in EventKind}
# The roles the tutorial grants the runtime accounts.
TUTORIAL_CONNECTOR_ROLES = ["roles/pubsub.editor", "roles/redis.editor", "roles/vpcaccess.user",
                            "roles/compute.viewer", "roles/dialogflow.agentAssistClient"]
TUTORIAL_INTERCEPTOR_ROLES = ["roles/redis.editor", "roles/vpcaccess.user", "roles/compute.viewer"]


@dataclass
class Convergence:
    fake: FakeGcloud
    first: Run
    second: Run
    deployed: dict  # the stand-in's state after the second run
    teardown: Run


@pytest.fixture(scope="session")
def convergence(tmp_path_factory) -> Convergence:
    """deploy.sh twice against a project the tutorial set up (see make_existing_project), then teardown."""
    fake = FakeGcloud(tmp_path_factory.mktemp("existing"))
    make_existing_project(fake)
    first = fake.run(DEPLOY).ok()
    second = fake.run(DEPLOY).ok()
    deployed = fake.state_json()
    removed = fake.run(TEARDOWN, "--yes").ok()
    return Convergence(fake, first, second, deployed, removed)


CLUSTER_CONFIG = {**CONFIG, "REDIS_MODE": "cluster"}


@pytest.fixture(scope="session")
def cluster_deployment(tmp_path_factory) -> Deployment:
    """The whole deployment with REDIS_MODE=cluster, twice."""
    fake = FakeGcloud(tmp_path_factory.mktemp("cluster"))
    first = fake.run(DEPLOY, config=CLUSTER_CONFIG).ok()
    second = fake.run(DEPLOY, config=CLUSTER_CONFIG).ok()
    return Deployment(fake, first, second)


@pytest.fixture(scope="session")
def cluster_convergence(tmp_path_factory) -> Run:
    """The redis step against an existing cluster with other settings than the configuration's."""
    fake = FakeGcloud(tmp_path_factory.mktemp("cluster-existing"))
    fake.run(DEPLOY, "network", config=CLUSTER_CONFIG).ok()
    fake.gcloud("redis", "clusters", "create", "aa-integration-redis", f"--region={CONFIG['SERVICE_REGION']}",
                f"--network=projects/{PROJECT}/global/networks/default", "--shard-count=1", "--replica-count=0",
                "--node-type=redis-shared-core-nano")
    return fake.run(DEPLOY, "redis", config=CLUSTER_CONFIG).ok()


RECONFIGURED = {**CONFIG, "METRICS_SIDECAR": "false", "REDIS_HOST": "10.0.0.5", "REDIS_PORT": "6379",
                "REDIS_ENABLE_AUTH": "false", "REDIS_TRANSIT_ENCRYPTION": "disabled"}


@dataclass
class Reconfigured:
    fake: FakeGcloud
    run: Run


@pytest.fixture(scope="session")
def reconfigured(deployment, tmp_path_factory) -> Reconfigured:
    """The deployed project (a copy), redeployed without the metrics sidecar and pointed at another
    Redis that has neither AUTH nor TLS (RECONFIGURED)."""
    fake = copy_of(deployment.fake, tmp_path_factory.mktemp("reconfigured"))
    return Reconfigured(fake, fake.run(DEPLOY, "service-accounts", "connector", "interceptor", config=RECONFIGURED).ok())


# The tutorial's shape, chosen on purpose: connector, basic tier, no sidecar.
LEAN_CONFIG = {**CONFIG, "VPC_EGRESS": "connector", "REDIS_TIER": "basic", "METRICS_SIDECAR": "false"}


@pytest.fixture(scope="session")
def lean_deployment(tmp_path_factory) -> Deployment:
    """The whole deployment with VPC_EGRESS=connector, REDIS_TIER=basic and METRICS_SIDECAR=false, twice."""
    fake = FakeGcloud(tmp_path_factory.mktemp("lean"))
    first = fake.run(DEPLOY, config=LEAN_CONFIG).ok()
    second = fake.run(DEPLOY, config=LEAN_CONFIG).ok()
    return Deployment(fake, first, second)


@dataclass
class DryRuns:
    runs: list[Run]


@pytest.fixture(scope="session")
def dry_runs(tmp_path_factory) -> DryRuns:
    """Dry runs of deploy.sh in each mode and of teardown.sh: every command they would make, printed."""
    fake = FakeGcloud(tmp_path_factory.mktemp("dry"))
    return DryRuns([fake.run(DEPLOY, "--dry-run", config=config).ok() for config in (CONFIG, CLUSTER_CONFIG, LEAN_CONFIG)]
                   + [fake.run(TEARDOWN, "--dry-run", config=config).ok() for config in (CONFIG, CLUSTER_CONFIG, LEAN_CONFIG)])
