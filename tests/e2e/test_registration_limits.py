"""The failed-registration limit counts per client address, and only from hops the connector
trusts: spoofed X-Forwarded-For headers neither buy a guesser new attempts nor lock out the
address they name. Guessers connect from loopback addresses of their own (127.0.0.x), so
their failures never rate-limit the other tests' registrations from 127.0.0.1."""
from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter

pytestmark = pytest.mark.e2e

LIMIT = 3


class FromAddress(HTTPAdapter):
    """Opens connections from a given local address."""

    def __init__(self, address: str):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def guesses(url: str, client: requests.Session, forwarded_for: list[str | None]) -> list[int]:
    """One refused /register per X-Forwarded-For value (None: no such header); their statuses."""
    return [client.post(f"{url}/register", headers={"Authorization": "Bearer guess", "X-Forwarded-For": hops},
                        timeout=15).status_code for hops in forwarded_for]


@pytest.fixture(scope="module")
def direct(stack):
    """A connector with no proxy in front, as `make dev` runs it (TRUSTED_PROXY_HOPS unset)."""
    return stack.ui_connector(AUTH_OPTION="", REGISTER_FAILURES_PER_MINUTE=str(LIMIT))


@pytest.fixture(scope="module")
def behind_cloud_run(stack):
    """A connector behind one proxy that appends the client's address, as Cloud Run's front end does."""
    return stack.ui_connector(AUTH_OPTION="", REGISTER_FAILURES_PER_MINUTE=str(LIMIT), TRUSTED_PROXY_HOPS="1")


def test_a_new_spoofed_address_per_guess_buys_no_attempts(direct):
    spoofed = [f"203.0.113.{n}" for n in range(LIMIT + 2)]
    assert guesses(direct.url, client_at("127.0.0.2"), spoofed) == [401] * LIMIT + [429, 429]


def test_spoofing_a_victims_address_does_not_lock_the_victim_out(direct):
    victim = "127.0.0.4"
    assert guesses(direct.url, client_at("127.0.0.3"), [victim] * (LIMIT + 1))[-1] == 429
    assert guesses(direct.url, client_at(victim), [None]) == [401]


def test_behind_one_proxy_only_the_hop_it_appended_counts(behind_cloud_run):
    proxy = client_at("127.0.0.5")
    spoofed_then_appended = [f"203.0.113.{n}, 198.51.100.20" for n in range(LIMIT + 1)]
    assert guesses(behind_cloud_run.url, proxy, spoofed_then_appended) == [401] * LIMIT + [429]
    assert guesses(behind_cloud_run.url, proxy, ["198.51.100.20, 198.51.100.21"]) == [401]  # the victim


def test_an_ipv6_client_is_counted_by_its_64_prefix(behind_cloud_run):
    """A single IPv6 subscriber holds a whole /64: each of its addresses is the same client."""
    addresses = [f"2001:db8:aa:1::{n:x}" for n in range(1, LIMIT + 2)]
    assert guesses(behind_cloud_run.url, client_at("127.0.0.6"), addresses) == [401] * LIMIT + [429]
    assert guesses(behind_cloud_run.url, client_at("127.0.0.6"), ["2001:db8:aa:2::1"]) == [401]


def test_the_rate_limit_key_stays_short_whatever_the_header_says(behind_cloud_run, redis_client):
    junk = ["x" * 4000, "not an address", "::ffff:198.51.100.30", "2001:db8:" + "f" * 3000]
    assert set(guesses(behind_cloud_run.url, client_at("127.0.0.7"), junk)) <= {401, 429}
    keys = redis_client.keys("aa:register-failures:*")
    assert keys and max(len(key) for key in keys) <= len("aa:register-failures:") + 45
    assert "aa:register-failures:198.51.100.30" in keys  # an IPv4-mapped address is its IPv4 address
