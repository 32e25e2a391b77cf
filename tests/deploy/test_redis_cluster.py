"""REDIS_MODE=cluster: Memorystore for Redis Cluster, wired to both services."""
from __future__ import annotations

from tests.deploy.conftest import CLUSTER_CONFIG, DEPLOY, PROJECT, TEARDOWN, copy_of
from tests.deploy.fake_gcloud import CLUSTER_ADDRESS, FAKE_CA
from tests.deploy.test_deploy_run import (CONNECTOR_SA, INTERCEPTOR_SA, LABEL, MUTATING_VERBS, REGION, app_container,
                                          project_roles)

NETWORK = f"projects/{PROJECT}/global/networks/default"


def test_the_service_connection_policy_comes_first(cluster_deployment):
    run = cluster_deployment.first
    policy = run.one("network-connectivity service-connection-policies create", "aa-integration-redis")
    assert policy.flags["--service-class"] == "gcp-memorystore-redis"
    assert policy.flags["--network"] == NETWORK
    assert policy.flags["--subnets"] == f"projects/{PROJECT}/regions/{REGION}/subnetworks/default"
    assert policy.flags["--region"] == REGION
    assert policy.flags["--labels"] == LABEL
    paths = [call.path for call in run.calls]
    assert paths.index("network-connectivity service-connection-policies create") < paths.index("redis clusters create")
    assert {"networkconnectivity.googleapis.com", "serviceconsumermanagement.googleapis.com"} <= set(
        run.one("services enable").args)


def test_the_cluster_has_iam_auth_tls_replicas_and_no_eviction(cluster_deployment):
    cluster = cluster_deployment.first.one("redis clusters create", "aa-integration-redis")
    flags = cluster.flags
    assert flags["--region"] == REGION and flags["--network"] == NETWORK
    assert flags["--shard-count"] == "3" and flags["--replica-count"] == "1"
    assert flags["--node-type"] == "redis-standard-small"
    # Memorystore for Redis Cluster has no AUTH string: IAM is its only authentication.
    assert flags["--auth-mode"] == "iam-auth"
    assert flags["--transit-encryption-mode"] == "server-authentication"
    assert flags["--redis-config"] == "maxmemory-policy=noeviction"
    assert flags["--zone-distribution-mode"] == "multi-zone"
    assert not cluster_deployment.first.find("redis instances create")


def test_the_services_use_the_cluster_client_with_iam_auth(cluster_deployment):
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        deploy = cluster_deployment.first.one("run deploy", service)
        env = deploy.env_vars()
        assert (env["REDISHOST"], env["REDISPORT"]) == (CLUSTER_ADDRESS, "6379"), "the discovery endpoint"
        assert env["REDIS_CLUSTER"] == "true"
        assert env["REDIS_AUTH"] == "iam"
        assert env["REDIS_WAIT_REPLICAS"] == "1"
        assert env["REDIS_TLS"] == "true" and env["REDIS_TLS_CA_CERT"] == "/redis-ca/server-ca.pem"
        secrets = app_container(deploy)["--update-secrets"]
        assert "REDIS_PASSWORD" not in secrets
        assert "/redis-ca/server-ca.pem=aa-integration-redis-server-ca:latest" in secrets


def test_the_runtime_accounts_may_connect_to_the_cluster(cluster_deployment):
    run = cluster_deployment.first
    for account in (CONNECTOR_SA, INTERCEPTOR_SA):
        assert "roles/redis.dbConnectionUser" in project_roles(run, account)
    assert not run.find("redis instances get-auth-string")
    assert not run.find("secrets create", "aa-integration-redis-auth")


def test_the_cluster_ca_certificates_reach_secret_manager(cluster_deployment):
    assert cluster_deployment.first.one("redis clusters get-cluster-certificate-authority", "aa-integration-redis")
    chain = [FAKE_CA.format("aa-integration-redis-leaf"), FAKE_CA.format("aa-integration-redis-root")]
    assert cluster_deployment.fake.secret_versions("aa-integration-redis-server-ca") == ["\n".join(chain) + "\n"]


def test_a_second_cluster_run_changes_nothing(cluster_deployment):
    second = cluster_deployment.second
    assert [call.argv for call in second.calls if call.command[-1] in MUTATING_VERBS] == []
    assert "Redis cluster aa-integration-redis: exists, unchanged" in second.output
    assert "service connection policy aa-integration-redis: exists, unchanged" in second.output


def test_an_existing_policy_for_the_network_is_used(fake_gcloud):
    fake_gcloud.gcloud("network-connectivity", "service-connection-policies", "create", "network-team-policy",
                       f"--network={NETWORK}", "--service-class=gcp-memorystore-redis", f"--region={REGION}",
                       f"--subnets=projects/{PROJECT}/regions/{REGION}/subnetworks/default")
    run = fake_gcloud.run(DEPLOY, "network", config=CLUSTER_CONFIG).ok()
    assert not run.find("network-connectivity service-connection-policies create")
    assert "service connection policy network-team-policy (gcp-memorystore-redis in default): exists, used as it is" in run.output
    removed = fake_gcloud.run(TEARDOWN, "--yes", config=CLUSTER_CONFIG).ok()
    assert not removed.find("network-connectivity service-connection-policies delete")
    assert "network-team-policy" in fake_gcloud.resources()["network-connectivity service-connection-policies"]


def test_a_cluster_with_other_settings_is_reported(cluster_convergence):
    run = cluster_convergence
    assert not run.find("redis clusters update") and not run.find("redis clusters create")
    for difference in ("has 1 shards, REDIS_SHARD_COUNT=3", "has 0 replicas per shard, REDIS_REPLICA_COUNT=1",
                       "has node type redis_shared_core_nano", "authorization mode is AUTH_MODE_DISABLED",
                       "in-transit encryption is TRANSIT_ENCRYPTION_MODE_DISABLED"):
        assert difference in run.output
    assert f"gcloud redis clusters update aa-integration-redis --region={REGION} --replica-count=1" in run.output
    # Wired to what it is: no TLS, no IAM auth, no replica to wait for.
    assert "Redis endpoint: 10.128.0.9:6379 (AUTH: none, TLS: false, replicas: 0)" in run.output
    assert not run.find("secrets create")


def test_teardown_deletes_the_cluster_and_the_policy_it_made(cluster_deployment, tmp_path):
    fake = copy_of(cluster_deployment.fake, tmp_path / "copy")
    removed = fake.run(TEARDOWN, "--yes", config=CLUSTER_CONFIG).ok()
    assert removed.one("redis clusters delete", "aa-integration-redis")
    assert removed.one("network-connectivity service-connection-policies delete", "aa-integration-redis")
    assert not any(fake.resources().get(kind) for kind in ("redis clusters", "network-connectivity service-connection-policies"))
    roles = {role for pairs in fake.policies().values() for role, member in pairs if PROJECT in member}
    assert "roles/redis.dbConnectionUser" not in roles
