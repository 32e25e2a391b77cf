"""Metrics: Google's Managed Service for Prometheus sidecar beside each service, and the Cloud
Monitoring dashboard deploy/ makes from deploy/dashboard.json."""
from __future__ import annotations

import json
import re

import pytest

from tests.deploy.conftest import DEPLOY, DEPLOY_DIR, FakeGcloud
from tests.deploy.test_deploy_run import CONNECTOR_SA, INTERCEPTOR_SA, MUTATING_VERBS, project_roles

DASHBOARD = DEPLOY_DIR / "dashboard.json"
SIDECAR = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:"
# What the services expose at /metrics (prometheus-client names and types).
SERVICE_METRICS = {
    "aa_pushes_total": "counter", "aa_push_duration_seconds": "histogram",
    "aa_redis_command_duration_seconds": "histogram", "aa_pubsub_ack_lag_seconds": "histogram",
    "aa_desktops_connected": "gauge", "aa_conversations_watched": "gauge", "aa_joins_total": "counter",
    "aa_leaves_total": "counter", "aa_events_delivered_total": "counter", "aa_events_replayed_total": "counter",
    "aa_delivery_lag_seconds": "histogram", "aa_catch_ups_total": "counter",
}
# Pub/Sub's own metrics, as Cloud Monitoring's PromQL names them.
PUBSUB_METRICS = {"pubsub_googleapis_com:subscription_oldest_unacked_message_age",
                  "pubsub_googleapis_com:subscription_dead_letter_message_count"}


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [data_set["timeSeriesQuery"]["prometheusQuery"]
            for tile in dashboard["mosaicLayout"]["tiles"] for data_set in tile["widget"]["xyChart"]["dataSets"]]


def metric_names(query: str) -> set[str]:
    return set(re.findall(r"\b(aa_[a-z_]+|pubsub_googleapis_com:[a-z_]+)\b", query))


# --- the sidecar ---

@pytest.mark.parametrize("service", ["ui-connector", "cloud-pubsub-interceptor"])
def test_each_service_runs_the_prometheus_sidecar(deployment, service):
    deploy = deployment.first.one("run deploy", service)
    containers = deploy.containers()
    assert list(containers) == ["app", "collector"]
    collector = containers["collector"]
    assert collector["--image"].startswith(SIDECAR)
    assert collector["--depends-on"] == "app", "the collector starts once the app is up"
    assert "--port" not in collector, "only the app takes requests"
    # It scrapes between requests: CPU stays allocated (Google's recommendation for the sidecar).
    assert deploy.service_flags()["--no-cpu-throttling"] is True


def test_the_sidecar_writes_metrics_as_the_service(deployment):
    for account in (CONNECTOR_SA, INTERCEPTOR_SA):
        assert "roles/monitoring.metricWriter" in project_roles(deployment.first, account)


def test_without_the_sidecar_there_is_no_role_dashboard_or_throttling_change(lean_deployment):
    run = lean_deployment.first
    for account in (CONNECTOR_SA, INTERCEPTOR_SA):
        assert "roles/monitoring.metricWriter" not in project_roles(run, account)
    interceptor = run.one("run deploy", "cloud-pubsub-interceptor")
    assert list(interceptor.containers()) == ["app"]
    assert interceptor.service_flags()["--cpu-throttling"] is True
    assert not run.find("monitoring dashboards create")
    assert "METRICS_SIDECAR=false: skipped" in run.output
    assert "monitoring.googleapis.com" not in run.one("services enable").args


def test_turning_the_sidecar_off_removes_it_and_its_role(reconfigured):
    off = reconfigured.run
    for service in ("ui-connector", "cloud-pubsub-interceptor"):
        deploy = off.one("run deploy", service)
        assert deploy.service_flags()["--remove-containers"] == "collector"
        containers = reconfigured.fake.resources()["run services"][service]["spec"]["template"]["spec"]["containers"]
        assert [container["name"] for container in containers] == ["app"]
    revoked = {call.flags["--role"] for call in off.find("projects remove-iam-policy-binding")}
    assert revoked == {"roles/monitoring.metricWriter"}


