"""`make bench`: the pipeline's cost per event, latency and memory on this machine, against a floor.

Everything runs on loopback against the production command lines and a private redis-server;
every stage is bounded in count and time. Prints a summary with each target and writes every
figure to artifacts/bench.json. Loads come from wrk (Debian's; a Lua script writes the push
bodies) where throughput matters, and from a Python or Node harness where a desktop has to
receive: CPU is read from /proc for each server's process tree only, so the load generators'
own CPU is not counted.
"""
from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from aa_common.conversations import normalize_conversation_name
from aa_common.event_store import stream_key
from aa_common.events import EventKind
from benchmarks.measure import CpuMeter, WrkResult, cpu_seconds, percentile, rss_kib, run_wrk
from devstack.processes import (BIN, INTERCEPTOR_COMMAND, REPO_ROOT, UI_CONNECTOR_COMMAND, LocalRedisCluster,
                                RedisServer, Service, free_port, wait_until)
from devstack.stack import service_env
from tests.support import PROJECT, Desktop, NodeDesktops, envelope, event_for, new_conversation, register

FLOOR_COMMAND = [str(BIN / "gunicorn"), "--workers", "1", "--threads", "8", "benchmarks.floor_app:app"]
WRK_SECONDS = 8
FLOOR_ROUNDS = 3
ROUND_SECONDS = 4
PACED_RATE = 100
PACED_SECONDS = 10
FANOUT_VIEWERS = 50
EXTRA_VIEWERS = 10
FANOUT_EVENTS = 40
IDLE_DESKTOPS = 1000
SIGTERM_DESKTOPS = 100
ARTIFACT = REPO_ROOT / "artifacts" / "bench.json"


@dataclass
class Target:
    name: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


@dataclass
class Report:
    figures: dict = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    def figure(self, name: str, **values) -> None:
        self.figures[name] = values
        print(f"{name:28s} " + "  ".join(f"{k} {_format(v)}" for k, v in values.items()), flush=True)

    def target(self, name: str, value: float, limit: float, unit: str, at_most: bool = True) -> None:
        self.targets.append(Target(name, round(value, 3), limit, unit, at_most))


def _format(value) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


class Bench:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="aa-bench-"))
        secret = self.workdir / "jwt_secret_key"
        secret.write_text("bench-" + "x" * 48)
        self.redis_server = RedisServer().start()
        self.redis = redis.Redis(port=self.redis_server.port, decode_responses=True)
        # Streams long enough to hold every event a stage pushes, so "stored" can be counted.
        self.env = {**service_env(self.redis_server.port, secret, PROJECT), "EVENT_STREAM_MAXLEN": "1000000"}
        self.services: list[Service] = []
        self.report = Report()

    def start(self, name: str, command: list[str], port: int | None = None, **env: str) -> Service:
        service = Service(name, command, {**self.env, **env}, self.workdir, port=port).start()
        self.services.append(service)
        return service

    def close(self) -> None:
        for service in self.services:
            service.stop()
        self.redis_server.remove()

    def push_script(self, conversation: str) -> Path:
        """A wrk Lua script that pushes a new-message event to ``conversation``, each with a message id of its own."""
        data = base64.b64encode(json.dumps(event_for(conversation, "new-message.json")).encode()).decode()
        script = self.workdir / f"push-{time.monotonic_ns()}.lua"
        script.write_text(_PUSH_LUA.replace("__DATA__", data))
        return script


