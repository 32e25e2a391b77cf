"""pyproject.toml and the hashed locks in requirements/ agree (offline: nothing is installed)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

from tests.deploy.test_dockerfiles import load_locks_module

LOCKS_MODULE = REPO_ROOT / "requirements" / "locks.py"
locks = load_locks_module()

# What only the UI connector uses: it must not weigh on the interceptor's image.
CONNECTOR_ONLY = {"python-socketio", "python-engineio", "flask-socketio", "simple-websocket", "wsproto", "gevent", "greenlet",
                  "google-cloud-secret-manager", "flask-cors", "pyjwt", "grpcio", "gunicorn"}
DEV_ONLY = {"pytest", "fakeredis", "playwright", "uv", "websocket-client", "google-cloud-dialogflow"}


def lock(name: str) -> dict:
    return locks.read_lock(REPO_ROOT / "requirements" / name)


def test_pyproject_and_the_locks_agree():
    assert locks.check() == []


def test_the_interceptor_image_carries_no_socket_io_gevent_or_secret_manager():
    pinned = set(lock("interceptor.txt"))
    assert not pinned & CONNECTOR_ONLY
    assert not pinned & DEV_ONLY
    assert {"flask", "granian", "redis", "hiredis", "orjson", "prometheus-client", "google-auth", "requests"} <= pinned


def test_the_connector_image_carries_no_test_tools():
    pinned = set(lock("ui-connector.txt"))
    assert {"python-socketio", "gevent", "google-cloud-secret-manager", "flask", "redis"} <= pinned
    assert not pinned & DEV_ONLY


def test_every_pin_is_exact_and_hashed():
    for name in ("interceptor.txt", "ui-connector.txt", "dev.txt", "build.txt"):
        text = (REPO_ROOT / "requirements" / name).read_text()
        assert "make lock" in text.splitlines()[1], f"{name} does not say how it is made"
        for pin in lock(name).values():
            assert pin.hashes >= 1, f"{name}: {pin.name}"
        assert not re.search(r"^-e |^\.|git\+|file:", text, re.M), f"{name} installs something unpinned"


def test_the_dev_lock_is_a_superset_with_the_same_versions():
    dev = lock("dev.txt")
    for name in locks.SERVICE_LOCKS.values():
        for key, pin in lock(name).items():
            assert dev[key].version == pin.version, f"{name} {pin.name}"


def test_the_build_lock_satisfies_the_build_backend():
    assert locks.disagreements("build.txt", [locks.Requirement(text) for text in locks.build_inputs()]) == []
    assert "setuptools" in lock("build.txt")


@pytest.mark.parametrize("mutation, expected", [
    # A dependency added to pyproject.toml without `make lock`.
    (lambda text: text.replace('"granian>=2.8,<3",', '"granian>=2.8,<3",\n    "msgspec>=0.18",'),
     "requirements/interceptor.txt lacks msgspec>=0.18"),
    # A specifier tightened past what is pinned.
    (lambda text: text.replace('"redis>=5.0,<9"', '"redis>=99"'), "pins redis==",),
    # A dependency moved to the shared base reaches the interceptor's lock too.
    (lambda text: text.replace('"requests>=2.31,<3",', '"requests>=2.31,<3",\n    "gevent>=24.2",'),
     "requirements/interceptor.txt lacks gevent>=24.2"),
])
def test_the_check_sees_a_disagreement(tmp_path, monkeypatch, mutation, expected):
    changed = tmp_path / "pyproject.toml"
    changed.write_text(mutation((REPO_ROOT / "pyproject.toml").read_text()))
    monkeypatch.setattr(locks, "PYPROJECT", changed)
    problems = locks.check()
    assert any(expected in problem for problem in problems), problems


def test_a_lock_whose_versions_drift_from_dev_is_seen(tmp_path, monkeypatch):
    for name in ("dev.txt", "ui-connector.txt", "build.txt"):
        (tmp_path / name).write_text((REPO_ROOT / "requirements" / name).read_text())
    interceptor = (REPO_ROOT / "requirements" / "interceptor.txt").read_text()
    version = str(lock("interceptor.txt")["flask"].version)
    (tmp_path / "interceptor.txt").write_text(interceptor.replace(f"flask=={version}", "flask==3.0.0"))
    monkeypatch.setattr(locks, "LOCK_DIR", tmp_path)
    assert any("flask==3.0.0" in problem and "dev.txt" in problem for problem in locks.check())


def test_the_command_line_check_that_make_install_runs_passes():
    result = subprocess.run([sys.executable, str(LOCKS_MODULE), "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_make_install_and_the_images_install_from_the_locks():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements/dev.txt" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile
    assert re.search(r"^lock:", makefile, re.M)
    for target in ("install", "test", "dev", "bench", "interceptor", "ui-connector"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    for service, lock_name in (("cloud_pubsub_interceptor", "interceptor.txt"), ("ui_connector", "ui-connector.txt")):
        dockerfile = (REPO_ROOT / service / "Dockerfile").read_text()
        assert f"pip install --require-hashes -r requirements/{lock_name}" in dockerfile
        assert "pip install --require-hashes --no-deps -r requirements/build.txt" in dockerfile
        assert "pip install --no-deps --no-build-isolation ." in dockerfile
        other = "ui-connector.txt" if lock_name == "interceptor.txt" else "interceptor.txt"
        assert other not in dockerfile and "dev.txt" not in dockerfile


def test_readme_documents_adding_a_dependency():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make lock" in readme
    assert Path(REPO_ROOT / "requirements" / "locks.py").is_file()
