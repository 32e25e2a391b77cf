"""Token verification refuses anything odd about a token, whatever the JWT library would let through."""
from __future__ import annotations

import time

import jwt
import pytest

from ui_connector.config import TokenSettings
from ui_connector.jwt_secret import SigningKey, SigningKeys
from ui_connector.tokens import InvalidToken, TokenService

SECRET = "s" * 48
NEXT_SECRET = "n" * 48


def service(keys: SigningKeys = SigningKeys(SigningKey(SECRET))) -> TokenService:
    return TokenService(keys, TokenSettings(), "my-proj")


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


def test_after_a_rotation_new_tokens_use_the_new_key_and_old_ones_stay_valid():
    before = service()
    old_token = before.issue("agent")
    after = service(SigningKeys(SigningKey(NEXT_SECRET), previous=SigningKey(SECRET)))

    new_token = after.issue("agent")

    assert jwt.get_unverified_header(new_token)["kid"] == SigningKey(NEXT_SECRET).kid
    assert after.verify(old_token)["sub"] == after.verify(new_token)["sub"] == "agent"
    with pytest.raises(InvalidToken, match="key this connector does not have"):
        before.verify(new_token)


def test_a_token_without_kid_is_checked_against_both_keys():
    legacy = signed()  # signed with SECRET, no kid header, as tokens were before rotation existed
    rotated = service(SigningKeys(SigningKey(NEXT_SECRET), previous=SigningKey(SECRET)))
    assert rotated.verify(legacy)["project"] == "my-proj"
    with pytest.raises(InvalidToken, match="signature"):
        service(SigningKeys(SigningKey(NEXT_SECRET))).verify(legacy)


def test_the_key_id_reveals_nothing_of_the_key():
    kid = SigningKey(SECRET).kid
    assert SECRET[:8] not in kid and len(kid) == 16 and kid != SigningKey(NEXT_SECRET).kid
