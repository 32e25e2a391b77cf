"""deploy/teardown.sh against the gcloud stand-in."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from aa_common.events import EventKind
from tests.deploy.conftest import CONFIG, LEAN_CONFIG, PROJECT, REPO_ROOT, TEARDOWN, FakeGcloud, copy_of


def run_in_terminal(fake: FakeGcloud, answer: str) -> subprocess.CompletedProcess:
    """teardown.sh with a pseudo-terminal as stdin, typing ANSWER at its prompt."""
    try:
        controller, terminal = os.openpty()
    except OSError as error:
        pytest.skip(f"no pseudo-terminal available: {error}")
    try:
        process = subprocess.Popen(["bash", str(TEARDOWN)], cwd=REPO_ROOT, env=fake.env(CONFIG, None),
                                   stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(terminal)
        os.write(controller, f"{answer}\n".encode())
        stdout, stderr = process.communicate(timeout=120)
    finally:
        os.close(controller)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_teardown_deletes_everything_deploy_made(teardown):
    assert all(not names for names in teardown.fake.resources().values()), teardown.fake.resources()
    members = [member for pairs in teardown.fake.policies().values() for _, member in pairs]
    assert not [member for member in members if PROJECT in member], "roles of deleted accounts were left behind"
    state = json.loads((teardown.fake.state / "state.json").read_text())
    assert state["packages"] == {}
    deleted = {call.path for call in teardown.first.calls if call.command[-1] == "delete"}
    assert deleted >= {"run services delete", "pubsub subscriptions delete", "pubsub topics delete",
                       "iam service-accounts delete", "redis instances delete", "secrets delete",
                       "monitoring dashboards delete", "artifacts packages delete", "artifacts repositories delete"}
    assert {call.args[0] for call in teardown.first.find("secrets delete")} == {
        "aa-integration-jwt-secret", "aa-integration-redis-auth", "aa-integration-redis-server-ca"}
    # Direct VPC egress: deploy made no connector, so teardown looks for none.
    assert not teardown.first.find("compute networks vpc-access connectors describe")
    for call in teardown.first.calls:
        if call.command[-1] == "delete":
            assert call.flags.get("--quiet") is True, call.argv


def test_teardown_leaves_a_topic_that_existed_before(deployment, tmp_path):
    # deploy.sh leaves an existing topic as it is: without its label.
    fake = copy_of(deployment.fake, tmp_path / "copy")
    state = fake.state_json()
    existing = EventKind.NEW_MESSAGE.default_topic
    state["resources"]["pubsub topics"][existing]["labels"] = {}
    (fake.state / "state.json").write_text(json.dumps(state))
    run = fake.run(TEARDOWN, "--yes").ok()
    assert set(fake.resources()["pubsub topics"]) == {existing}
    assert f"topic {existing}: not created by deploy.sh (no created-by=aa-integration-deploy label), left alone" in run.output
    assert not run.find("pubsub topics delete", existing)
    assert run.one("pubsub topics delete", EventKind.SUGGESTION.default_topic)


def test_teardown_removes_the_connector_it_made(lean_deployment, tmp_path):
    fake = copy_of(lean_deployment.fake, tmp_path / "copy")
    run = fake.run(TEARDOWN, "--yes", config=LEAN_CONFIG).ok()
    assert run.one("compute networks vpc-access connectors delete", "aa-integration-vpc")
    assert all(not names for names in fake.resources().values()), fake.resources()


def test_second_teardown_deletes_nothing(teardown):
    assert not [call.argv for call in teardown.second.calls if call.command[-1] in {"delete", "remove-iam-policy-binding"}]
    assert "absent, nothing to delete" in teardown.second.output


def test_teardown_refuses_without_confirmation(fake_gcloud):
    run = fake_gcloud.run(TEARDOWN)
    assert run.result.returncode != 0
    assert "--yes" in run.result.stderr
    assert run.calls == []


def test_teardown_asks_for_the_project_id(deployment, tmp_path):
    fake_gcloud = copy_of(deployment.fake, tmp_path / "copy")
    refused = run_in_terminal(fake_gcloud, "yes")
    assert refused.returncode != 0 and "not confirmed" in refused.stderr
    assert fake_gcloud.resources()["secrets"], "a wrong answer deleted something"

    confirmed = run_in_terminal(fake_gcloud, PROJECT)
    assert confirmed.returncode == 0, confirmed.stderr
    assert not fake_gcloud.resources()["secrets"]


def test_teardown_dry_run_runs_nothing(fake_gcloud):
    run = fake_gcloud.run(TEARDOWN, "--dry-run").ok()
    assert run.calls == []
    for command in ("run services delete", "pubsub topics delete", "secrets delete", "redis instances delete",
                    "projects remove-iam-policy-binding", "monitoring dashboards delete"):
        assert f"[dry-run] gcloud {command}" in run.output
    assert "would be deleted, if it carries the created-by=aa-integration-deploy label" in run.output


def test_teardown_keeps_a_repository_that_holds_other_images(deployment, tmp_path):
    fake_gcloud = copy_of(deployment.fake, tmp_path / "copy")
    state_file = fake_gcloud.state / "state.json"
    state = json.loads(state_file.read_text())
    state["packages"]["aa-integration"].append("someone-elses-image")
    state_file.write_text(json.dumps(state))
    run = fake_gcloud.run(TEARDOWN, "--yes").ok()
    assert "holds other images, left alone" in run.output
    assert fake_gcloud.resources()["artifacts repositories"]
    assert json.loads(state_file.read_text())["packages"]["aa-integration"] == ["someone-elses-image"]
