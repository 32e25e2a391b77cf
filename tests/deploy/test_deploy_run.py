"""deploy/deploy.sh against the gcloud stand-in: every step, twice, and as a dry run."""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest

from aa_common.events import EventKind
from tests.deploy.conftest import ADMIN, CONFIG, DEPLOY, DEPLOY_DIR, LEAN_CONFIG, PROJECT, REPO_ROOT, TOPIC_ROUTES, Run
from tests.deploy.fake_gcloud import FAKE_CA, PROJECT_NUMBER, REDIS_HOST, REDIS_TLS_PORT, service_url

REGION = CONFIG["SERVICE_REGION"]
CONNECTOR_SA = f"aa-ui-connector@{PROJECT}.iam.gserviceaccount.com"
INTERCEPTOR_SA = f"aa-pubsub-interceptor@{PROJECT}.iam.gserviceaccount.com"
INVOKER_SA = f"cloud-run-pubsub-invoker@{PROJECT}.iam.gserviceaccount.com"
PUBSUB_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
DEAD_LETTER_TOPIC = "aa-interceptor-dead-letter"
AUDIENCE = f"{PROJECT}/{REGION}/cloud-pubsub-interceptor/pubsub-push"
LABEL = "created-by=aa-integration-deploy"
MUTATING_VERBS = {"create", "enable", "add", "add-iam-policy-binding", "remove-iam-policy-binding", "delete", "update"}


def granted(run: Run, group: str, resource: str) -> set[tuple[str, str]]:
    """(role, member) pairs that `gcloud GROUP add-iam-policy-binding RESOURCE` calls granted."""
    return {(call.flags["--role"], call.flags["--member"])
            for call in run.find(f"{group} add-iam-policy-binding", resource)}


def project_roles(run: Run, account: str) -> set[str]:
    return {role for role, member in granted(run, "projects", PROJECT) if member == f"serviceAccount:{account}"}


def app_container(deploy) -> dict:
    containers = deploy.containers()
    serving = [flags for flags in containers.values() if "--port" in flags]
    assert len(serving) == 1, containers
    return serving[0]


# --- the first run: every step, with its essential flags ---

def test_first_run_enables_every_api(deployment):
    enable = deployment.first.one("services enable")
    assert set(enable.args) == {
        f"{api}.googleapis.com" for api in
        ("run", "cloudbuild", "artifactregistry", "secretmanager", "redis", "pubsub",
         "dialogflow", "compute", "iam", "monitoring")
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


# --- least privilege ---

def test_runtime_accounts_get_only_the_roles_their_service_uses(deployment):
    run = deployment.first
    assert {call.args[0] for call in run.find("iam service-accounts create")} == {
        "aa-ui-connector", "aa-pubsub-interceptor", "cloud-run-pubsub-invoker"}
    assert project_roles(run, CONNECTOR_SA) == {"roles/dialogflow.agentAssistClient", "roles/monitoring.metricWriter"}
    assert project_roles(run, INTERCEPTOR_SA) == {"roles/monitoring.metricWriter"}
    # No Pub/Sub role for the internet-facing UI connector, none of the tutorial's leftovers for either.
    for account in (CONNECTOR_SA, INTERCEPTOR_SA):
        assert not {role for role in project_roles(run, account)
                    if role.startswith("roles/pubsub.") or role in {"roles/redis.editor", "roles/compute.viewer",
                                                                    "roles/vpcaccess.user"}}
    # Secrets are opened one by one: the JWT key to the UI connector, Redis's AUTH and CA to both.
    assert granted(run, "secrets", "aa-integration-jwt-secret") == {
        ("roles/secretmanager.secretAccessor", f"serviceAccount:{CONNECTOR_SA}")}
    for secret in ("aa-integration-redis-auth", "aa-integration-redis-server-ca"):
        assert granted(run, "secrets", secret) == {("roles/secretmanager.secretAccessor", f"serviceAccount:{CONNECTOR_SA}"),
                                                   ("roles/secretmanager.secretAccessor", f"serviceAccount:{INTERCEPTOR_SA}")}


def test_every_runtime_role_has_a_one_line_reason():
    script = (DEPLOY_DIR / "steps" / "service_accounts.sh").read_text().splitlines()
    granting = [i for i, line in enumerate(script) if re.search(r"printf '%s\\n' roles/", line)]
    assert len(granting) == 3
    for i in granting:
        assert script[i - 1].strip().startswith("#") and len(script[i - 1]) > 30, script[i]
    text = "\n".join(script)
    for dropped in ("roles/pubsub.editor", "roles/redis.editor", "roles/compute.viewer", "roles/vpcaccess.user"):
        assert re.search(rf"^#\s+{re.escape(dropped)}\s+\S", text, re.M), f"no reason for dropping {dropped}"


# --- secrets: the JWT key and Redis's AUTH string, never on a command line or in the output ---

def stdin_of(fake, secret: str) -> list[str]:
    return [record["stdin"] for record in fake.stdin_records() if secret in record["argv"]]


def test_jwt_secret_is_generated_into_secret_manager_through_stdin(deployment):
    create = deployment.first.one("secrets create", "aa-integration-jwt-secret")
    assert create.flags["--data-file"] == "-"
    assert create.flags["--replication-policy"] == "user-managed"
    assert create.flags["--locations"] == REGION
    assert create.flags["--labels"] == LABEL
    [secret] = stdin_of(deployment.fake, "aa-integration-jwt-secret")
    assert len(secret) >= 32
    # Shannon entropy of the characters, in bits: random base64url gives ~6 a character.
    counts = Counter(secret)
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values()) * len(secret)
    assert bits >= 192, f"the generated key looks predictable ({bits:.0f} bits)"