_PUSH_LUA = """
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "wrk-" .. threads .. "-" .. os.time() .. "-")
end
request = function()
  counter = counter + 1
  local body = '{"message":{"data":"__DATA__","messageId":"' .. prefix .. counter ..
               '","publishTime":"2026-02-26T19:13:55.749Z"},"subscription":"projects/p/subscriptions/bench"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def start_floor(bench: Bench) -> tuple[Service, Path]:
    port = free_port()
    floor = bench.start("floor", FLOOR_COMMAND + ["--bind", f"127.0.0.1:{port}"], port=port)
    script = bench.workdir / "empty-post.lua"
    script.write_text('wrk.method = "POST"\nwrk.body = string.rep("x", 1200)\n'
                      'wrk.headers["Content-Type"] = "application/json"\n')
    run_wrk(floor.url + "/", script, 16, 2)
    return floor, script


def measure(service: Service, url: str, script: Path, connections: int, seconds: float) -> tuple[float, WrkResult]:
    """CPU µs per request of ``service``'s process tree under wrk, and wrk's result."""
    with CpuMeter(service.pid) as cpu:
        result = run_wrk(url, script, connections, seconds)
    return cpu.seconds / result.requests * 1e6, result


def bench_ingest(bench: Bench, interceptor: Service, connector: Service) -> None:
    """Pushes against the floor, in alternating rounds: CPU per request of the floor moves by 2x
    with what else the machine does, so each push figure is compared with a floor measured just
    before it, and the medians are reported."""
    conversation = new_conversation()
    viewer = Desktop(connector.url, register(connector.url))
    viewer.join(conversation)
    url = f"{interceptor.url}/{EventKind.NEW_MESSAGE}"
    run_wrk(url, bench.push_script(new_conversation()), 16, 2)  # warm up, elsewhere
    floor, empty_post = start_floor(bench)
    pushes = bench.push_script(conversation)
    rounds = []
    for _ in range(FLOOR_ROUNDS):
        floor_us, floor_result = measure(floor, floor.url + "/", empty_post, 16, ROUND_SECONDS)
        push_us, push_result = measure(interceptor, url, pushes, 16, ROUND_SECONDS)
        rounds.append((floor_us, push_us, floor_result, push_result))
    floor.stop()
    floor_us, push_us, floor_result, push_result = sorted(rounds, key=lambda r: r[1] / r[0])[len(rounds) // 2]
    bench.report.figure("floor: empty POST", cpu_us=floor_us, per_second=floor_result.per_second,
                        p99_ms=floor_result.latency_ms["p99"], rounds=[round(r[0], 1) for r in rounds])
    bench.report.figure("ingest, 16 connections", cpu_us=push_us, per_second=push_result.per_second,
                        p50_ms=push_result.latency_ms["p50"], p99_ms=push_result.latency_ms["p99"],
                        rounds=[round(r[1], 1) for r in rounds])
    bench.report.target("interceptor CPU per push", push_us, 600, "µs")
    bench.report.target("push CPU / floor request CPU", push_us / floor_us, 0.8, "x")

    cpu_us, busy = measure(interceptor, url, pushes, 64, WRK_SECONDS)
    bench.report.figure("ingest, 64 connections", cpu_us=cpu_us, per_second=busy.per_second,
                        p50_ms=busy.latency_ms["p50"], p99_ms=busy.latency_ms["p99"], failed=busy.failed)
    bench.report.target("pushes/s at 64 connections, a viewer joined", busy.per_second, 1500, "/s", at_most=False)

    acknowledged = sum(r[3].requests - r[3].failed for r in rounds) + busy.requests - busy.failed
    stored = _settled(lambda: bench.redis.xlen(stream_key(normalize_conversation_name(conversation))))
    viewer.wait_for(stored, timeout=120)
    received = viewer.settle()
    bench.report.figure("ingest: nothing lost", acknowledged=acknowledged, stored=stored, delivered=len(received),
                        distinct=len({payload["message_id"] for _, payload in received}))
    bench.report.target("ingest events lost or doubled", _lost_or_doubled(stored, viewer.message_ids())
                        + max(0, acknowledged - stored), 0, "")
    viewer.close()


def _settled(read_length: Callable[[], int], quiet_seconds: float = 0.5) -> int:
    """A stream's length once the pushes wrk left in flight have landed (wrk stops counting first)."""
    previous, current = -1, read_length()
    while current != previous:
        time.sleep(quiet_seconds)
        previous, current = current, read_length()
    return current


def _lost_or_doubled(stored: int, received: list[str]) -> int:
    """Events stored but not delivered, plus deliveries of an event delivered already."""
    return abs(stored - len(set(received))) + len(received) - len(set(received))


