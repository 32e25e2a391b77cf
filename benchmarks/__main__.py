"""`make bench`: the pipeline's speed and memory on this machine, as figures and ratios.

Everything runs on loopback against the production gunicorn command lines and a private
redis-server; every loop is bounded in count and time.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from devstack.processes import INTERCEPTOR_COMMAND, UI_CONNECTOR_COMMAND, RedisServer, Service
from devstack.stack import service_env
from tests.support import PROJECT, Desktop, envelope, event_for, new_conversation, register

PUSHES = 3000
PUSH_THREADS = 8
LATENCY_SAMPLES = 300
FANOUT_DESKTOPS = 100
FANOUT_EVENTS = 30
REPLAY_EVENTS = 5000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):6.2f} ms  p95 {pick(0.95):6.2f} ms  p99 {pick(0.99):6.2f} ms"


def timed_requests(url: str, bodies: list[dict | None]) -> tuple[float, list[float]]:
    local = threading.local()
    latencies: list[float] = []

    def send(body):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.post(url, json=body, timeout=30) if body is not None else session.get(url, timeout=30)
        latencies.append(time.perf_counter() - started)
        assert response.status_code in (200, 204), response.text

    started = time.perf_counter()
    with ThreadPoolExecutor(PUSH_THREADS) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - started, latencies


def bench_ingest(interceptor: Service) -> None:
    conversation = new_conversation()
    event = event_for(conversation, "new-message.json")
    health_time, health = timed_requests(f"{interceptor.url}/healthz", [None] * PUSHES)
    push_time, pushes = timed_requests(f"{interceptor.url}/new-message-event", [envelope(event) for _ in range(PUSHES)])
    print(f"ingest     {PUSHES / push_time:8.0f} pushes/s   {percentiles(pushes)}   ({PUSH_THREADS} clients)")
    print(f"  floor    {PUSHES / health_time:8.0f} healthz/s  {percentiles(health)}")
    print(f"  ratio    a push costs {health_time and push_time / health_time:.2f}x an empty request "
          "(JSON parse, base64, validation, one Redis script)")


def bench_delivery_latency(interceptor: Service, connector: Service) -> None:
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)
    event = event_for(conversation, "new-message.json")
    session = requests.Session()
    push_only, end_to_end = [], []
    for count in range(1, LATENCY_SAMPLES + 1):
        started = time.perf_counter()
        session.post(f"{interceptor.url}/new-message-event", json=envelope(event), timeout=30)
        push_only.append(time.perf_counter() - started)
        desktop.wait_for(count)
        end_to_end.append(time.perf_counter() - started)
    desktop.close()
    print(f"delivery   push → desktop  {percentiles(end_to_end)}")
    print(f"  push ack               {percentiles(push_only)}")
    print(f"  ratio    the hop from Redis to the desktop adds "
          f"{statistics.median(end_to_end) / statistics.median(push_only):.2f}x the push's own latency (medians)")


def bench_fanout(interceptor: Service, connectors: list[Service]) -> None:
    conversation = new_conversation()
    desktops = [Desktop(connectors[i % len(connectors)].url, register(connectors[0].url))
                for i in range(FANOUT_DESKTOPS)]
    for desktop in desktops:
        desktop.join(conversation)
    event = event_for(conversation, "new-message.json")
    all_received = []
    for count in range(1, FANOUT_EVENTS + 1):
        started = time.perf_counter()
        requests.post(f"{interceptor.url}/new-message-event", json=envelope(event), timeout=30)
        for desktop in desktops:
            desktop.wait_for(count, timeout=30)
        all_received.append(time.perf_counter() - started)
    complete = sum(len(d.events) == FANOUT_EVENTS for d in desktops)
    print(f"fan-out    {FANOUT_DESKTOPS} desktops on {len(connectors)} connectors, push → last desktop  "
          f"{percentiles(all_received)}   ({complete}/{FANOUT_DESKTOPS} got all {FANOUT_EVENTS})")
    rss = [worker_rss_kib(connector) for connector in connectors]
    print(f"memory     connector worker RSS {', '.join(f'{r / 1024:.1f} MiB' for r in rss)} "
          f"with {FANOUT_DESKTOPS // len(connectors)} WebSocket desktops each")
    for desktop in desktops:
        desktop.close()
    time.sleep(1)
    idle = [worker_rss_kib(connector) for connector in connectors]
    per_connection = (sum(rss) - sum(idle)) / FANOUT_DESKTOPS
    print(f"  ratio    ≈{per_connection:.0f} KiB per connected desktop (RSS with them minus after they left)")


def bench_replay(interceptor: Service, connector: Service) -> None:
    conversation = new_conversation()
    event = event_for(conversation, "new-message.json")
    timed_requests(f"{interceptor.url}/new-message-event", [envelope(event) for _ in range(REPLAY_EVENTS)])
    desktop = Desktop(connector.url, register(connector.url))
    started = time.perf_counter()
    desktop.join(conversation)
    desktop.wait_for(REPLAY_EVENTS, timeout=120)
    elapsed = time.perf_counter() - started
    print(f"replay     late join receives {len(desktop.events)} stored events in {elapsed:.2f} s "
          f"({len(desktop.events) / elapsed:.0f} events/s)")
    desktop.close()


def worker_rss_kib(service: Service) -> int:
    master = service._process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


def main() -> int:
    redis_server = RedisServer().start()
    workdir = Path(tempfile.mkdtemp(prefix="aa-bench-"))
    secret = workdir / "jwt_secret_key"
    secret.write_text("bench-" + "x" * 48)
    env = service_env(redis_server.port, secret, PROJECT)
    services = [Service("interceptor", INTERCEPTOR_COMMAND, env, workdir)]
    services += [Service(f"ui-connector-{i}", UI_CONNECTOR_COMMAND, env, workdir) for i in range(2)]
    try:
        for service in services:
            service.start()
        interceptor, connectors = services[0], services[1:]
        print(f"Machine: {sys.platform}, Python {sys.version.split()[0]}; services under gunicorn; logs in {workdir}\n")
        bench_ingest(interceptor)
        bench_delivery_latency(interceptor, connectors[0])
        bench_fanout(interceptor, connectors)
        bench_replay(interceptor, connectors[0])
    finally:
        for service in services:
            service.stop()
        redis_server.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
