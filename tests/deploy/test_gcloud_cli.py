"""Every gcloud command and flag that deploy/ uses exists in the installed Google Cloud CLI.

The stand-in accepts anything; this asks the real `gcloud <command> --help` about each distinct
command path of the recorded calls (deploy twice, the admin step, teardown twice).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="session")
def used_flags(deployment, teardown, admin_runs) -> dict[str, set[str]]:
    """Command path -> the flag names the scripts pass to it."""
    runs = [deployment.first, deployment.second, teardown.first, teardown.second, *admin_runs]
    used: dict[str, set[str]] = {}
    for run in runs:
        for call in run.calls:
            used.setdefault(call.path, set()).update(call.flags)
    return used


@pytest.fixture(scope="session")
def help_texts(used_flags, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Command path -> (exit status, text) of the real `gcloud PATH --help`, each asked once."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        pytest.skip("the Google Cloud CLI (gcloud) is not installed")
    config_dir = tmp_path_factory.mktemp("gcloud-config")
    env = {"PATH": os.environ["PATH"], "HOME": str(config_dir), "LANG": "C.UTF-8",
           "CLOUDSDK_CONFIG": str(config_dir), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
           "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1"}

    def ask(path: str) -> tuple[int, str]:
        result = subprocess.run([gcloud, *path.split(), "--help"], env=env, capture_output=True,
                                text=True, timeout=120)
        return result.returncode, ANSI.sub("", result.stdout + result.stderr)

    paths = sorted(used_flags)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(paths, pool.map(ask, paths)))


def documented(flag: str, text: str) -> bool:
    """Whether the help text shows FLAG, also in gcloud's --[no-]NAME form for boolean flags."""
    name = flag.removeprefix("--no-") if flag.startswith("--no-") else flag.removeprefix("--")
    forms = [re.escape(flag), re.escape(f"--[no-]{name}")]
    return any(re.search(rf"(?<![\w-]){form}(?![\w-])", text) for form in forms)


def test_the_recorded_calls_cover_the_deployment(used_flags):
    # Not vacuous: the calls include the tutorial's commands and their key flags.
    assert {"run deploy", "pubsub subscriptions create", "secrets create", "redis instances create",
            "compute networks vpc-access connectors create", "builds submit",
            "run services add-iam-policy-binding", "projects add-iam-policy-binding"} <= set(used_flags)
    assert {"--session-affinity", "--no-cpu-throttling", "--no-allow-unauthenticated",
            "--update-secrets"} <= used_flags["run deploy"]
    assert len(used_flags) >= 25


def test_every_command_exists(help_texts):
    missing = {path: text[:300] for path, (status, text) in help_texts.items() if status != 0}
    assert not missing, f"gcloud does not know: {missing}"


def test_every_flag_exists(used_flags, help_texts):
    unknown = {path: sorted(flag for flag in flags if not documented(flag, help_texts[path][1]))
               for path, flags in used_flags.items()}
    unknown = {path: flags for path, flags in unknown.items() if flags}
    assert not unknown, f"flags the installed gcloud does not document: {unknown}"


def test_the_flag_check_can_fail(help_texts):
    text = help_texts["run deploy"][1]
    assert documented("--session-affinity", text) and documented("--no-session-affinity", text)
    assert not documented("--platform-of-the-future", text)
    assert not documented("--no-timeout", text)