def test_no_secret_appears_in_arguments_or_output(deployment):
    auth_string = deployment.fake.state_json()["auth_strings"]["aa-integration-redis"]
    [jwt_key] = stdin_of(deployment.fake, "aa-integration-jwt-secret")
    for secret in (jwt_key, auth_string):
        for run in (deployment.first, deployment.second):
            assert not any(secret in arg for call in run.calls for arg in call.argv)
            assert secret not in run.output
        assert secret not in (deployment.fake.state / "calls.jsonl").read_text()


def test_each_deployment_generates_a_different_secret(fake_gcloud, deployment):
    fake_gcloud.run(DEPLOY, "service-accounts", "secret").ok()
    [mine] = stdin_of(fake_gcloud, "aa-integration-jwt-secret")
    [theirs] = stdin_of(deployment.fake, "aa-integration-jwt-secret")
    assert mine != theirs


def test_the_auth_string_goes_from_memorystore_into_secret_manager_by_pipe(deployment):
    run = deployment.first
    read = run.one("redis instances get-auth-string", "aa-integration-redis")
    assert read.flags["--region"] == REGION
    create = run.one("secrets create", "aa-integration-redis-auth")
    assert create.flags["--data-file"] == "-" and create.flags["--labels"] == LABEL
    auth_string = deployment.fake.state_json()["auth_strings"]["aa-integration-redis"]
    assert deployment.fake.secret_versions("aa-integration-redis-auth") == [auth_string]
    assert "get-auth-string aa-integration-redis --region=europe-west1 '--format=value(authString)' " \
           "--project=aa-deploy-test | tr -d '\\r\\n' | gcloud secrets create aa-integration-redis-auth" in run.output
    # The second run compares without showing: nothing is written again.
    assert "secret aa-integration-redis-auth (Redis AUTH string): exists, unchanged" in deployment.second.output
    assert not deployment.second.find("secrets versions add")


def test_the_server_ca_certificate_goes_into_secret_manager(deployment):
    assert deployment.fake.secret_versions("aa-integration-redis-server-ca") == [FAKE_CA.format("aa-integration-redis") + "\n"]
    assert deployment.first.one("secrets create", "aa-integration-redis-server-ca").flags["--data-file"] == "-"


def test_a_changed_auth_string_is_added_as_a_new_version(fake_gcloud):
    fake_gcloud.run(DEPLOY, "service-accounts", "network", "redis").ok()
    state_file = fake_gcloud.state / "state.json"
    state = fake_gcloud.state_json()
    state["auth_strings"]["aa-integration-redis"] = "rotated-auth-string-0123456789"
    state_file.write_text(__import__("json").dumps(state))
    run = fake_gcloud.run(DEPLOY, "redis").ok()
    assert run.one("secrets versions add", "aa-integration-redis-auth").flags["--data-file"] == "-"
    assert fake_gcloud.secret_versions("aa-integration-redis-auth")[-1] == "rotated-auth-string-0123456789"
    assert "rotated-auth-string" not in run.output


# --- Redis and the network ---