def bench_delivery_cost(bench: Bench, interceptor: Service, connector: Service) -> None:
    """Connector CPU per delivered event with one viewer, then what each further viewer of the same
    events adds. One more viewer costs less than the run-to-run noise, so the marginal cost is
    measured across EXTRA_VIEWERS more viewers at once."""
    costs = {}
    for viewers in (1, 1 + EXTRA_VIEWERS):
        conversation = new_conversation()
        desktops = NodeDesktops(connector, viewers, [conversation])
        with CpuMeter(connector.pid) as cpu:
            result = run_wrk(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", bench.push_script(conversation), 4,
                             WRK_SECONDS)
            events = _settled(lambda: bench.redis.xlen(stream_key(normalize_conversation_name(conversation))))
            wait_until(lambda: desktops.status()["events"] >= events * viewers, 120, f"{viewers} viewers' events",
                       interval=0.5)
        desktops.close()
        costs[viewers] = cpu.seconds / events * 1e6
        bench.report.figure(f"delivery, {viewers} viewer(s)", connector_cpu_us_per_event=costs[viewers],
                            events=events, per_second=result.per_second)
    further = (costs[1 + EXTRA_VIEWERS] - costs[1]) / EXTRA_VIEWERS
    bench.report.figure("delivery: each further viewer", cpu_us=further, share_of_first=further / costs[1])
    bench.report.target("connector CPU per delivered event", costs[1], 230, "µs")
    bench.report.target("a further viewer / the first viewer", further / costs[1], 1 / 3, "x")


def bench_latency(bench: Bench, interceptor: Service, connector: Service) -> None:
    """Push → desktop at a steady PACED_RATE events/s, as a busy contact centre's conversation sees it."""
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)
    arrivals: dict[str, float] = {}
    desktop.client.on(EventKind.NEW_MESSAGE, lambda payload: arrivals.setdefault(payload["message_id"],
                                                                              time.perf_counter()))
    session = requests.Session()
    event = event_for(conversation, "new-message.json")
    sent: dict[str, float] = {}
    interval = 1 / PACED_RATE
    next_at = time.perf_counter()
    for index in range(PACED_RATE * PACED_SECONDS):
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
        message_id = f"paced-{index}-{time.monotonic_ns()}"
        sent[message_id] = time.perf_counter()
        session.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", json=envelope(event, message_id), timeout=30)
    wait_until(lambda: len(arrivals) >= len(sent), 30, "every paced event at the desktop")
    latencies = [(arrivals[m] - sent[m]) * 1000 for m in sent]
    bench.report.figure(f"push → desktop, {PACED_RATE}/s", p50_ms=percentile(latencies, 0.5),
                        p99_ms=percentile(latencies, 0.99), events=len(latencies))
    bench.report.target(f"push → desktop p99 at {PACED_RATE} events/s", percentile(latencies, 0.99), 5, "ms")
    desktop.close()


def bench_fanout(bench: Bench, interceptor: Service, connectors: list[Service]) -> None:
    conversation = new_conversation()
    token = register(connectors[0].url)
    desktops = [Desktop(connectors[index % len(connectors)].url, token) for index in range(FANOUT_VIEWERS)]
    for desktop in desktops:
        desktop.join(conversation)
    event = event_for(conversation, "new-message.json")
    to_last = []
    for count in range(1, FANOUT_EVENTS + 1):
        started = time.perf_counter()
        requests.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", json=envelope(event), timeout=30)
        for desktop in desktops:
            desktop.wait_for(count, timeout=30)
        to_last.append((time.perf_counter() - started) * 1000)
    complete = sum(len(set(d.message_ids())) == len(d.events) == FANOUT_EVENTS for d in desktops)
    bench.report.figure(f"fan-out, {FANOUT_VIEWERS} viewers on {len(connectors)} connectors",
                        push_to_last_p50_ms=percentile(to_last, 0.5), push_to_last_p99_ms=percentile(to_last, 0.99),
                        complete=f"{complete}/{FANOUT_VIEWERS}")
    bench.report.target("fan-out viewers missing or doubling an event", FANOUT_VIEWERS - complete, 0, "")
    for desktop in desktops:
        desktop.close()


def bench_idle_desktops(bench: Bench) -> None:
    connector = bench.start("ui-connector-idle", UI_CONNECTOR_COMMAND)
    worker = connector.worker_pids()[0]
    time.sleep(1)
    before = rss_kib(worker)
    desktops = NodeDesktops(connector, IDLE_DESKTOPS, [new_conversation() for _ in range(IDLE_DESKTOPS)])
    time.sleep(2)
    with CpuMeter(connector.pid) as cpu:
        time.sleep(10)
    after = rss_kib(worker)
    per_desktop = (after - before) / IDLE_DESKTOPS
    idle_percent = cpu.seconds / 10 * 100
    bench.report.figure(f"{IDLE_DESKTOPS} idle joined desktops", rss_kib_per_desktop=per_desktop,
                        worker_rss_mib=after / 1024, idle_cpu_percent=idle_percent,
                        connected=desktops.status()["connected"])
    bench.report.target(f"RSS per joined desktop at {IDLE_DESKTOPS}", per_desktop, 40, "KiB")
    bench.report.target(f"idle CPU with {IDLE_DESKTOPS} desktops", idle_percent, 1, "%")
    desktops.close()
    connector.stop()