# --- the dashboard ---

def test_the_dashboard_shows_pushes_deliveries_desktops_and_lag():
    used = set().union(*map(metric_names, queries()))
    assert set(SERVICE_METRICS) <= {name.removesuffix("_bucket") for name in used}
    unknown = {name.removesuffix("_bucket") for name in used} - set(SERVICE_METRICS) - PUBSUB_METRICS
    assert not unknown, f"the dashboard queries metrics nobody exposes: {unknown}"
    titles = " ".join(tile["widget"]["title"].lower() for tile in json.loads(DASHBOARD.read_text())["mosaicLayout"]["tiles"])
    for subject in ("pushes", "delivered", "desktops", "lag", "backlog"):
        assert subject in titles


def test_the_dashboard_queries_each_metric_as_its_type_allows():
    for query in queries():
        for name in metric_names(query):
            kind = SERVICE_METRICS.get(name.removesuffix("_bucket"))
            if kind == "histogram":
                assert name.endswith("_bucket") and "histogram_quantile(" in query, query
            elif kind == "counter":
                assert re.search(rf"rate\({name}(\{{[^}}]*\}})?\[", query), query
            elif kind == "gauge":
                assert "rate(" not in query, query
        assert query.count("(") == query.count(")"), query


def test_the_dashboard_tiles_fit_the_grid_without_overlapping():
    layout = json.loads(DASHBOARD.read_text())["mosaicLayout"]
    taken = set()
    for tile in layout["tiles"]:
        x, y = tile.get("xPos", 0), tile.get("yPos", 0)
        assert x + tile["width"] <= layout["columns"]
        cells = {(column, row) for column in range(x, x + tile["width"]) for row in range(y, y + tile["height"])}
        assert not cells & taken, tile["widget"]["title"]
        taken |= cells
    # Fields at their proto default would come back absent and make every run look like a change.
    assert '"xPos": 0' not in DASHBOARD.read_text() and '"yPos": 0' not in DASHBOARD.read_text()


def test_deploy_creates_the_dashboard_from_the_file(deployment):
    create = deployment.first.one("monitoring dashboards create")
    assert create.flags["--config-from-file"]
    dashboard = deployment.fake.resources()["monitoring dashboards"]["aa-integration"]
    wanted = json.loads(DASHBOARD.read_text())
    assert dashboard["mosaicLayout"] == wanted["mosaicLayout"]
    assert dashboard["displayName"] == wanted["displayName"]
    assert dashboard["labels"] == {"created-by": "aa-integration-deploy"}
    assert not deployment.second.find("monitoring dashboards update")
    assert not deployment.second.find("monitoring dashboards create")


def test_a_changed_dashboard_file_updates_the_dashboard_with_its_etag(tmp_path, monkeypatch):
    fake = FakeGcloud(tmp_path / "fake")
    fake.run(DEPLOY, "dashboard").ok()
    etag = fake.resources()["monitoring dashboards"]["aa-integration"]["etag"]
    # Someone edited the dashboard in the console: the file's version is put back.
    state = fake.state_json()
    state["resources"]["monitoring dashboards"]["aa-integration"]["displayName"] = "edited by hand"
    (fake.state / "state.json").write_text(json.dumps(state))
    run = fake.run(DEPLOY, "dashboard").ok()
    update = run.one("monitoring dashboards update", "aa-integration")
    assert update.flags["--config-from-file"]
    assert "dashboard aa-integration: updated" in run.output
    dashboard = fake.resources()["monitoring dashboards"]["aa-integration"]
    assert dashboard["displayName"] == json.loads(DASHBOARD.read_text())["displayName"]
    assert dashboard["etag"] != etag
    again = fake.run(DEPLOY, "dashboard").ok()
    assert [call for call in again.calls if call.command[-1] in MUTATING_VERBS] == []


