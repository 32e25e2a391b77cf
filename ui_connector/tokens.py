"""Short-lived HS256 JWTs that desktops present on every Socket.IO connection and REST call."""
from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta, timezone

import jwt
from flask import g, request

from aa_common.http import json_error
from ui_connector.config import TokenSettings
from ui_connector.jwt_secret import SigningKey, SigningKeys
from ui_connector.services import connector

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
_TIME_CLAIMS = ("exp", "iat", "nbf")


class InvalidToken(Exception):
    """The token does not let its bearer in; the message says why, without echoing the token."""


class TokenService:
    """Signs with the current key, named in the ``kid`` header; verifies with the key a token names
    (or, for a token without ``kid``, with either key)."""

    def __init__(self, keys: SigningKeys, settings: TokenSettings, project_id: str):
        self._keys = keys
        self._settings = settings
        self._project_id = project_id

    def issue(self, user: str | None = None) -> str:
        now = datetime.now(timezone.utc)
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "iat": now,
            "exp": now + timedelta(minutes=self._settings.lifetime_minutes),
            "project": self._project_id,
            # Tells tokens apart, those of one user too (resume cursors are per token), even in one second.
            "jti": secrets.token_urlsafe(12),
        }
        if user:
            claims["sub"] = user
        current = self._keys.current
        return jwt.encode(claims, current.secret, algorithm=ALGORITHM, headers={"kid": current.kid})

    def verify(self, token: object) -> dict:
        if not isinstance(token, str) or not token:
            raise InvalidToken("missing token")
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token has the wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token has the wrong issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token lacks the '{error.claim}' claim") from None
        except UnknownKey:
            raise InvalidToken("token was signed with a key this connector does not have") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"token must be signed with {ALGORITHM}") from None
        except Exception:  # the token is the caller's input: whatever a library raises on it is a refusal
            raise InvalidToken("token is malformed") from None
        if any(not _is_whole_number(claims[name]) for name in _TIME_CLAIMS if name in claims):
            raise InvalidToken("token times (exp, iat, nbf) must be whole numbers of seconds")
        if claims.get("project") != self._project_id:
            raise InvalidToken("token was issued for another project")
        return claims


    def _decode(self, token: str) -> dict:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None:
            candidates = self._keys.all()
        else:
            named = self._keys.by_kid(kid) if isinstance(kid, str) else None
            if named is None:
                raise UnknownKey()
            candidates = [named]
        for key in candidates[:-1]:
            try:
                return self._decode_with(token, key)
            except jwt.InvalidSignatureError:
                continue
        return self._decode_with(token, candidates[-1])

    def _decode_with(self, token: str, key: SigningKey) -> dict:
        return jwt.decode(token, key.secret, algorithms=[ALGORITHM], audience=self._settings.audience,
                          issuer=self._settings.issuer, options={"require": _REQUIRED_CLAIMS}, leeway=5)


class UnknownKey(jwt.InvalidSignatureError):
    """The token names a signing key this connector does not have (retired, or never ours)."""


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def token_from_header(header: str) -> str:
    """Accept ``Bearer <jwt>`` and the bare token that existing desktops send."""
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else header.strip()


def jwt_required(view):
    """Let the request through only with a valid JWT in ``Authorization``; claims land in ``g.claims``."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        tokens = connector().tokens
        try:
            g.claims = tokens.verify(token_from_header(request.headers.get("Authorization", "")))
        except InvalidToken as error:
            return json_error(401, f"valid JWT required in the Authorization header: {error}",
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return view(*args, **kwargs)

    return guarded
