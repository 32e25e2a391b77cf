"""Fault drills, small and bounded (`make bench` runs longer ones): an instance killed, an instance
replaced under load, Redis gone for seconds while Pub/Sub pushes. Every event reaches every desktop
exactly once, in order."""
from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from aa_common.events import EventKind
from devstack.processes import RedisServer
from devstack.pubsub_emulator import PubSubEmulator, find_emulator, wire_interceptor
from tests.conftest import Stack
from tests.support import PROJECT, Balancer, NodeDesktop, Pusher, event_for, new_conversation, register

pytestmark = pytest.mark.e2e
RATE = Pusher.RATE


def pushes_refused_for_redis(interceptor_url: str) -> float:
    lines = requests.get(f"{interceptor_url}/metrics", timeout=10).text.splitlines()
    return sum(float(line.split()[-1]) for line in lines
               if line.startswith("aa_pushes_total{") and 'outcome="redis_unavailable"' in line)


@pytest.fixture
def two_connectors(redis_server, jwt_secret_file, tmp_path):
    stack = Stack(redis_server.port, jwt_secret_file, tmp_path)
    interceptor = stack.interceptor()
    connectors = [stack.ui_connector(), stack.ui_connector()]
    balancer = Balancer([connector.port for connector in connectors])
    yield interceptor, connectors, balancer
    balancer.close()
    stack.stop()


def desktops_through(balancer: Balancer, conversation: str, count: int) -> list[NodeDesktop]:
    desktops = [NodeDesktop(balancer.url, register(balancer.url), conversation, resume_with_last_event_id=True)
                for _ in range(count)]
    for desktop in desktops:
        desktop.wait_joined(1)
    return desktops


def assert_exactly_once(desktops: list[NodeDesktop], acknowledged: list[str]) -> None:
    for desktop in desktops:
        desktop.wait_for_events(len(acknowledged), timeout=30)
    time.sleep(0.5)
    for desktop in desktops:
        assert desktop.events() == acknowledged, "an acknowledged event was lost, doubled or out of order"
        desktop.close()


def test_kill_9_of_one_connector_while_events_flow(two_connectors):
    interceptor, connectors, balancer = two_connectors
    conversation = new_conversation()
    desktops = desktops_through(balancer, conversation, 4)
    pusher = Pusher(interceptor.url, conversation)
    time.sleep(1.5)

    for worker in connectors[0].worker_pids():
        os.kill(worker, signal.SIGKILL)
    connectors[0].signal(signal.SIGKILL)
    time.sleep(2)
    acknowledged = pusher.stop()

    assert len(acknowledged) > RATE * 2
    assert_exactly_once(desktops, acknowledged)
    assert any("disconnect" in line for desktop in desktops for line in desktop.lines)


def test_sigterm_of_one_connector_under_load(two_connectors):
    interceptor, connectors, balancer = two_connectors
    conversation = new_conversation()
    desktops = desktops_through(balancer, conversation, 4)
    pusher = Pusher(interceptor.url, conversation)
    time.sleep(1.5)

    connectors[0].stop()
    time.sleep(1.5)
    acknowledged = pusher.stop()

    assert_exactly_once(desktops, acknowledged)


@pytest.mark.pubsub_emulator
def test_redis_down_for_five_seconds_while_pubsub_pushes(jwt_secret_file, tmp_path):
    if find_emulator() is None:
        if os.environ.get("CI"):
            pytest.fail("the Pub/Sub emulator must be installed in CI (Google Cloud CLI pubsub-emulator component)")
        pytest.skip("the Google Cloud CLI's Pub/Sub emulator is not installed")
    redis = RedisServer(persistent=True).start()
    stack = Stack(redis.port, jwt_secret_file, tmp_path)
    try:
        interceptor, connector = stack.interceptor(), stack.ui_connector()
        with PubSubEmulator(log_path=tmp_path / "pubsub.log") as emulator:
            admin = emulator.admin()
            wire_interceptor(admin, PROJECT, interceptor.url)
            conversation = new_conversation()
            desktop = NodeDesktop(connector.url, register(connector.url), conversation,
                                  resume_with_last_event_id=True)
            desktop.wait_joined(1)

            published = []
            for index in range(60):
                if index == 10:
                    redis.stop()
                if index == 50:
                    redis.start()
                published.append(admin.publish(PROJECT, EventKind.NEW_MESSAGE.default_topic,
                                               event_for(conversation, "new-message.json"),
                                               ordering_key=conversation))
                time.sleep(0.125)  # 60 events over 7.5 s: Redis is down for 5 of them

            desktop.wait_for_events(len(published), timeout=90)
            time.sleep(1)
            assert desktop.events() == published, "every published event once, in order (one ordering key)"
            assert pushes_refused_for_redis(interceptor.url) > 0, "Redis was down: some pushes must have had a 503"
            desktop.close()
    finally:
        stack.stop()
        redis.remove()
