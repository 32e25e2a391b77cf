"""AUTH_OPTION=OIDC: an identity provider's JWT verified against its JWKS (served by a local fake)."""
from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture
def identity_provider(fake_http):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    fake_http.routes["/jwks"] = (200, {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    fake_http.routes["/.well-known/openid-configuration"] = (200, {"jwks_uri": f"{fake_http.url}/jwks"})

    def sign(**overrides):
        now = int(time.time())
        claims = {"iss": fake_http.url, "aud": "desk", "sub": "agent", "iat": now, "exp": now + 300, **overrides}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    return fake_http.url, sign


@pytest.mark.parametrize("overrides,accepted", [
    ({}, True),
    ({"aud": "another-app"}, False),
    ({"iss": "https://impostor"}, False),
    ({"exp": int(time.time()) - 60}, False),
])
def test_oidc_tokens(make_connector, identity_provider, overrides, accepted):
    issuer, sign = identity_provider
    client = make_connector(AUTH_OPTION="OIDC", OIDC_ISSUER=issuer, OIDC_AUDIENCE="desk").test_client()
    response = client.post("/register", headers={"Authorization": f"Bearer {sign(**overrides)}"})
    assert response.status_code == (200 if accepted else 401)


def test_oidc_refuses_a_token_signed_by_another_key(make_connector, identity_provider):
    issuer, _ = identity_provider
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": issuer, "aud": "desk", "exp": int(time.time()) + 300}, stranger, algorithm="RS256",
                        headers={"kid": "k1"})
    client = make_connector(AUTH_OPTION="OIDC", OIDC_ISSUER=issuer, OIDC_AUDIENCE="desk").test_client()
    assert client.post("/register", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
