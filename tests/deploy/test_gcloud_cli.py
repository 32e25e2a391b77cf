"""Every gcloud command and flag that deploy/ uses exists in the installed Google Cloud CLI.

The stand-in accepts anything; this asks the real `gcloud <command> --help` about each distinct
command path of the recorded calls (deploy twice, the admin step, teardown twice).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.deploy.conftest import Call

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def printed_commands(output: str) -> list[list[str]]:
    """The gcloud commands a run printed without making: dry-run lines (piped ones too) and the
    commands it reports would change a setting ("to change it: gcloud ...")."""
    commands = []
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("[dry-run] "):
            text = re.sub(r"^\[dry-run\] (\([^)]*\) )?", "", text)
        elif "to change it: gcloud " in text:
            text = text.split("to change it: ", 1)[1]
        else:
            continue
        for part in text.split(" | "):
            words = shlex.split(part)
            if words and words[0] == "gcloud":
                commands.append(words[1:])
    return commands


@pytest.fixture(scope="session")
def used_flags(deployment, teardown, admin_runs, convergence, cluster_deployment, cluster_convergence,
               lean_deployment, reconfigured, dry_runs) -> dict[str, set[str]]:
    """Command path -> the flag names the scripts pass to it, in every mode, run or printed."""
    runs = [deployment.first, deployment.second, teardown.first, teardown.second, *admin_runs,
            convergence.first, convergence.second, convergence.teardown, cluster_deployment.first,
            cluster_deployment.second, cluster_convergence, lean_deployment.first, lean_deployment.second,
            reconfigured.run, *dry_runs.runs]
    used: dict[str, set[str]] = {}
    for run in runs:
        for call in run.calls:
            used.setdefault(call.path, set()).update(call.flags)
        for argv in printed_commands(run.output):
            call = Call(argv)
            used.setdefault(call.path, set()).update(call.flags)
    return used


@pytest.fixture(scope="session")
def help_texts(used_flags, tmp_path_factory, request) -> dict[str, tuple[int, str]]:
    """Command path -> (exit status, text) of the real `gcloud PATH --help`, each asked once.

    Each answer is kept in pytest's cache under the installed SDK's version (asking takes seconds
    a command), so only a new command path, or another SDK release, asks gcloud again."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        pytest.skip("the Google Cloud CLI (gcloud) is not installed")
    version_file = Path(gcloud).resolve().parent.parent / "VERSION"
    version = version_file.read_text().strip() if version_file.is_file() else ""
    config_dir = tmp_path_factory.mktemp("gcloud-config")
    env = {"PATH": os.environ["PATH"], "HOME": str(config_dir), "LANG": "C.UTF-8",
           "CLOUDSDK_CONFIG": str(config_dir), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
           "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1"}

    def key(path: str) -> str:
        return f"deploy/gcloud-help/{version}/{path.replace(' ', '.')}"

    def ask(path: str) -> tuple[int, str]:
        if version:
            cached = request.config.cache.get(key(path), None)
            if cached is not None:
                return cached[0], cached[1]
        result = subprocess.run([gcloud, *path.split(), "--help"], env=env, capture_output=True,
                                text=True, timeout=120)
        answer = (result.returncode, ANSI.sub("", result.stdout + result.stderr))
        if version and result.returncode == 0:
            request.config.cache.set(key(path), list(answer))
        return answer

    paths = sorted(used_flags)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(paths, pool.map(ask, paths)))


def documented(flag: str, text: str) -> bool:
    """Whether the help text shows FLAG, also in gcloud's --[no-]NAME form for boolean flags."""
    name = flag.removeprefix("--no-") if flag.startswith("--no-") else flag.removeprefix("--")
    forms = [re.escape(flag), re.escape(f"--[no-]{name}")]
    return any(re.search(rf"(?<![\w-]){form}(?![\w-])", text) for form in forms)


def test_the_recorded_calls_cover_the_deployment(used_flags):
    # Not vacuous: the calls include the tutorial's commands, the new ones, and their key flags.
    assert {"run deploy", "pubsub subscriptions create", "pubsub subscriptions update", "secrets create",
            "redis instances create", "redis instances get-auth-string", "redis instances update",
            "redis instances upgrade", "redis clusters create", "redis clusters update",
            "redis clusters get-cluster-certificate-authority", "network-connectivity service-connection-policies create",
            "compute networks vpc-access connectors create", "compute networks subnets describe", "builds submit",
            "secrets versions access", "monitoring dashboards create", "monitoring dashboards update",
            "run services add-iam-policy-binding", "projects add-iam-policy-binding",
            "projects remove-iam-policy-binding"} <= set(used_flags)
    assert {"--session-affinity", "--no-cpu-throttling", "--cpu-throttling", "--no-allow-unauthenticated",
            "--update-secrets", "--remove-secrets", "--network", "--subnet", "--vpc-egress", "--clear-vpc-connector",
            "--startup-probe", "--liveness-probe", "--container", "--depends-on", "--port", "--set-custom-audiences",
            "--remove-containers", "--labels"} <= used_flags["run deploy"]
    assert {"--enable-auth", "--transit-encryption-mode", "--tier"} <= used_flags["redis instances create"]
    assert {"--auth-mode", "--shard-count", "--replica-count", "--node-type"} <= used_flags["redis clusters create"]
    assert "--push-auth-token-audience" in used_flags["pubsub subscriptions update"]
    assert len(used_flags) >= 40


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
