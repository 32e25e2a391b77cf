"""The services' Dockerfiles: what they contain, and their command started as written here.

Docker cannot run in these tests; instead the final stage's COPY set is rebuilt as a directory
to prove it is enough to import the service, and the CMD runs from the repository root with
the project's virtualenv first on PATH, as the image runs it from /app.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

VENV_BIN = REPO_ROOT / ".venv" / "bin"
SERVICES = {
    "cloud_pubsub_interceptor": ["python", "-m", "cloud_pubsub_interceptor.server"],
    "ui_connector": ["gunicorn", "--config", "python:ui_connector.gunicorn_conf"],
}
# What each command imports: its server configuration and the app factory that configuration names.
SERVICE_MODULES = {
    "cloud_pubsub_interceptor": ["cloud_pubsub_interceptor.server", "cloud_pubsub_interceptor.app"],
    "ui_connector": ["ui_connector.gunicorn_conf", "ui_connector.app"],
}
PROJECT_PACKAGES = {"aa_common", "cloud_pubsub_interceptor", "ui_connector", "devstack"}
LOCKS = {"cloud_pubsub_interceptor": "interceptor.txt", "ui_connector": "ui-connector.txt"}


def stages(service: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each a list of (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", (REPO_ROOT / service / "Dockerfile").read_text())
    result: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            result.append([])
        result[-1].append((keyword.upper(), arguments.strip()))
    return result


def final_stage(service: str) -> list[tuple[str, str]]:
    return stages(service)[-1]


def arguments(stage, keyword: str) -> list[str]:
    return [args for key, args in stage if key == keyword]


def command(service: str) -> list[str]:
    stage = final_stage(service)
    assert not arguments(stage, "ENTRYPOINT"), "an ENTRYPOINT would turn CMD into its arguments"
    return json.loads(arguments(stage, "CMD")[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# --- contents ---

@pytest.mark.parametrize("service", SERVICES)
def test_command_is_the_production_gunicorn_command(service):
    assert command(service) == SERVICES[service]


@pytest.mark.parametrize("service", SERVICES)
def test_final_stage_is_slim_python_without_root(service):
    stage = final_stage(service)
    assert arguments(stage, "FROM")[0].split()[0] == "python:3.11-slim"
    assert arguments(stage, "WORKDIR") == ["/app"]
    users = arguments(stage, "USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any("PORT=" in env for env in arguments(stage, "ENV")), "a default PORT for running outside Cloud Run"
    runs = arguments(stage, "RUN")
    # Dependencies from the service's hashed lock first, then the project alone (no resolution).
    locked = [i for i, run in enumerate(runs) if f"--require-hashes -r requirements/{LOCKS[service]}" in run]
    project = [i for i, run in enumerate(runs) if re.search(r"\bpip install --no-deps --no-build-isolation \.(\s|$)", run)]
    assert locked and project and locked[0] < project[0]
    assert not any(re.search(r"pip install (?!.*--no-deps).*\s\.(\s|$)", run) for run in runs), "an unlocked install"


# Node.js release lines: (first day of Active LTS, end of life). An image built on a line past its
# end of life gets no security fixes; this table is the reminder to move on.
NODE_LINES = {20: (date(2023, 10, 24), date(2026, 4, 30)), 22: (date(2024, 10, 29), date(2027, 4, 30)),
              24: (date(2025, 10, 28), date(2028, 4, 30)), 26: (date(2026, 10, 28), date(2029, 4, 30))}


def test_ui_connector_image_carries_the_socket_io_client():
    node, python = stages("ui_connector")
    name = arguments(node, "FROM")[0].split()
    image, _, tag = name[0].partition(":")
    assert image == "node" and tag.endswith("-slim") and name[1].upper() == "AS"
    major = int(tag.split("-")[0])
    active_lts, end_of_life = NODE_LINES[major]
    assert active_lts <= date.today() < end_of_life, f"node {major} is not a supported LTS line today"
    newer = [line for line, (start, _) in NODE_LINES.items() if line > major and start <= date.today()]
    assert not newer, f"node {newer[-1]} is the Active LTS line now"
    install = " ".join(arguments(node, "RUN"))
    assert "npm ci" in install and "--omit=dev" in install and "npm install" not in install
    assert arguments(node, "COPY") == ["package.json package-lock.json ./"], "installed from the lock file only"
    copies = [args.split() for args in arguments(python, "COPY") if args.startswith(f"--from={name[2]}")]
    assert [copy[1:] for copy in copies] == [
        [f"{arguments(node, 'WORKDIR')[0]}/node_modules/socket.io-client/dist", "/app/node_modules/socket.io-client/dist"]]
    assert "socket.io-client" in json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]


@pytest.mark.parametrize("service", SERVICES)
def test_copied_files_are_enough_to_load_the_service(service, tmp_path):
    """Rebuild the image's /app from the final stage's COPY lines; the app must import from it alone."""
    context = tmp_path / "app"
    context.mkdir()
    for args in arguments(final_stage(service), "COPY"):
        if args.startswith("--from="):
            continue
        *sources, destination = args.split()
        for source in sources:
            for path in REPO_ROOT.glob(source.rstrip("/")):
                target = context / (path.name if destination in {"./", "."} else destination)
                if path.is_dir():
                    shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(path, target)
    modules = SERVICE_MODULES[service]
    probe = (
        "import importlib, json, sys\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps({{n: getattr(m, '__file__', None) for n, m in sys.modules.items() "
        f"if n.split('.')[0] in {sorted(PROJECT_PACKAGES)!r}}}))\n"
    )
    result = subprocess.run([str(VENV_BIN / "python"), "-c", probe, *modules], cwd=context,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(context), "LANG": "C.UTF-8"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert set(modules) <= loaded.keys()
    outside = {name: file for name, file in loaded.items() if file and not file.startswith(str(context))}
    assert not outside, f"the image would lack these (not copied by the Dockerfile): {outside}"


# --- the command, started as written ---

@pytest.fixture(scope="module")
def redis_port():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    yield port
    server.terminate()
    server.wait(timeout=10)


# Loaded first by the Python it runs under: files of any installed distribution outside the
# service's lock (and the project, pip and setuptools, which the image has too) cannot be imported.
# The project's virtualenv holds every service's and every test's packages; the image only its own.
ONLY_THE_LOCK = """
import importlib.machinery, importlib.metadata, os, re, sys
allowed = set(os.environ["ONLY_DISTRIBUTIONS"].split(","))
blocked = set()
for dist in importlib.metadata.distributions():
    if re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower() not in allowed:
        blocked.update(os.path.realpath(dist.locate_file(f)) for f in dist.files or ())

