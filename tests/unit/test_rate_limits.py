"""The fixed-window counter behind the registration and lookup limits."""
from __future__ import annotations

from ui_connector.rate_limits import WINDOW_SECONDS, WindowCounter


def test_attempts_past_the_limit_wait_for_the_window_to_end(fake_redis):
    counter = WindowCounter(fake_redis, "test:", limit=2)
    assert [counter.admit("client").admitted for _ in range(3)] == [True, True, False]
    assert 1 <= counter.admit("client").retry_after_seconds <= WINDOW_SECONDS
    assert counter.admit("another client").admitted


def test_a_forgiven_attempt_is_not_counted(fake_redis):
    counter = WindowCounter(fake_redis, "test:", limit=1)
    counter.admit("client")
    counter.forgive("client")
    assert counter.admit("client").admitted


def test_forgiving_after_the_window_ended_leaves_no_count_behind(fake_redis):
    """A registration that outlived the window (a slow identity provider) must not leave a key
    without expiry, which would add up the client's failures forever."""
    counter = WindowCounter(fake_redis, "test:", limit=1)
    counter.admit("client")
    fake_redis.delete("test:client")  # the window ended while the provider was asked
    counter.forgive("client")
    assert fake_redis.exists("test:client") == 0
