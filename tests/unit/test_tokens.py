"""Token verification refuses anything odd about a token, whatever the JWT library would let through."""
from __future__ import annotations

import time

import jwt
import pytest

from ui_connector.config import TokenSettings
from ui_connector.tokens import InvalidToken, TokenService

SECRET = "s" * 48


def service() -> TokenService:
    return TokenService(SECRET, TokenSettings(), "my-proj")


def signed(**overrides) -> str:
    now = int(time.time())
    claims = {"iss": "aa-ui-connector", "aud": "aa-agent-desktop", "iat": now, "exp": now + 600, "project": "my-proj"}
    claims.update(overrides)
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_issued_tokens_verify_with_whole_number_times_and_an_id_each():
    tokens = service()
    first, second = tokens.verify(tokens.issue("agent")), tokens.verify(tokens.issue("agent"))
    assert isinstance(first["exp"], int) and isinstance(first["iat"], int)
    assert first["jti"] != second["jti"] and first["sub"] == "agent"


@pytest.mark.parametrize("claim,value", [("exp", str(int(time.time()) + 600)), ("exp", float(int(time.time()) + 600)),
                                         ("iat", str(int(time.time()))), ("nbf", "0")])
def test_time_claims_must_be_whole_numbers(claim, value):
    with pytest.raises(InvalidToken, match="whole numbers"):
        service().verify(signed(**{claim: value}))


@pytest.mark.parametrize("token", ["\ud800", "\ud800.\ud800.\ud800", "a.b.c", "é" * 10, "x" * 100_000])
def test_whatever_a_token_holds_is_a_refusal_not_an_error(token):
    with pytest.raises(InvalidToken):
        service().verify(token)
