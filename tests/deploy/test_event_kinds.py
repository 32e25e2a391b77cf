"""deploy/ is bash and cannot import aa_common.events: its copy of each event kind's topic and route is
compared here with the definition, so the two cannot drift."""
from __future__ import annotations

import re
import subprocess

import pytest

from aa_common.events import EventKind
from tests.deploy.conftest import DEPLOY_DIR
from tests.deploy.test_deploy_config import ENV_SAMPLE, documented_variables


def loaded_config(*names: str) -> list[str]:
    """What deploy's configuration holds once loaded without a .env file: each name's words, one line each."""
    script = (f'source "{DEPLOY_DIR}/lib/common.sh"; source "{DEPLOY_DIR}/lib/config.sh"; load_config; '
              + "; ".join(f'echo "${{{name}}}"' for name in names))
    env = {"PATH": "/usr/bin:/bin", "DEPLOY_ENV_FILE": "/nonexistent", "GCP_PROJECT_ID": "p"}
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env=env)
    return run.stdout.splitlines()


def test_deploy_wires_each_kinds_default_topic_to_its_route():
    topics, routes = (line.split() for line in loaded_config("PUSH_TOPICS[*]", "PUSH_ROUTES[*]"))
    assert list(zip(topics, routes)) == [(kind.default_topic, kind.value) for kind in EventKind]


def test_deploy_names_each_topic_with_the_kinds_variable():
    defaults = loaded_config(*(kind.topic_variable for kind in EventKind))
    assert defaults == [kind.default_topic for kind in EventKind]


@pytest.mark.parametrize("kind", EventKind, ids=lambda kind: kind.name)
def test_env_sample_shows_the_kinds_default_and_route(kind):
    assert re.search(rf"^{kind.topic_variable}={re.escape(kind.default_topic)}$", ENV_SAMPLE.read_text(), re.M)
    assert f"-> /{kind}." in documented_variables()[kind.topic_variable]


@pytest.mark.parametrize("kind", EventKind, ids=lambda kind: kind.name)
def test_deploy_readme_tables_the_kinds_topic_and_route(kind):
    row = f"| `{kind.default_topic}` | `/{kind}` | `{kind.default_topic}-interceptor` |"
    assert row in (DEPLOY_DIR / "README.md").read_text()
