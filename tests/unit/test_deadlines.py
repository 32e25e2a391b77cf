"""The one loop that closes connections on time: actions run once, when due; cancelled ones never."""
from __future__ import annotations

from ui_connector.deadlines import Deadlines


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock) -> tuple[Deadlines, list]:
    spawned: list = []
    return Deadlines(spawn=lambda fn, *args: spawned.append((fn, args)), sleep=lambda s: None, clock=clock), spawned


def test_an_action_runs_once_when_its_time_comes():
    clock = Clock()
    deadlines, _ = make(clock)
    ran = []
    deadlines.set("a", clock.now + 5, lambda: ran.append("a"))

    deadlines.run_due()
    clock.now += 5
    deadlines.run_due()
    deadlines.run_due()

    assert ran == ["a"] and len(deadlines) == 0


def test_a_cancelled_or_replaced_deadline_does_not_run_and_frees_its_entry():
    clock = Clock()
    deadlines, _ = make(clock)
    ran = []
    deadlines.set("a", clock.now, lambda: ran.append("a"))
    deadlines.cancel("a")
    deadlines.set("b", clock.now, lambda: ran.append("old b"))
    deadlines.set("b", clock.now + 10, lambda: ran.append("new b"))

    deadlines.run_due()

    assert ran == [] and len(deadlines) == 1 and deadlines.when("b") == clock.now + 10


def test_a_failing_action_does_not_stop_the_others():
    clock = Clock()
    deadlines, _ = make(clock)
    ran = []
    deadlines.set("bad", clock.now, lambda: 1 / 0)
    deadlines.set("good", clock.now, lambda: ran.append("good"))

    deadlines.run_due()

    assert ran == ["good"]


def test_one_loop_serves_every_deadline():
    clock = Clock()
    deadlines, spawned = make(clock)
    for key in range(100):
        deadlines.set(key, clock.now + key, lambda: None)
    assert len(spawned) == 1