def test_redis_is_standard_tier_with_auth_and_tls(deployment):
    run = deployment.first
    redis = run.one("redis instances create", "aa-integration-redis")
    assert redis.flags["--tier"] == "standard"
    assert redis.flags["--enable-auth"] is True
    assert redis.flags["--transit-encryption-mode"] == "server-authentication"
    assert redis.flags["--size"] == "5"
    assert redis.flags["--region"] == REGION
    assert redis.flags["--network"] == f"projects/{PROJECT}/global/networks/default"
    assert redis.flags["--redis-config"] == "maxmemory-policy=noeviction"
    assert redis.flags["--labels"] == LABEL


def test_direct_vpc_egress_is_the_default_and_no_connector_is_made(deployment):
    run = deployment.first
    assert not run.find("compute networks vpc-access connectors create")
    assert run.one("compute networks subnets describe", "default").flags["--region"] == REGION
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        flags = run.one("run deploy", service).service_flags()
        assert (flags["--network"], flags["--subnet"], flags["--vpc-egress"]) == ("default", "default", "private-ranges-only")
        assert "--vpc-connector" not in flags


def test_the_connector_stays_an_option(lean_deployment):
    run = lean_deployment.first
    connector = run.one("compute networks vpc-access connectors create", "aa-integration-vpc")
    assert connector.flags["--network"] == "default"
    assert connector.flags["--region"] == REGION
    assert connector.flags["--range"] == "10.8.0.0/28"
    assert "vpcaccess.googleapis.com" in run.one("services enable").args
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        flags = run.one("run deploy", service).service_flags()
        assert flags["--vpc-connector"] == "aa-integration-vpc" and flags["--vpc-egress"] == "private-ranges-only"
        assert "--network" not in flags and "--subnet" not in flags
    assert run.one("redis instances create").flags["--tier"] == "basic"


@pytest.mark.parametrize("state_change, message", [
    (lambda state: state["absent"].append("compute networks subnets|default"), "subnet default (for Direct VPC egress) does not exist"),
    (lambda state: state["resources"].setdefault("compute networks subnets", {}).update(
        {"default": {"name": "default", "ipCidrRange": "10.1.0.0/28",
                     "network": "https://www.googleapis.com/compute/v1/projects/p/global/networks/default"}}),
     "Direct VPC egress needs a /26 or larger"),
    (lambda state: state["absent"].append("compute networks|default"), "VPC network default does not exist"),
])
def test_a_missing_or_unfit_network_stops_with_the_command_to_fix_it(fake_gcloud, state_change, message):
    import json
    state_file = fake_gcloud.state / "state.json"
    state = {"absent": [], "resources": {}}
    state_change(state)
    state_file.write_text(json.dumps(state))
    run = fake_gcloud.run(DEPLOY, "network")
    assert run.result.returncode != 0
    assert message in run.result.stderr
    assert "gcloud compute networks" in run.result.stderr or "/26" in run.result.stderr


# --- images ---

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


# --- the services ---

def test_ui_connector_is_deployed_for_socket_io(deployment):
    deploy = deployment.first.one("run deploy", "ui-connector")
    flags = deploy.service_flags()
    assert flags["--region"] == REGION
    assert flags["--service-account"] == CONNECTOR_SA
    assert flags["--allow-unauthenticated"] is True
    assert flags["--timeout"] == "3600"
    assert flags["--session-affinity"] is True
    assert flags["--no-cpu-throttling"] is True
    assert flags["--min-instances"] == "1"
    assert flags["--concurrency"] == str(int(CONFIG["SOCKET_MAX_CONNECTIONS"]) + 100)
    assert flags["--labels"] == LABEL
    app = app_container(deploy)
    assert app["--image"].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/aa-integration/ui-connector:")
    env = deploy.env_vars()
    assert env["SOCKET_MAX_CONNECTIONS"] == CONFIG["SOCKET_MAX_CONNECTIONS"]
    assert env["TRUSTED_PROXY_HOPS"] == "1", "Cloud Run's front end appends the desktop's address"
    assert env["GCP_PROJECT_ID"] == PROJECT
    assert env["JWT_SECRET_KEY_PATH"] == "/secret/jwt_secret_key"
    # Optional settings pass through, commas in a value included.
    assert env["CORS_ALLOWED_ORIGINS"] == CONFIG["CORS_ALLOWED_ORIGINS"]
    assert env["AUTH_OPTION"] == "OIDC"
    assert "LOGGING_FILE" not in env and "PUSH_AUDIENCE" not in env


