"""Short-lived HS256 JWTs that desktops present on every Socket.IO connection and REST call."""
from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta, timezone

import jwt
from flask import current_app, g, request

from aa_common.http import json_error
from ui_connector.config import TokenSettings

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]


class InvalidToken(Exception):
    """The token does not let its bearer in; the message says why, without echoing the token."""


class TokenService:
    def __init__(self, secret: str, settings: TokenSettings, project_id: str):
        self._secret = secret
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
            "jti": secrets.token_urlsafe(12),  # two registrations in one second get distinct tokens
        }
        if user:
            claims["sub"] = user
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: object) -> dict:
        if not isinstance(token, str) or not token:
            raise InvalidToken("missing token")
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=self._settings.audience,
                issuer=self._settings.issuer, options={"require": _REQUIRED_CLAIMS}, leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token has the wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token has the wrong issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token lacks the '{error.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"token must be signed with {ALGORITHM}") from None
        except jwt.PyJWTError:
            raise InvalidToken("token is malformed") from None
        if claims.get("project") != self._project_id:
            raise InvalidToken("token was issued for another project")
        return claims


def token_from_header(header: str) -> str:
    """Accept ``Bearer <jwt>`` and the bare token that existing desktops send."""
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else header.strip()


def jwt_required(view):
    """Let the request through only with a valid JWT in ``Authorization``; claims land in ``g.claims``."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        tokens: TokenService = current_app.extensions["ui_connector"].tokens
        try:
            g.claims = tokens.verify(token_from_header(request.headers.get("Authorization", "")))
        except InvalidToken as error:
            return json_error(401, f"valid JWT required in the Authorization header: {error}",
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return view(*args, **kwargs)

    return guarded
