"""deploy.sh run again against a project that already holds the resources, with other settings.

The project is what the tutorial left (conftest.make_existing_project): a basic-tier Redis on 6.x
without AUTH or TLS, a VPC connector both services use, the tutorial's roles, topics without
labels, push subscriptions with a 10 s ack deadline and no retry policy, audience or dead letter.
"""
from __future__ import annotations

import shlex

from aa_common.events import EventKind
from tests.deploy.conftest import PROJECT, TOPIC_ROUTES, TUTORIAL_CONNECTOR_ROLES, TUTORIAL_INTERCEPTOR_ROLES
from tests.deploy.test_deploy_run import (AUDIENCE, CONNECTOR_SA, INTERCEPTOR_SA, INVOKER_SA, MUTATING_VERBS, REGION,
                                          app_container)
from tests.deploy.fake_gcloud import service_url

NEW_MESSAGE_SUBSCRIPTION = f"{EventKind.NEW_MESSAGE.default_topic}-interceptor"

URL = service_url("cloud-pubsub-interceptor")


def revoked(run, account: str) -> set[str]:
    return {call.flags["--role"] for call in run.find("projects remove-iam-policy-binding", PROJECT)
            if call.flags["--member"] == f"serviceAccount:{account}"}


def reported_commands(run) -> list[list[str]]:
    return [shlex.split(line.split("to change it: ", 1)[1]) for line in run.output.splitlines() if "to change it: gcloud" in line]


def test_existing_subscriptions_are_updated_to_the_wanted_settings(convergence):
    first = convergence.first
    assert not first.find("pubsub subscriptions create", NEW_MESSAGE_SUBSCRIPTION)
    updates = {call.args[0]: call.flags for call in first.find("pubsub subscriptions update")}
    assert set(updates) == {f"{topic}-interceptor" for topic in TOPIC_ROUTES}
    for topic, route in TOPIC_ROUTES.items():
        flags = updates[f"{topic}-interceptor"]
        assert flags["--push-endpoint"] == f"{URL}/{route}"
        assert flags["--push-auth-service-account"] == INVOKER_SA
        assert flags["--push-auth-token-audience"] == AUDIENCE
        assert flags["--ack-deadline"] == "60"
        assert (flags["--min-retry-delay"], flags["--max-retry-delay"]) == ("10s", "600s")
        assert flags["--dead-letter-topic"] == "aa-interceptor-dead-letter"
        assert flags["--max-delivery-attempts"] == "10"
        assert flags["--expiration-period"] == "never"
    # The stand-in applied them: the subscriptions now hold the wanted settings.
    subscription = convergence.deployed["resources"]["pubsub subscriptions"][NEW_MESSAGE_SUBSCRIPTION]
    assert subscription["pushConfig"]["oidcToken"] == {"serviceAccountEmail": INVOKER_SA, "audience": AUDIENCE}
    assert subscription["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert subscription["deadLetterPolicy"]["deadLetterTopic"] == f"projects/{PROJECT}/topics/aa-interceptor-dead-letter"
    assert "ack deadline 10 -> 60" in first.output and "token audience (none) ->" in first.output


def test_the_redis_instance_is_reported_not_changed(convergence):
    first = convergence.first
    assert not first.find("redis instances create") and not first.find("redis instances update")
    output = first.output
    for difference in ("tier is BASIC, the configuration wants STANDARD_HA", "in-transit encryption is DISABLED",
                       "AUTH is off, the configuration wants it on", "runs REDIS_6_X", "maxmemory-policy is volatile-lru"):
        assert difference in output
    commands = reported_commands(first)
    assert ["gcloud", "redis", "instances", "update", "aa-integration-redis", f"--region={REGION}", "--enable-auth",
            f"--project={PROJECT}"] in commands
    assert any("--update-redis-config=maxmemory-policy=noeviction" in command for command in commands)
    assert any(command[:4] == ["gcloud", "redis", "instances", "upgrade"] for command in commands)
    # next-steps repeats them for the operator.
    assert "Settings that differ from the configuration" in first.result.stdout
    assert "tier is BASIC" in first.result.stdout


def test_services_are_wired_to_the_instance_as_it_is(convergence):
    # No AUTH, no TLS, no replica on the existing instance: the services must not expect them.
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        deploy = convergence.first.one("run deploy", service)
        env = deploy.env_vars()
        assert env["REDISPORT"] == "6379"
        assert not {"REDIS_TLS", "REDIS_TLS_CA_CERT", "REDIS_WAIT_REPLICAS"} & set(env)
        assert "REDIS_PASSWORD" not in app_container(deploy).get("--update-secrets", "")
    assert not convergence.first.find("redis instances get-auth-string")


def test_services_move_from_the_connector_to_direct_vpc_egress(convergence):
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        first = convergence.first.one("run deploy", service)
        assert first.service_flags()["--clear-vpc-connector"] is True
        assert first.service_flags()["--network"] == "default"
        # The tutorial's container keeps its generated name; the sidecar joins it.
        assert set(first.containers()) == {f"{service}-1", "collector"}
        assert first.containers()["collector"]["--depends-on"] == f"{service}-1"
        second = convergence.second.one("run deploy", service)
        assert "--clear-vpc-connector" not in second.service_flags()
    service = convergence.deployed["resources"]["run services"]["ui-connector"]
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    assert "run.googleapis.com/vpc-access-connector" not in annotations
    assert "run.googleapis.com/network-interfaces" in annotations
    assert "Serverless VPC Access connector aa-integration-vpc: still exists, but VPC_EGRESS=direct" in convergence.first.output


def test_the_tutorial_roles_are_revoked(convergence):
    first = convergence.first
    assert revoked(first, CONNECTOR_SA) == set(TUTORIAL_CONNECTOR_ROLES) - {"roles/dialogflow.agentAssistClient"}
    assert revoked(first, INTERCEPTOR_SA) == set(TUTORIAL_INTERCEPTOR_ROLES)
    assert not convergence.second.find("projects remove-iam-policy-binding")


def test_the_second_run_finds_everything_converged(convergence):
    second = convergence.second
    changes = [call.argv for call in second.calls if call.command[-1] in MUTATING_VERBS]
    assert changes == []
    for topic, route in TOPIC_ROUTES.items():
        assert f"subscription {topic}-interceptor -> /{route}: exists, unchanged" in second.output
    # What deploy.sh does not change is reported again, until the operator acts on it.
    assert "tier is BASIC" in second.output


def test_teardown_leaves_what_deploy_did_not_create(convergence):
    removed = convergence.teardown
    resources = convergence.fake.resources()
    # The tutorial's topics, subscriptions, Redis instance and JWT secret carry no label: they stay.
    assert set(resources["pubsub topics"]) == set(TOPIC_ROUTES)
    assert set(resources["pubsub subscriptions"]) == {f"{topic}-interceptor" for topic in TOPIC_ROUTES}
    assert set(resources["redis instances"]) == {"aa-integration-redis"}
    assert "aa-integration-jwt-secret" in resources["secrets"]
    assert f"topic {EventKind.NEW_MESSAGE.default_topic}: not created by deploy.sh" in removed.output
    # What deploy.sh made goes: its dead-letter topic and hold, the services it deployed, the dashboard.
    assert not resources.get("run services")
    assert "aa-interceptor-dead-letter" not in resources["pubsub topics"]
    assert not resources.get("monitoring dashboards")
    # The connector deploy.sh no longer uses is left for the operator (it was reported).
    assert "aa-integration-vpc" in resources["compute networks vpc-access connectors"]