@pytest.mark.parametrize("service", ["ui-connector", "cloud-pubsub-interceptor"])
def test_both_services_reach_redis_with_auth_and_tls(deployment, service):
    deploy = deployment.first.one("run deploy", service)
    env = deploy.env_vars()
    assert (env["REDISHOST"], env["REDISPORT"]) == (REDIS_HOST, REDIS_TLS_PORT)
    assert env["REDIS_TLS"] == "true"
    assert env["REDIS_TLS_CA_CERT"] == "/redis-ca/server-ca.pem"
    assert env["REDIS_WAIT_REPLICAS"] == "1", "the standard tier has a replica: a push waits for it"
    assert "REDIS_PASSWORD" not in env, "the AUTH string is a secret, never a plain variable"
    assert "REDIS_CLUSTER" not in env and "REDIS_AUTH" not in env
    secrets = dict(item.split("=", 1) for item in app_container(deploy)["--update-secrets"].split(","))
    assert secrets["REDIS_PASSWORD"] == "aa-integration-redis-auth:latest"
    assert secrets["/redis-ca/server-ca.pem"] == "aa-integration-redis-server-ca:latest"


@pytest.mark.parametrize("service", ["ui-connector", "cloud-pubsub-interceptor"])
def test_both_services_have_startup_and_liveness_probes_on_their_health_endpoints(deployment, service):
    app = app_container(deployment.first.one("run deploy", service))
    startup = dict(item.split("=") for item in app["--startup-probe"].split(","))
    liveness = dict(item.split("=") for item in app["--liveness-probe"].split(","))
    assert startup["httpGet.path"] == "/readyz" and liveness["httpGet.path"] == "/healthz"
    assert startup["httpGet.port"] == liveness["httpGet.port"] == app["--port"] == "8080"
    # Cloud Run allows a startup probe at most 240 s; Direct VPC egress may take a minute to connect.
    budget = int(startup.get("initialDelaySeconds", 0)) + int(startup["periodSeconds"]) * int(startup["failureThreshold"])
    assert 60 <= budget <= 240
    assert int(liveness["periodSeconds"]) * int(liveness["failureThreshold"]) >= 60
    assert int(startup["timeoutSeconds"]) <= int(startup["periodSeconds"])


def test_interceptor_is_deployed_private_and_checks_the_push_token(deployment):
    deploy = deployment.first.one("run deploy", "cloud-pubsub-interceptor")
    flags = deploy.service_flags()
    assert flags["--service-account"] == INTERCEPTOR_SA
    assert flags["--ingress"] == "internal"
    assert flags["--no-allow-unauthenticated"] is True
    assert "--allow-unauthenticated" not in flags
    assert flags["--set-custom-audiences"] == AUDIENCE
    app = app_container(deploy)
    assert app["--image"].startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/aa-integration/cloud-pubsub-interceptor:")
    env = deploy.env_vars()
    assert env["PUSH_AUDIENCE"] == AUDIENCE
    assert env["PUSH_SERVICE_ACCOUNT"] == INVOKER_SA
    assert env["LOGGING_FILE"] == CONFIG["LOGGING_FILE"]
    assert env["INTERCEPTOR_WORKERS"] == "1" and flags["--concurrency"] == "80"
    assert "CORS_ALLOWED_ORIGINS" not in env
    assert "/secret/jwt_secret_key" not in app["--update-secrets"], "only the UI connector signs JWTs"


def test_secrets_no_longer_used_are_removed_from_the_services(reconfigured):
    # Pointed at another Redis without AUTH or TLS: the AUTH string and the CA leave the services.
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        deploy = reconfigured.run.one("run deploy", service)
        app = app_container(deploy)
        assert set(app["--remove-secrets"].split(",")) == {"REDIS_PASSWORD", "/redis-ca/server-ca.pem"}
        env = deploy.env_vars()
        assert (env["REDISHOST"], env["REDISPORT"]) == ("10.0.0.5", "6379")
        assert not {"REDIS_TLS", "REDIS_TLS_CA_CERT"} & set(env)
    connector = app_container(reconfigured.run.one("run deploy", "ui-connector"))
    assert connector["--update-secrets"] == "/secret/jwt_secret_key=aa-integration-jwt-secret:latest"
    spec = reconfigured.fake.resources()["run services"]["cloud-pubsub-interceptor"]["spec"]["template"]["spec"]
    assert "volumes" not in spec and not [e for e in spec["containers"][0]["env"] if "valueFrom" in e]


def test_basic_tier_services_wait_for_no_replica(lean_deployment):
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        assert "REDIS_WAIT_REPLICAS" not in lean_deployment.first.one("run deploy", service).env_vars()


