"""Built-in identity checks for ``/register`` (chosen by AUTH_OPTION) and ``/register-app``.

Each check takes what the desktop sent and answers True or False; network failures
and timeouts answer False (and are logged), never an exception.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

import jwt
import requests

from ui_connector import auth
from ui_connector.config import AuthSettings
from ui_connector.tokens import token_from_header

log = logging.getLogger(__name__)
Check = Callable[[str], bool]


def _https(domain_or_url: str) -> str:
    """Domains become https URLs; a full URL (a proxy, or a local fake in tests) is kept."""
    return domain_or_url if domain_or_url.startswith(("http://", "https://")) else f"https://{domain_or_url}"


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


class PlatformChecks:
    """Token checks against the agent-desktop platforms' own APIs."""

    def __init__(self, settings: AuthSettings, session: requests.Session | None = None):
        self._settings = settings
        self._http = session or requests.Session()
        self._oidc_keys: jwt.PyJWKClient | None = None

    def _get(self, url: str, **kwargs: Any) -> requests.Response | None:
        try:
            return self._http.get(url, timeout=self._settings.timeout_seconds, **kwargs)
        except requests.RequestException as error:
            log.warning("identity provider unreachable", extra={"error": type(error).__name__})
            return None

    def salesforce(self, header: str) -> bool:
        """Salesforce OpenID Connect userinfo; the user must belong to the configured organization."""
        url = f"{_https(self._settings.salesforce_domain)}/services/oauth2/userinfo"
        response = self._get(url, headers={"Authorization": f"Bearer {token_from_header(header)}"})
        return self._salesforce_org_matches(response)

    def salesforce_lwc(self, header: str) -> bool:
        """Salesforce client-credentials flow token, as Lightning Web Components send it."""
        url = f"{_https(self._settings.salesforce_domain)}/services/oauth2/userinfo"
        response = self._get(url, params={"access_token": token_from_header(header)})
        return self._salesforce_org_matches(response)

    def _salesforce_org_matches(self, response: requests.Response | None) -> bool:
        if response is None or response.status_code != 200:
            return False
        organization = _json_field(response, "organization_id")
        expected = self._settings.salesforce_organization_id
        # Salesforce ids come as 15- or 18-character forms of the same id.
        length = min(len(organization), len(expected), 15)
        return length >= 15 and _same(organization[:length], expected[:length])

    def genesys_cloud(self, header: str) -> bool:
        environment = self._settings.genesys_cloud_environment
        base = environment if environment.startswith(("http://", "https://")) else f"https://api.{environment}"
        response = self._get(f"{base}/api/v2/users/me", params={"expand": "organization"},
                             headers={"Authorization": f"Bearer {token_from_header(header)}"})
        if response is None or response.status_code != 200:
            return False
        # Any Genesys Cloud organization's user gets a 200: only ours may register.
        try:
            organization = response.json().get("organization") or {}
        except (ValueError, AttributeError):
            return False
        organization_id = organization.get("id") if isinstance(organization, dict) else None
        return isinstance(organization_id, str) and _same(organization_id, self._settings.genesys_cloud_organization_id)

    def twilio(self, header: str) -> bool:
        """The Twilio Flex plugin's verify function answers 200 for a valid token."""
        url = f"{_https(self._settings.twilio_flex_environment)}/verify"
        try:
            response = self._http.post(url, json={"Token": token_from_header(header)},
                                       timeout=self._settings.timeout_seconds)
        except requests.RequestException as error:
            log.warning("identity provider unreachable", extra={"error": type(error).__name__})
            return False
        return response.status_code == 200

    def oidc(self, header: str) -> bool:
        """An identity provider's JWT, verified against its JWKS, issuer and audience."""
        token = token_from_header(header)
        try:
            key = self._jwks().get_signing_key_from_jwt(token)
            jwt.decode(token, key.key, algorithms=["RS256", "ES256", "PS256"],
                       audience=self._settings.oidc_audience, issuer=self._settings.oidc_issuer,
                       options={"require": ["exp", "iss", "aud"]})
        except (jwt.PyJWTError, requests.RequestException, ValueError, KeyError, TypeError) as error:
            log.info("OIDC token refused", extra={"reason": type(error).__name__})
            return False
        return True

    def _jwks(self) -> jwt.PyJWKClient:
        if self._oidc_keys is None:
            url = self._settings.oidc_jwks_url or self._discover_jwks_url()
            self._oidc_keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600,
                                              timeout=self._settings.timeout_seconds)
        return self._oidc_keys

    def _discover_jwks_url(self) -> str:
        issuer = self._settings.oidc_issuer.rstrip("/")
        response = self._http.get(f"{issuer}/.well-known/openid-configuration",
                                  timeout=self._settings.timeout_seconds)
        response.raise_for_status()
        return response.json()["jwks_uri"]

    def twilio_account(self, body: object) -> bool:
        """Application-level auth: the Twilio account SID and auth token must open the configured account."""
        if not isinstance(body, dict):
            return False
        sid, token = body.get("accountSid"), body.get("authToken")
        if not (isinstance(sid, str) and isinstance(token, str) and _same(sid, self._settings.twilio_account_sid)):
            return False
        url = f"{self._settings.twilio_api_base_url}/2010-04-01/Accounts/{self._settings.twilio_account_sid}.json"
        response = self._get(url, auth=(sid, token))
        return response is not None and response.status_code == 200


def _json_field(response: requests.Response, name: str) -> str:
    try:
        value = response.json().get(name)
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _skip(header: str) -> bool:
    return True


def user_check(settings: AuthSettings, checks: PlatformChecks) -> Check:
    """The check ``/register`` runs: the AUTH_OPTION provider, or the operator's ``auth.check_auth``."""
    if settings.option == "Skip":
        log.warning("AUTH_OPTION=Skip: every /register call gets a token. Never use this in production.")
        return _skip
    return {
        "Salesforce": checks.salesforce,
        "SalesforceLWC": checks.salesforce_lwc,
        "GenesysCloud": checks.genesys_cloud,
        "Twilio": checks.twilio,
        "OIDC": checks.oidc,
    }.get(settings.option, lambda header: auth.check_auth(header))


def app_check(settings: AuthSettings, checks: PlatformChecks) -> Callable[[object], bool]:
    """The check ``/register-app`` runs: refused unless APP_AUTH_OPTION names a provider."""
    return checks.twilio_account if settings.app_option == "Twilio" else (lambda body: False)
