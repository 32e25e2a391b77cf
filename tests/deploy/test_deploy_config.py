"""The deploy/ configuration, scripts and build files, checked without running a deployment."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, DEPLOY_DIR, PROJECT, REPO_ROOT

ENV_SAMPLE = DEPLOY_DIR / "env.sample"
SCRIPTS = sorted(DEPLOY_DIR.rglob("*.sh"))
ENTRY_POINTS = [DEPLOY_DIR / "deploy.sh", DEPLOY_DIR / "teardown.sh"]
# Every variable the tutorial names (TOPIC_ID and SUBSCRIPTION_NAME became one per topic).
TUTORIAL_VARIABLES = [
    "GCP_PROJECT_ID", "SERVICE_REGION", "ADMIN_ACCOUNT", "CONNECTOR_SERVICE_ACCOUNT_ID",
    "INTERCEPTOR_SERVICE_ACCOUNT_ID", "CONNECTOR_SERVICE_ACCOUNT", "INTERCEPTOR_SERVICE_ACCOUNT",
    "JWT_SECRET_NAME", "VPC_CONNECTOR_NAME", "VPC_NETWORK", "REDIS_IP_RANGE", "REDIS_INSTANCE_ID",
    "REDIS_HOST", "REDIS_PORT", "CONNECTOR_SERVICE_NAME", "CONNECTOR_IMAGE_NAME", "INTERCEPTOR_SERVICE_NAME",
    "INTERCEPTOR_IMAGE_NAME", "INTERCEPTOR_SERVICE_URL", "LOGGING_FILE",
]


def bash_array(name: str) -> list[str]:
    script = f'source "{DEPLOY_DIR}/lib/config.sh"; printf "%s\\n" "${{{name}[@]}}"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()


def documented_variables() -> dict[str, str]:
    """NAME -> the comment lines right above ``NAME=`` in env.sample."""
    documented, comment = {}, []
    for line in ENV_SAMPLE.read_text().splitlines():
        if line.startswith("#"):
            comment.append(line)
        elif match := re.match(r"([A-Z][A-Z0-9_]*)=", line):
            documented[match.group(1)] = "\n".join(comment)
        else:
            comment = []
    return documented


def config_summary(fake_gcloud, env_file: Path | None, **config: str) -> list[str]:
    """The `VARIABLE value` lines that the check step shows."""
    run = fake_gcloud.run(DEPLOY, "check", "--dry-run", config=config, env_file=env_file).ok()
    return [line for line in run.result.stderr.splitlines()
            if re.match(r"  [A-Z][A-Z0-9_]+ +", line) and "configuration from" not in line]


# --- env.sample ---

def test_env_sample_documents_every_variable():
    documented = documented_variables()
    variables = bash_array("CONFIG_VARS") + bash_array("CONNECTOR_PASSTHROUGH_VARS") + bash_array("SHARED_PASSTHROUGH_VARS")
    assert len(variables) > 40
    for name in variables + TUTORIAL_VARIABLES:
        assert name in documented, f"{name} is not in deploy/env.sample"
    undocumented = [name for name in documented if not documented[name].strip()]
    assert not undocumented, f"variables without an explanation: {undocumented}"
    unknown = set(documented) - set(variables)
    assert not unknown, f"env.sample names variables the scripts do not read: {unknown}"


def test_env_sample_values_are_the_defaults(fake_gcloud):
    fixed = {"GCP_PROJECT_ID": PROJECT, "IMAGE_TAG": "v1"}
    assert config_summary(fake_gcloud, ENV_SAMPLE, **fixed) == config_summary(fake_gcloud, None, **fixed)


def test_environment_wins_over_the_env_file(fake_gcloud, tmp_path):
    env_file = tmp_path / "deploy.env"
    env_file.write_text("GCP_PROJECT_ID=from-the-file\nSERVICE_REGION=asia-east1\nREDIS_TIER=standard\n")
    summary = "\n".join(config_summary(fake_gcloud, env_file, GCP_PROJECT_ID=PROJECT, SERVICE_REGION="europe-west4"))
    assert re.search(rf"GCP_PROJECT_ID +{PROJECT}$", summary, re.M)
    assert re.search(r"SERVICE_REGION +europe-west4$", summary, re.M)
    assert re.search(r"REDIS_TIER +standard$", summary, re.M), "values only in the file are used"


def test_copied_env_sample_needs_only_the_project(fake_gcloud, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_SAMPLE.read_text().replace("\nGCP_PROJECT_ID=\n", f"\nGCP_PROJECT_ID={PROJECT}\n"))
    run = fake_gcloud.run(DEPLOY, "--dry-run", config={}, env_file=env_file).ok()
    assert f"--project={PROJECT}" in run.output


# --- the scripts ---

@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(DEPLOY_DIR)))
def test_script_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_entry_points_are_strict_bash_and_executable():
    for script in ENTRY_POINTS:
        lines = script.read_text().splitlines()
        assert lines[0] == "#!/usr/bin/env bash"
        assert "set -euo pipefail" in lines[:10]
        assert os.access(script, os.X_OK), f"{script} is not executable"
    for script in set(SCRIPTS) - set(ENTRY_POINTS):
        assert script.read_text().startswith("# shellcheck shell=bash"), f"{script}: sourced files declare bash"


def test_shellcheck_finds_nothing():
    if not shutil.which("shellcheck"):
        if os.environ.get("CI"):
            pytest.fail("shellcheck is not installed; make install installs it with apt")
        pytest.skip("shellcheck is not installed (make install installs it with apt)")
    result = subprocess.run(["shellcheck", "--external-sources", *map(str, ENTRY_POINTS)],
                            cwd=DEPLOY_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mistake", [
    "single-quoted",                         # --member='serviceAccount:$CONNECTOR_SERVICE_ACCOUNT_ID@...'
    "INTERCEPTOR_SERVICE_ACCOUNT_NAME",
    "You can also add LOGGING_FILE here",    # a comment inside a continued command
    "$SUBSCRIPTION_NAME",
    "space after the first backslash",
    "gcr.io",
])
def test_each_tutorial_mistake_is_fixed_with_a_comment(mistake):
    comments = [line for script in SCRIPTS for line in script.read_text().splitlines()
                if line.lstrip().startswith("#")]
    text = "\n".join(comments)
    assert mistake in text, f"no comment about the tutorial's {mistake!r}"
    assert text.count("Tutorial fix") >= 6


def test_the_tutorial_mistakes_are_not_repeated():
    code = "\n".join(line for script in SCRIPTS for line in script.read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    assert "INTERCEPTOR_SERVICE_ACCOUNT_NAME" not in code
    assert "SUBSCRIPTION_NAME" not in code
    assert "gcr.io" not in code
    # Variables inside single quotes: see test_every_call_names_the_project_and_no_variable_is_left_unexpanded
    # (the recorded arguments) and shellcheck's SC2016.
    assert not re.search(r"\\ +$", code, re.M), "a backslash followed by a space ends the command there"


# --- Cloud Build ---

def test_cloudbuild_config_builds_the_named_dockerfile_from_the_root():
    text = (DEPLOY_DIR / "cloudbuild.yaml").read_text()
    assert re.search(r"^substitutions:\n(  _[A-Z_]+: .*\n)+", text, re.M)
    declared = set(re.findall(r"^  (_[A-Z_]+):", text, re.M))
    used = set(re.findall(r"\$\{(_[A-Z_]+)\}", text))
    assert declared == used == {"_DOCKERFILE", "_IMAGE"}
    assert re.search(r'args: \["build", "--file=\$\{_DOCKERFILE\}", "--tag=\$\{_IMAGE\}", "\."\]', text)
    assert re.search(r'^images: \["\$\{_IMAGE\}"\]', text, re.M)


# --- .gcloudignore: what `gcloud builds submit` uploads, as the real CLI computes it ---

def uploaded_files(directory: Path, config_dir: Path) -> set[str]:
    gcloud = shutil.which("gcloud")
    if not gcloud:
        pytest.skip("the Google Cloud CLI is not installed")
    env = {"PATH": os.environ["PATH"], "HOME": str(config_dir), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
           "CLOUDSDK_CONFIG": str(config_dir)}
    result = subprocess.run([gcloud, "meta", "list-files-for-upload", str(directory)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_gcloudignore_keeps_local_files_and_secrets_out_of_the_upload(tmp_path):
    tree = tmp_path / "repo"
    kept = ["pyproject.toml", "package.json", "package-lock.json", "aa_common/config.py",
            "ui_connector/jwt_secret.py", "ui_connector/Dockerfile", "cloud_pubsub_interceptor/app.py"]
    left_out = ["tests/deploy/test_x.py", ".venv/bin/python", "node_modules/socket.io-client/package.json",
                ".git/config", ".devstack/redis/dump.rdb", "artifacts/report.html", "deploy/.env",
                "deploy/deploy.sh", ".env", "service-account-key.json", "aa_common/__pycache__/config.cpython-311.pyc",
                "devstack/stack.py", "key.pem"]
    for name in kept + left_out:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x")
    shutil.copy(REPO_ROOT / ".gcloudignore", tree / ".gcloudignore")
    uploaded = uploaded_files(tree, tmp_path / "gcloud-config")
    assert set(kept) <= uploaded
    assert not uploaded & set(left_out)


def test_gcloudignore_uploads_every_file_the_dockerfiles_copy(tmp_path):
    uploaded = uploaded_files(REPO_ROOT, tmp_path / "gcloud-config")
    for dockerfile in ("ui_connector/Dockerfile", "cloud_pubsub_interceptor/Dockerfile"):
        for line in (REPO_ROOT / dockerfile).read_text().splitlines():
            if not line.startswith("COPY ") or "--from=" in line:
                continue
            for source in line.split()[1:-1]:
                matched = [path for path in REPO_ROOT.glob(source.rstrip("/"))]
                files = [str(path.relative_to(REPO_ROOT)) for match in matched
                         for path in ([match] if match.is_file() else match.rglob("*"))
                         if path.is_file() and "__pycache__" not in path.parts]
                assert files or "*" in source, f"{dockerfile} copies {source}, which does not exist"
                missing = set(files) - uploaded
                assert not missing, f"{dockerfile} needs {sorted(missing)}, which .gcloudignore leaves out"