# --- Pub/Sub ---

def test_topics_and_one_push_subscription_per_route(deployment):
    run = deployment.first
    topics = {call.args[0] for call in run.find("pubsub topics create")}
    assert topics == set(TOPIC_ROUTES) | {DEAD_LETTER_TOPIC}
    assert all(call.flags["--labels"] == LABEL for call in run.find("pubsub topics create"))
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
        assert call.flags["--expiration-period"] == "never"
    assert {call.flags["--topic"] for call in pushes} == set(TOPIC_ROUTES)


def test_one_audience_for_all_four_subscriptions_and_the_interceptor(deployment):
    run = deployment.first
    audiences = {call.flags["--push-auth-token-audience"] for call in run.find("pubsub subscriptions create")
                 if "--push-endpoint" in call.flags}
    interceptor = run.one("run deploy", "cloud-pubsub-interceptor")
    assert audiences == {interceptor.env_vars()["PUSH_AUDIENCE"]} == {interceptor.service_flags()["--set-custom-audiences"]}
    assert {sub["pushConfig"]["oidcToken"]["audience"]
            for name, sub in deployment.fake.resources()["pubsub subscriptions"].items() if "pushConfig" in sub} == audiences


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
    assert f"monitoring/dashboards/builder/aa-integration?project={PROJECT}" in stdout
    assert "differ from the configuration" not in stdout


def test_admin_step_is_skipped_without_admin_account(deployment):
    assert "ADMIN_ACCOUNT is not set: skipped" in deployment.first.output
    assert not any(member.startswith("user:") for _, member in granted(deployment.first, "projects", PROJECT))


def test_admin_step_grants_what_the_steps_need(admin_runs):
    first, second = admin_runs
    roles = {role for role, member in granted(first, "projects", PROJECT) if member == f"user:{ADMIN}"}
    assert roles >= {"roles/secretmanager.admin", "roles/run.admin", "roles/iam.serviceAccountUser",
                     "roles/cloudbuild.builds.editor", "roles/artifactregistry.admin", "roles/pubsub.editor",
                     "roles/redis.admin", "roles/compute.networkUser", "roles/monitoring.dashboardEditor"}
    assert "roles/vpcaccess.admin" not in roles, "no connector with Direct VPC egress"
    assert not second.find("projects add-iam-policy-binding")
    assert "exists, unchanged" in second.output


# --- the second run ---

def test_second_run_creates_and_changes_nothing(deployment):
    second = deployment.second
    changes = [call.argv for call in second.calls if call.command[-1] in MUTATING_VERBS]
    assert changes == []
    assert len(stdin_of(deployment.fake, "aa-integration-jwt-secret")) == 1, "the secret was written again"
    # Only the image builds and the deploys run again; they make new revisions, nothing new.
    assert Counter(call.path for call in second.calls if call.command[-1] in {"submit", "deploy"}) == {
        "builds submit": 2, "run deploy": 2}


def test_second_run_says_what_it_left_alone(deployment):
    output = deployment.second.output
    for label in ("service account " + CONNECTOR_SA, "secret aa-integration-jwt-secret",
                  "Redis instance aa-integration-redis", "secret aa-integration-redis-auth (Redis AUTH string)",
                  "Artifact Registry repository aa-integration", f"topic {EventKind.NEW_MESSAGE.default_topic}",
                  f"subscription {EventKind.NEW_MESSAGE.default_topic}-interceptor -> /{EventKind.NEW_MESSAGE}",
                  "dashboard aa-integration",
                  "API run.googleapis.com"):
        assert f"{label}: exists, unchanged" in output
    assert ": created" not in output and ": updated" not in output


def test_first_run_leaves_the_stand_in_without_complaint(deployment):
    # The stand-in refuses out-of-order work (deploying an unbuilt image, subscribing to a missing
    # topic, binding a role to a missing account); the first run must have met none of it.
    assert "ERROR" not in deployment.first.output


def test_stand_in_refuses_work_done_out_of_order(fake_gcloud):
    # Deploying before the service account and the secret exist: real gcloud would refuse too.
    run = fake_gcloud.run(DEPLOY, "connector", config={**CONFIG, "REDIS_HOST": "10.0.0.9", "REDIS_PORT": "6379"})
    assert run.result.returncode != 0
    assert "NOT_FOUND" in run.result.stderr
    assert not fake_gcloud.resources().get("run services")


# --- steps alone, dry runs, failures ---