def bench_sigterm(bench: Bench) -> None:
    connector = bench.start("ui-connector-sigterm", UI_CONNECTOR_COMMAND)
    desktops = NodeDesktops(connector, SIGTERM_DESKTOPS, [new_conversation() for _ in range(10)])
    started = time.perf_counter()
    connector.signal(signal.SIGTERM)
    connector.wait()
    elapsed = time.perf_counter() - started
    bench.report.figure(f"SIGTERM → exit, {SIGTERM_DESKTOPS} desktops", seconds=elapsed)
    bench.report.target(f"SIGTERM → exit with {SIGTERM_DESKTOPS} joined desktops", elapsed, 3, "s")
    desktops.close()


def bench_cluster(bench: Bench) -> None:
    """The same pushes and deliveries on a local 3+3 Redis Cluster (sharded Pub/Sub, every push waiting
    for its replica), and how many events per second one shard took: one conversation is one shard."""
    cluster = LocalRedisCluster().start()
    try:
        env = {"REDISPORT": str(cluster.ports[0]), "REDIS_CLUSTER": "true", "REDIS_WAIT_REPLICAS": "1"}
        interceptor = bench.start("interceptor-cluster", INTERCEPTOR_COMMAND, **env)
        connector = bench.start("ui-connector-cluster", UI_CONNECTOR_COMMAND, **env)
        conversation = new_conversation()
        viewer = Desktop(connector.url, register(connector.url))
        viewer.join(conversation)
        url = f"{interceptor.url}/{EventKind.NEW_MESSAGE}"
        run_wrk(url, bench.push_script(new_conversation()), 16, 2)
        with CpuMeter(interceptor.pid) as pushing, CpuMeter(connector.pid) as delivering:
            result = run_wrk(url, bench.push_script(conversation), 64, WRK_SECONDS)
            nodes = redis.RedisCluster(host="127.0.0.1", port=cluster.ports[0])
            stored = _settled(lambda: nodes.xlen(stream_key(normalize_conversation_name(conversation))))
            viewer.wait_for(stored, timeout=120)
        events = result.requests - result.failed
        viewer.settle()
        received = viewer.message_ids()
        bench.report.figure("cluster: one shard, 64 connections", per_second=result.per_second,
                            interceptor_cpu_us=pushing.seconds / result.requests * 1e6,
                            connector_cpu_us_per_event=delivering.seconds / events * 1e6,
                            p99_ms=result.latency_ms["p99"], failed=result.failed,
                            delivered=f"{len(set(received))}/{stored}")
        bench.report.target("cluster events lost or doubled", _lost_or_doubled(stored, received)
                            + max(0, events - stored), 0, "")
        viewer.close()
        interceptor.stop()
        connector.stop()
    finally:
        cluster.remove()


def main() -> int:
    bench = Bench()
    print(f"make bench: Python {sys.version.split()[0]}, production command lines, loopback; logs in {bench.workdir}\n")
    try:
        interceptor = bench.start("interceptor", INTERCEPTOR_COMMAND)
        connectors = [bench.start(f"ui-connector-{index}", UI_CONNECTOR_COMMAND) for index in range(2)]
        bench_ingest(bench, interceptor, connectors[0])
        bench_delivery_cost(bench, interceptor, connectors[0])
        bench_latency(bench, interceptor, connectors[0])
        bench_fanout(bench, interceptor, connectors)
        for connector in connectors:
            connector.stop()
        bench_idle_desktops(bench)
        bench_sigterm(bench)
        bench_cluster(bench)
    finally:
        bench.close()
    return summarize(bench.report)


def summarize(report: Report) -> int:
    print("\nTargets:")
    for target in report.targets:
        sign = "≤" if target.at_most else "≥"
        print(f"  {'met ' if target.met else 'MISSED'}  {target.name}: {target.value:,.3g} {target.unit} "
              f"(target {sign} {target.limit:,.3g} {target.unit})")
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps({"figures": report.figures,
                                    "targets": [{**vars(t), "met": t.met} for t in report.targets]}, indent=2))
    print(f"\nWritten to {ARTIFACT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
