"""Verifying the Google-signed OIDC token Pub/Sub attaches to authenticated pushes."""
from __future__ import annotations

import threading
import time

import requests
from google.auth import exceptions as google_auth_errors
from google.auth import jwt as google_jwt

from cloud_pubsub_interceptor.config import PushAuthSettings

GOOGLE_ISSUERS = {"accounts.google.com", "https://accounts.google.com"}
_DEFAULT_CERTS_MAX_AGE = 3600
_MIN_SECONDS_BETWEEN_EARLY_REFRESHES = 60


class PushUnauthenticated(Exception):
    """No token, or a token that is not valid for this endpoint (401)."""


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
    def __init__(self, settings: PushAuthSettings, certs: GoogleCerts | None = None):
        self._settings = settings
        self._certs = certs or GoogleCerts(settings.certs_url)

    def _decode(self, token: str) -> dict:
        try:
            return google_jwt.decode(token, certs=self._certs.get(), audience=self._settings.audience,
                                     clock_skew_in_seconds=10)
        except google_auth_errors.GoogleAuthError as error:
            raise ValueError(str(error)) from None

    def verify(self, authorization: str) -> dict:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PushUnauthenticated("missing 'Authorization: Bearer <OIDC token>' header")
        try:
            claims = self._decode(token.strip())
        except ValueError as error:
            if "not found" not in str(error) or not self._certs.refresh_early():
                raise PushUnauthenticated(f"invalid push token: {_reason(error)}") from None
            try:
                claims = self._decode(token.strip())  # signed with a key Google has just rotated in
            except ValueError as retry_error:
                raise PushUnauthenticated(f"invalid push token: {_reason(retry_error)}") from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise PushUnauthenticated("invalid push token: not issued by Google")
        expected = self._settings.service_account
        if expected and (claims.get("email") != expected or not claims.get("email_verified")):
            raise PushForbidden("push token is not for the configured push service account")
        return claims


def _reason(error: Exception) -> str:
    text = str(error)
    if "expired" in text.lower():
        return "token expired"
    if "audience" in text.lower():
        return "wrong audience"
    if "signature" in text.lower() or "certificate" in text.lower():
        return "bad signature"
    return "malformed token"