def test_each_step_runs_alone_to_the_same_result(fake_gcloud, deployment):
    for step in ("check", "apis", "admin", "service-accounts", "secret", "network", "redis", "registry",
                 "connector", "interceptor", "pubsub", "dashboard", "next-steps"):
        fake_gcloud.run(DEPLOY, step).ok()
    assert fake_gcloud.resources() == deployment.fake.resources() | {
        "run services": fake_gcloud.resources()["run services"]}
    assert fake_gcloud.policies() == deployment.fake.policies()


def test_dry_run_runs_nothing_and_shows_everything(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "--dry-run").ok()
    assert run.calls == []
    assert not (fake_gcloud.state / "calls.jsonl").exists()
    assert "| gcloud secrets create aa-integration-jwt-secret" in run.output, "the secret is piped in, never an argument"
    assert "get-auth-string" in run.output and "| gcloud secrets create aa-integration-redis-auth" in run.output
    for command in ("services enable", "iam service-accounts create", "redis instances create",
                    "compute networks subnets describe", "artifacts repositories create",
                    "builds submit", "run deploy ui-connector", "run deploy cloud-pubsub-interceptor",
                    "pubsub topics create", "pubsub subscriptions create", "run services add-iam-policy-binding",
                    "monitoring dashboards create"):
        assert f"[dry-run] gcloud {command}" in run.output
    # What a re-run against an existing project might do is shown too.
    for alternative in (f"pubsub subscriptions update {EventKind.NEW_MESSAGE.default_topic}-interceptor",
                        "projects remove-iam-policy-binding", "monitoring dashboards update aa-integration",
                        "secrets versions add aa-integration-redis-auth"):
        assert re.search(rf"\[dry-run\] \([^)]*\) .*gcloud {re.escape(alternative)}", run.output), alternative
    assert "--clear-vpc-connector" in run.output


def test_dry_run_of_one_step_runs_nothing(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "pubsub", "--dry-run").ok()
    assert run.calls == []
    assert "[dry-run] gcloud pubsub subscriptions create" in run.output


def test_help_lists_every_step_and_runs_nothing(fake_gcloud):
    run = fake_gcloud.run(DEPLOY, "--help").ok()
    for step in ("check", "apis", "admin", "service-accounts", "secret", "network", "redis", "registry",
                 "connector", "interceptor", "pubsub", "dashboard", "next-steps", "--dry-run"):
        assert f"  {step}" in run.output
    assert run.calls == []


@pytest.mark.parametrize("args, config, message", [
    (["bogus"], CONFIG, "unknown step: bogus"),
    ([], {**CONFIG, "GCP_PROJECT_ID": ""}, "GCP_PROJECT_ID must be set"),
    ([], {**CONFIG, "GCP_PROJECT_ID": "enter_project_id_here"}, "GCP_PROJECT_ID must be a Google Cloud project ID"),
    ([], {**CONFIG, "SOCKET_MAX_CONNECTIONS": "950"}, "SOCKET_MAX_CONNECTIONS must be a whole number"),
    ([], {**CONFIG, "REDIS_IP_RANGE": "10.8.0.0/24"}, "REDIS_IP_RANGE must be an unused /28"),
    ([], {**CONFIG, "AUTH_OPTION": "Skip"}, "AUTH_OPTION=Skip"),
    ([], {**CONFIG, "VPC_EGRESS": "serverless"}, "VPC_EGRESS must be direct"),
    ([], {**CONFIG, "REDIS_MODE": "sentinel"}, "REDIS_MODE must be instance"),
    ([], {**CONFIG, "REDIS_REPLICA_COUNT": "3"}, "REDIS_REPLICA_COUNT must be a whole number from 0 to 2"),
    ([], {**CONFIG, "PUSH_AUDIENCE": "a,b"}, "PUSH_AUDIENCE must be a token audience"),
    ([], {**CONFIG, "METRICS_SIDECAR_IMAGE": "collector"}, "METRICS_SIDECAR_IMAGE must be a container image"),
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


def test_env_sample_documents_the_new_settings():
    text = (Path(DEPLOY_DIR) / "env.sample").read_text()
    for name in ("VPC_EGRESS=direct", "VPC_SUBNET=default", "REDIS_MODE=instance", "REDIS_TIER=standard",
                 "REDIS_ENABLE_AUTH=true", "REDIS_TRANSIT_ENCRYPTION=server-authentication", "METRICS_SIDECAR=true"):
        assert f"\n{name}\n" in text
    assert LEAN_CONFIG["VPC_EGRESS"] == "connector"
