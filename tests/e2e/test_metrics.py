"""Operators see the pipeline: a real Prometheus server scrapes both services and answers for their series."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import requests

from aa_common.events import EventKind
from devstack.processes import free_port, stop_process_group, wait_until
from tests.support import Desktop, envelope, event_for, new_conversation, push, register

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, interceptor, connector):
    executable = shutil.which("prometheus")
    if not executable:
        pytest.fail("prometheus is not installed; `make install` installs Debian's package")
    directory = tmp_path_factory.mktemp("prometheus")
    config = directory / "prometheus.yml"
    targets = [service.url.removeprefix("http://") for service in (interceptor, connector)]
    config.write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: agent-assist
    static_configs:
      - targets: {targets!r}
""")
    port = free_port()
    process = subprocess.Popen([executable, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
                                f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _ready(url), 30, "Prometheus to start")
    yield url
    stop_process_group(process, timeout=10)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def query(prometheus: str, expression: str) -> float | None:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5).json()
    assert answer["status"] == "success", answer
    results = answer["data"]["result"]
    return float(results[0]["value"][1]) if results else None


def eventually(prometheus: str, expression: str, check) -> float:
    values: list = []

    def holds() -> bool:
        values.append(query(prometheus, expression))
        return values[-1] is not None and check(values[-1])

    wait_until(holds, 30, f"Prometheus to answer {expression} (last: {values[-1:] or None})", interval=0.5)
    return values[-1]


def test_prometheus_scrapes_the_pipelines_series(prometheus, interceptor, connector):
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)
    for _ in range(3):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))
    requests.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", json=envelope(b"not json"), timeout=10)
    desktop.wait_for(3)

    assert eventually(prometheus, f'sum(aa_pushes_total{{route="{EventKind.NEW_MESSAGE}",outcome="stored"}})',
                      lambda v: v >= 3) >= 3
    assert eventually(prometheus, 'sum(aa_pushes_total{outcome="invalid"})', lambda v: v >= 1) >= 1
    assert eventually(prometheus, "aa_desktops_connected", lambda v: v >= 1) >= 1
    assert eventually(prometheus, "aa_conversations_watched", lambda v: v >= 1) >= 1
    delivered = f'sum(aa_events_delivered_total{{event="{EventKind.NEW_MESSAGE}"}})'
    assert eventually(prometheus, delivered, lambda v: v >= 3) >= 3
    assert eventually(prometheus, 'sum(aa_joins_total{outcome="joined"})', lambda v: v >= 1) >= 1
    for histogram in ("aa_push_duration_seconds", "aa_pubsub_ack_lag_seconds", "aa_delivery_lag_seconds",
                      "aa_redis_command_duration_seconds"):
        assert eventually(prometheus, f"sum({histogram}_count)", lambda v: v >= 1) >= 1
    desktop.close()
    assert eventually(prometheus, "aa_desktops_connected", lambda v: v == 0) == 0


def test_metrics_add_up_across_interceptor_workers(stack):
    interceptor = stack.interceptor(INTERCEPTOR_WORKERS="2")
    conversation = new_conversation()
    for _ in range(20):  # spread over both workers by the kernel
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))

    totals = set()
    for _ in range(20):  # whichever worker answers /metrics reports every worker's pushes
        text = requests.get(f"{interceptor.url}/metrics", timeout=5).text
        totals.add(next(float(line.split()[-1]) for line in text.splitlines()
                        if line.startswith('aa_pushes_total{') and 'outcome="stored"' in line))
    assert totals == {20.0}
