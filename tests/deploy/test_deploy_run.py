"""deploy/deploy.sh against the gcloud stand-in: every tutorial step, twice, and as a dry run."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from tests.deploy.conftest import ADMIN, CONFIG, DEPLOY, PROJECT, REPO_ROOT, Run
from tests.deploy.fake_gcloud import PROJECT_NUMBER, REDIS_HOST, REDIS_PORT, service_url

REGION = CONFIG["SERVICE_REGION"]
CONNECTOR_SA = f"aa-ui-connector@{PROJECT}.iam.gserviceaccount.com"
INTERCEPTOR_SA = f"aa-pubsub-interceptor@{PROJECT}.iam.gserviceaccount.com"
INVOKER_SA = f"cloud-run-pubsub-invoker@{PROJECT}.iam.gserviceaccount.com"
PUBSUB_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
TOPIC_ROUTES = {
    "aa-new-suggestion": "human-agent-assistant-event",
    "aa-new-message": "new-message-event",
    "aa-conversation-lifecycle": "conversation-lifecycle-event",
    "aa-new-recognition-result": "new-recognition-result-notification-event",
}
DEAD_LETTER_TOPIC = "aa-interceptor-dead-letter"
MUTATING_VERBS = {"create", "enable", "add", "add-iam-policy-binding", "remove-iam-policy-binding", "delete"}


def granted(run: Run, group: str, resource: str) -> set[tuple[str, str]]:
    """(role, member) pairs that `gcloud GROUP add-iam-policy-binding RESOURCE` calls granted."""
    return {(call.flags["--role"], call.flags["--member"])
            for call in run.find(f"{group} add-iam-policy-binding", resource)}


# --- the first run: every step of the tutorial, with its essential flags ---

def test_first_run_enables_every_api(deployment):
    enable = deployment.first.one("services enable")
    assert set(enable.args) == {
        f"{api}.googleapis.com" for api in
        ("run", "cloudbuild", "artifactregistry", "secretmanager", "redis", "vpcaccess", "pubsub",
         "dialogflow", "compute", "iam")
    }


def test_every_call_names_the_project_and_no_variable_is_left_unexpanded(deployment):
    for call in deployment.first.calls + deployment.second.calls:
        assert call.flags.get("--project") == PROJECT, call.argv
        assert not any("$" in arg for arg in call.argv), f"unexpanded variable in {call.argv}"


def test_flags_carry_their_values_after_an_equals_sign(deployment):
    # `--flag value` would leave `value` looking like a positional argument: each call has at most
    # its resource name (or the build's source directory) as positional, `services enable` its APIs.
    for call in deployment.first.calls:
        if call.path != "services enable":
            assert len(call.args) <= 1, call.argv


def test_runtime_service_accounts_are_created_with_their_roles(deployment):
    run = deployment.first
    assert {call.args[0] for call in run.find("iam service-accounts create")} == {
        "aa-ui-connector", "aa-pubsub-interceptor", "cloud-run-pubsub-invoker"}
    project_grants = granted(run, "projects", PROJECT)
    connector_roles = {role for role, member in project_grants if member == f"serviceAccount:{CONNECTOR_SA}"}
    interceptor_roles = {role for role, member in project_grants if member == f"serviceAccount:{INTERCEPTOR_SA}"}
    assert connector_roles == {"roles/pubsub.editor", "roles/redis.editor", "roles/vpcaccess.user",
                               "roles/compute.viewer", "roles/dialogflow.agentAssistClient"}
    # secretAccessor: on the JWT secret itself, not on every secret of the project.
    assert granted(run, "secrets", "aa-integration-jwt-secret") == {
        ("roles/secretmanager.secretAccessor", f"serviceAccount:{CONNECTOR_SA}")}
    assert interceptor_roles == {"roles/redis.editor", "roles/vpcaccess.user", "roles/compute.viewer"}


def test_jwt_secret_is_generated_into_secret_manager_through_stdin(deployment):
    create = deployment.first.one("secrets create", "aa-integration-jwt-secret")
    assert create.flags["--data-file"] == "-"
    assert create.flags["--replication-policy"] == "user-managed"
    assert create.flags["--locations"] == REGION
    [record] = deployment.fake.stdin_records()
    secret = record["stdin"]
    assert len(secret) >= 32
    # Shannon entropy of the characters, in bits: random base64url gives ~6 a character.
    counts = Counter(secret)
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values()) * len(secret)
    assert bits >= 192, f"the generated key looks predictable ({bits:.0f} bits)"


def test_jwt_secret_never_appears_in_arguments_or_output(deployment):
    [record] = deployment.fake.stdin_records()
    secret = record["stdin"]
    for run in (deployment.first, deployment.second):
        assert not any(secret in arg for call in run.calls for arg in call.argv)
        assert secret not in run.output
    assert secret not in (deployment.fake.state / "calls.jsonl").read_text()


def test_each_deployment_generates_a_different_secret(fake_gcloud, deployment):
    fake_gcloud.run(DEPLOY, "service-accounts", "secret").ok()
    [mine] = fake_gcloud.stdin_records()
    [theirs] = deployment.fake.stdin_records()
    assert mine["stdin"] != theirs["stdin"]


def test_redis_and_vpc_connector_are_created_and_read_back(deployment):
    run = deployment.first
    redis = run.one("redis instances create", "aa-integration-redis")
    assert redis.flags["--size"] == "5"
    assert redis.flags["--region"] == REGION
    assert redis.flags["--network"] == "default"
    connector = run.one("compute networks vpc-access connectors create", "aa-integration-vpc")
    assert connector.flags["--network"] == redis.flags["--network"], "Redis and the connector share a network"
    assert connector.flags["--region"] == REGION
    assert connector.flags["--range"] == "10.8.0.0/28"
    reads = {call.flags.get("--format") for call in run.find("redis instances describe", "aa-integration-redis")}
    assert {"value(host)", "value(port)"} <= reads


def test_images_are_built_by_cloud_build_into_artifact_registry(deployment):
    run = deployment.first
    repository = run.one("artifacts repositories create", "aa-integration")
    assert repository.flags["--repository-format"] == "docker"
    assert repository.flags["--location"] == REGION
    builds = run.find("builds submit")
    dockerfiles = set()
    for build in builds:
        assert build.args == [str(REPO_ROOT)], "the build context is the repository root"
        assert build.flags["--config"] == str(REPO_ROOT / "deploy" / "cloudbuild.yaml")
        substitutions = dict(item.split("=", 1) for item in build.flags["--substitutions"].split(","))
        assert (REPO_ROOT / substitutions["_DOCKERFILE"]).is_file()
        assert substitutions["_IMAGE"].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/aa-integration/")
        dockerfiles.add(substitutions["_DOCKERFILE"])
    assert dockerfiles == {"ui_connector/Dockerfile", "cloud_pubsub_interceptor/Dockerfile"}
    assert not any("gcr.io" in arg for call in run.calls for arg in call.argv)


def test_ui_connector_is_deployed_for_socket_io(deployment):
    deploy = deployment.first.one("run deploy", "ui-connector")
    flags = deploy.flags
    assert flags["--image"].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/aa-integration/ui-connector:")
    assert flags["--region"] == REGION
    assert flags["--service-account"] == CONNECTOR_SA
    assert flags["--allow-unauthenticated"] is True
    assert flags["--timeout"] == "3600"
    assert flags["--vpc-connector"] == "aa-integration-vpc"
    assert flags["--update-secrets"] == "/secret/jwt_secret_key=aa-integration-jwt-secret:latest"
    assert flags["--session-affinity"] is True
    assert flags["--no-cpu-throttling"] is True
    assert flags["--min-instances"] == "1"
    assert flags["--concurrency"] == CONFIG["GUNICORN_WORKER_CONNECTIONS"]
    env = deploy.env_vars()
    assert env["GUNICORN_WORKER_CONNECTIONS"] == flags["--concurrency"]
    assert env["REDISHOST"] == REDIS_HOST
    assert env["REDISPORT"] == REDIS_PORT
    assert env["GCP_PROJECT_ID"] == PROJECT
    assert env["JWT_SECRET_KEY_PATH"] == "/secret/jwt_secret_key"
    # Optional settings pass through, commas in a value included.
    assert env["CORS_ALLOWED_ORIGINS"] == CONFIG["CORS_ALLOWED_ORIGINS"]
    assert env["AUTH_OPTION"] == "OIDC"
    assert "LOGGING_FILE" not in env


def test_interceptor_is_deployed_private(deployment):
    deploy = deployment.first.one("run deploy", "cloud-pubsub-interceptor")
    flags = deploy.flags
    assert flags["--image"].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/aa-integration/cloud-pubsub-interceptor:")
    assert flags["--service-account"] == INTERCEPTOR_SA
    assert flags["--ingress"] == "internal"
    assert flags["--no-allow-unauthenticated"] is True
    assert "--allow-unauthenticated" not in flags
    assert flags["--vpc-connector"] == "aa-integration-vpc"
    env = deploy.env_vars()
    assert (env["REDISHOST"], env["REDISPORT"]) == (REDIS_HOST, REDIS_PORT)
    assert env["LOGGING_FILE"] == CONFIG["LOGGING_FILE"]
    assert "CORS_ALLOWED_ORIGINS" not in env


def test_topics_and_one_push_subscription_per_route(deployment):
    run = deployment.first
    topics = {call.args[0] for call in run.find("pubsub topics create")}
    assert topics == set(TOPIC_ROUTES) | {DEAD_LETTER_TOPIC}
    url = service_url("cloud-pubsub-interceptor")
    pushes = [call for call in run.find("pubsub subscriptions create") if "--push-endpoint" in call.flags]
    assert len({call.args[0] for call in pushes}) == len(pushes) == 4, "each subscription has its own name"
    for call in pushes:
        topic = call.flags["--topic"]
        assert call.flags["--push-endpoint"] == f"{url}/{TOPIC_ROUTES[topic]}"
        assert call.flags["--push-auth-service-account"] == INVOKER_SA
        assert call.flags["--dead-letter-topic"] == DEAD_LETTER_TOPIC
        assert int(call.flags["--max-delivery-attempts"]) >= 5
        assert call.flags["--ack-deadline"] == "60"
        assert call.flags["--min-retry-delay"] and call.flags["--max-retry-delay"]
    assert {call.flags["--topic"] for call in pushes} == set(TOPIC_ROUTES)


def test_dead_letters_are_kept_and_the_pubsub_agent_may_move_them(deployment):
    run = deployment.first
    holds = [call for call in run.find("pubsub subscriptions create") if call.flags.get("--topic") == DEAD_LETTER_TOPIC]
    assert len(holds) == 1 and "--push-endpoint" not in holds[0].flags
    assert granted(run, "pubsub topics", DEAD_LETTER_TOPIC) == {("roles/pubsub.publisher", PUBSUB_AGENT)}
    for topic in TOPIC_ROUTES:
        assert granted(run, "pubsub subscriptions", f"{topic}-interceptor") == {("roles/pubsub.subscriber", PUBSUB_AGENT)}


def test_only_the_invoker_may_call_the_interceptor(deployment):
    run = deployment.first
    [binding] = run.find("run services add-iam-policy-binding", "cloud-pubsub-interceptor")
    assert binding.flags["--member"] == f"serviceAccount:{INVOKER_SA}"
    assert binding.flags["--role"] == "roles/run.invoker"
    assert binding.flags["--region"] == REGION
    assert granted(run, "iam service-accounts", INVOKER_SA) == {("roles/iam.serviceAccountTokenCreator", PUBSUB_AGENT)}


def test_next_steps_tell_the_operator_what_to_configure(deployment):
    stdout = deployment.first.result.stdout
    for topic in TOPIC_ROUTES:
        assert f"projects/{PROJECT}/topics/{topic}" in stdout
    assert "JSON" in stdout
    assert service_url("ui-connector") in stdout


def test_admin_step_is_skipped_without_admin_account(deployment):
    assert "ADMIN_ACCOUNT is not set: skipped" in deployment.first.output
    assert not any(member.startswith("user:") for _, member in granted(deployment.first, "projects", PROJECT))


def test_admin_step_grants_the_tutorial_roles(admin_runs):
    first, second = admin_runs
    roles = {role for role, member in granted(first, "projects", PROJECT) if member == f"user:{ADMIN}"}
    assert roles >= {"roles/secretmanager.admin", "roles/run.admin", "roles/iam.serviceAccountUser",
                     "roles/cloudbuild.builds.editor", "roles/artifactregistry.admin", "roles/pubsub.editor",
                     "roles/redis.admin"}
    assert not second.find("projects add-iam-policy-binding")
    assert "exists, unchanged" in second.output


# --- the second run ---

def test_second_run_creates_nothing(deployment):
    second = deployment.second
    changes = [call.argv for call in second.calls if call.command[-1] in MUTATING_VERBS]
    assert changes == []
    assert not deployment.fake.stdin_records()[1:], "the secret was written again"
    # Only the image builds and the deploys run again; they make new revisions, nothing new.
    assert Counter(call.path for call in second.calls if call.command[-1] in {"submit", "deploy"}) == {
        "builds submit": 2, "run deploy": 2}


def test_second_run_says_what_it_left_alone(deployment):
    output = deployment.second.output
    for label in ("service account " + CONNECTOR_SA, "secret aa-integration-jwt-secret",
                  "Redis instance aa-integration-redis", "Serverless VPC Access connector aa-integration-vpc",
                  "Artifact Registry repository aa-integration", "topic aa-new-message",
                  "subscription aa-new-message-interceptor -> /new-message-event",
                  "API run.googleapis.com"):
        assert f"{label}: exists, unchanged" in output
    assert ": created" not in output


def test_first_run_leaves_the_stand_in_without_complaint(deployment):
    # The stand-in refuses out-of-order work (deploying an unbuilt image, subscribing to a missing
    # topic, binding a role to a missing account); the first run must have met none of it.
    assert "ERROR" not in deployment.first.output


def test_stand_in_refuses_work_done_out_of_order(fake_gcloud):
    # Deploying before the service account and the secret exist: real gcloud would refuse too.
    run = fake_gcloud.run(DEPLOY, "connector", config={**CONFIG, "REDIS_HOST": "10.0.0.9", "REDIS_PORT": "6379"})
    assert run.result.returncode != 0
    assert run.find("run deploy", "ui-connector")
    assert "NOT_FOUND" in run.result.stderr
    assert not fake_gcloud.resources().get("run services")


# --- steps alone, dry runs, failures ---

def test_each_step_runs_alone_to_the_same_result(fake_gcloud, deployment):
    for step in ("check", "apis", "admin", "service-accounts", "secret", "redis", "registry",
                 "connector", "interceptor", "pubsub", "next-steps"):
        fake_gcloud.run(DEPLOY, step).ok()
    assert fake_gcloud.resources() == deployment.fake.resources() | {
        "run services": fake_gcloud.resources()["run services"]}
    assert fake_gcloud.policies() == deployment.fake.policies()


def test_dry_run_runs_nothing_and_shows_everything(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "--dry-run").ok()
    assert run.calls == []
    assert not (fake_gcloud.state / "calls.jsonl").exists()
    assert "| gcloud secrets create" in run.output, "the secret is piped in, never an argument"
    for command in ("services enable", "iam service-accounts create", "redis instances create",
                    "compute networks vpc-access connectors create", "artifacts repositories create",
                    "builds submit", "run deploy ui-connector", "run deploy cloud-pubsub-interceptor",
                    "pubsub topics create", "pubsub subscriptions create", "run services add-iam-policy-binding"):
        assert f"[dry-run] gcloud {command}" in run.output


def test_dry_run_of_one_step_runs_nothing(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "pubsub", "--dry-run").ok()
    assert run.calls == []
    assert "[dry-run] gcloud pubsub subscriptions create" in run.output


def test_help_lists_every_step_and_runs_nothing(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "--help").ok()
    for step in ("check", "apis", "admin", "service-accounts", "secret", "redis", "registry",
                 "connector", "interceptor", "pubsub", "next-steps", "--dry-run"):
        assert f"  {step}" in run.output
    assert run.calls == []


@pytest.mark.parametrize("args, config, message", [
    (["bogus"], CONFIG, "unknown step: bogus"),
    ([], {**CONFIG, "GCP_PROJECT_ID": ""}, "GCP_PROJECT_ID must be set"),
    ([], {**CONFIG, "GCP_PROJECT_ID": "enter_project_id_here"}, "GCP_PROJECT_ID must be a Google Cloud project ID"),
    ([], {**CONFIG, "GUNICORN_WORKER_CONNECTIONS": "5000"}, "GUNICORN_WORKER_CONNECTIONS must be a whole number"),
    ([], {**CONFIG, "REDIS_IP_RANGE": "10.8.0.0/24"}, "REDIS_IP_RANGE must be an unused /28"),
    ([], {**CONFIG, "AUTH_OPTION": "Skip"}, "AUTH_OPTION=Skip"),
])
def test_bad_input_stops_before_any_call(fake_gcloud, args, config, message):
    run = fake_gcloud.run(DEPLOY, *args, config=config)
    assert run.result.returncode != 0
    assert message in run.result.stderr
    assert run.calls == []


def test_a_failure_other_than_not_found_stops_the_run(fake_gcloud):
    config = {**CONFIG, "FAKE_GCLOUD_FAIL": "redis instances describe"}
    run = fake_gcloud.run(DEPLOY, "redis", config=config)
    assert run.result.returncode != 0
    assert "PERMISSION_DENIED" in run.result.stderr
    assert run.find("redis instances describe")
    assert not run.find("redis instances create")
