"""Verifying the Google-signed OIDC token Pub/Sub attaches to authenticated pushes."""
from __future__ import annotations

import base64
import json
import threading
import time
from enum import Enum

import requests
from google.auth import crypt

from cloud_pubsub_interceptor.config import PushAuthSettings

GOOGLE_ISSUERS = {"accounts.google.com", "https://accounts.google.com"}
_DEFAULT_CERTS_MAX_AGE = 3600
_MIN_SECONDS_BETWEEN_EARLY_REFRESHES = 60
CLOCK_SKEW_SECONDS = 10


class TokenProblem(str, Enum):
    """Why a push token was refused; the value is what the 401 says."""

    MISSING = "missing 'Authorization: Bearer <OIDC token>' header"
    MALFORMED = "malformed token"
    ALGORITHM = "not signed with RS256"
    UNKNOWN_KEY = "signed with a key Google does not publish"
    BAD_SIGNATURE = "bad signature"
    EXPIRED = "token expired"
    NOT_YET_VALID = "token issued in the future"
    WRONG_AUDIENCE = "wrong audience"
    WRONG_ISSUER = "not issued by Google"


class PushUnauthenticated(Exception):
    """No token, or a token that is not valid for this endpoint (401)."""

    def __init__(self, problem: TokenProblem):
        super().__init__(problem.value if problem is TokenProblem.MISSING else f"invalid push token: {problem.value}")
        self.problem = problem


class PushForbidden(Exception):
    """A valid token for another identity than the push service account (403)."""


class CertsUnavailable(Exception):
    """Google's signing certificates could not be fetched (503: Pub/Sub retries)."""


class GoogleCerts:
    """Google's public signing certificates, fetched lazily and cached for their max-age."""

    def __init__(self, url: str, timeout_seconds: float = 5.0):
        self._url = url
        self._timeout = timeout_seconds
        self._certs: dict[str, str] = {}
        self._expires_at = 0.0
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> dict[str, str]:
        with self._lock:
            if time.monotonic() >= self._expires_at:
                self._refresh()
            return self._certs

    def refresh_early(self) -> bool:
        """Fetch again before the cache expires (Google rotated its keys), at most once a minute so
        tokens with made-up key ids cannot make every request fetch. True when it fetched."""
        with self._lock:
            if time.monotonic() - self._fetched_at < _MIN_SECONDS_BETWEEN_EARLY_REFRESHES:
                return False
            self._refresh()
            return True

    def _refresh(self) -> None:
        try:
            response = requests.get(self._url, timeout=self._timeout)
            response.raise_for_status()
            self._certs = response.json()
        except (requests.RequestException, ValueError) as error:
            raise CertsUnavailable(f"cannot fetch OIDC certificates: {type(error).__name__}") from None
        self._fetched_at = time.monotonic()
        self._expires_at = self._fetched_at + _max_age(response.headers.get("Cache-Control", ""))


def _max_age(cache_control: str) -> int:
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age" and value.isdigit():
            return int(value)
    return _DEFAULT_CERTS_MAX_AGE


class PushVerifier:
    """Checks a push's OIDC token one step at a time, so each refusal says which check failed.

    Pub/Sub signs with RS256 only; the algorithm is fixed here rather than read from the token.
    """

    def __init__(self, settings: PushAuthSettings, certs: GoogleCerts | None = None):
        self._settings = settings
        self._certs = certs or GoogleCerts(settings.certs_url)

    def verify(self, authorization: str) -> dict:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PushUnauthenticated(TokenProblem.MISSING)
        claims = self._verified_claims(token.strip())
        expected = self._settings.service_account
        if expected and (claims.get("email") != expected or claims.get("email_verified") is not True):
            raise PushForbidden("push token is not for the configured push service account")
        return claims

    def _verified_claims(self, token: str) -> dict:
        header, claims, signed, signature = _parts(token)
        if header.get("alg") != "RS256":
            raise PushUnauthenticated(TokenProblem.ALGORITHM)
        if not crypt.verify_signature(signed, signature, [self._cert(header.get("kid"))], crypt.RSAVerifier):
            raise PushUnauthenticated(TokenProblem.BAD_SIGNATURE)
        _check_times(claims)
        if claims.get("aud") != self._settings.audience:
            raise PushUnauthenticated(TokenProblem.WRONG_AUDIENCE)
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise PushUnauthenticated(TokenProblem.WRONG_ISSUER)
        return claims

    def _cert(self, key_id: object) -> str:
        """The certificate for ``key_id``, fetching again once when Google may have rotated it in."""
        if not isinstance(key_id, str):
            raise PushUnauthenticated(TokenProblem.MALFORMED)
        cert = self._certs.get().get(key_id)
        if cert is None and self._certs.refresh_early():
            cert = self._certs.get().get(key_id)
        if cert is None:
            raise PushUnauthenticated(TokenProblem.UNKNOWN_KEY)
        return cert


def _parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    """The JOSE header, the claims, the signed bytes and the signature of a compact JWS."""
    try:
        header, claims, signature = token.encode("ascii").split(b".")
        decoded = json.loads(_unpadded_b64(header)), json.loads(_unpadded_b64(claims))
        raw_signature = _unpadded_b64(signature)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        raise PushUnauthenticated(TokenProblem.MALFORMED) from None
    if not all(isinstance(part, dict) for part in decoded):
        raise PushUnauthenticated(TokenProblem.MALFORMED)
    return decoded[0], decoded[1], header + b"." + claims, raw_signature


def _unpadded_b64(segment: bytes) -> bytes:
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def _check_times(claims: dict) -> None:
    issued, expires = claims.get("iat"), claims.get("exp")
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (issued, expires)):
        raise PushUnauthenticated(TokenProblem.MALFORMED)
    now = time.time()
    if now > expires + CLOCK_SKEW_SECONDS:
        raise PushUnauthenticated(TokenProblem.EXPIRED)
    if now < issued - CLOCK_SKEW_SECONDS:
        raise PushUnauthenticated(TokenProblem.NOT_YET_VALID)