class OnlyTheLock:
    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin and os.path.realpath(spec.origin) in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} in the image (not in its lock)", name=name)
        return None

sys.meta_path.insert(0, OnlyTheLock())
"""


def load_locks_module():
    if "requirements_locks" not in sys.modules:
        spec = importlib.util.spec_from_file_location("requirements_locks", REPO_ROOT / "requirements" / "locks.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["requirements_locks"]


def only_the_lock(service: str, directory: Path) -> dict[str, str]:
    """Environment additions that limit a Python process to SERVICE's locked distributions."""
    locks = load_locks_module()
    allowed = set(locks.read_lock(REPO_ROOT / "requirements" / LOCKS[service]))
    allowed |= set(locks.read_lock(REPO_ROOT / "requirements" / "build.txt")) | {"agent-assist-backend"}
    (directory / "sitecustomize.py").write_text(ONLY_THE_LOCK)
    return {"PYTHONPATH": str(directory), "ONLY_DISTRIBUTIONS": ",".join(sorted(allowed))}


def test_the_lock_limit_can_fail(tmp_path):
    env = {"PATH": os.environ["PATH"], **only_the_lock("cloud_pubsub_interceptor", tmp_path)}
    probe = "import flask, redis, google.auth\ntry:\n import socketio\nexcept ImportError: print('blocked')"
    result = subprocess.run([str(VENV_BIN / "python"), "-c", probe], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "blocked"


@pytest.mark.parametrize("service", SERVICES)
def test_command_serves_healthz_on_port(service, redis_port, tmp_path):
    """The image's command, with only the packages of the service's lock importable, serves /healthz."""
    port = free_port()
    secret_file = tmp_path / "jwt_secret_key"
    secret_file.write_text(secrets.token_urlsafe(48))
    site = tmp_path / "site"
    site.mkdir()
    env = {
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "PORT": str(port), "REDISHOST": "127.0.0.1", "REDISPORT": str(redis_port),
        "GCP_PROJECT_ID": "test-project", "JWT_SECRET_KEY_PATH": str(secret_file),
        **only_the_lock(service, site),
    }
    argv = command(service)
    assert Path(shutil.which(argv[0], path=env["PATH"])).parent == VENV_BIN
    log = tmp_path / "service.log"
    with open(log, "w") as output:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while answers(f"http://127.0.0.1:{port}/healthz") != 200:
            assert process.poll() is None, f"{service} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no 200 from /healthz in 30 s:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert status == 0, f"{service} did not stop cleanly on SIGTERM:\n{log.read_text()}"
