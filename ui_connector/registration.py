"""``/register`` and ``/register-app``: a desktop proves who it is and gets a short-lived JWT."""
from __future__ import annotations

import ipaddress
import logging

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import BadRequest

from aa_common.http import json_error, json_object
from ui_connector.services import connector

log = logging.getLogger(__name__)
registration_routes = Blueprint("registration", __name__)
MAX_USER_LENGTH = 256
USER_FIELDS = ("user", "userId")  # the body fields naming the desktop identity, by preference
IPV6_CLIENT_PREFIX = 64
UNPARSABLE_CLIENT = "unparsable"


def client_key(address: str | None) -> str:
    """Who failed registrations are counted against, for the client at ``address``.

    ``address`` is the peer, or the hop TRUSTED_PROXY_HOPS says a trusted proxy appended. An
    IPv4 client is its address; an IPv6 client is its /64, as one subscriber holds the whole
    prefix and could otherwise take a fresh budget per address. Anything that is not an address
    (only a wrong TRUSTED_PROXY_HOPS lets a client choose the value) shares one bucket, so the key
    stays short and junk buys no attempts.
    """
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return UNPARSABLE_CLIENT
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return ipaddress.IPv6Network((int(ip), IPV6_CLIENT_PREFIX), strict=False).with_prefixlen
    return str(ip)


def _issue_token_if(allowed, user: str | None) -> tuple:
    services = connector()
    client = client_key(request.remote_addr)
    # Counted before the identity provider is asked, so concurrent guesses cannot all slip under
    # the limit, and forgiven on success: only failures add up.
    admission = services.registration_attempts.admit(client)
    if not admission.admitted:
        return json_error(429, "too many failed registrations; retry later",
                          {"Retry-After": str(admission.retry_after_seconds)})
    if not allowed():
        log.info("registration refused", extra={"client": client})
        return _refused()
    services.registration_attempts.forgive(client)
    return jsonify(token=services.tokens.issue(user)), 200


def _refused() -> tuple:
    return json_error(401, "could not authenticate: the credentials were not accepted", {"WWW-Authenticate": "Bearer"})


def _user_from(body: dict) -> str | None:
    """The identity a desktop names, ``user`` or else ``userId``; one that is not text is a 400 (rather
    than a token without ``sub``, which would share the anonymous identity's mappings)."""
    for field in USER_FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise BadRequest(f"'{field}' must be a string")
    user = next((body[field] for field in USER_FIELDS if body.get(field)), None)
    return user[:MAX_USER_LENGTH] if user else None


# Only requests another site cannot make a browser send silently count as failed guesses;
# otherwise any page could lock every desktop behind its visitors' address out of sign-in.
# Cross-origin, an Authorization header and a JSON Content-Type both need a CORS preflight,
# which only CORS_ALLOWED_ORIGINS pass. What lacks them is refused before it is counted.


@registration_routes.post("/register")
def register():
    header = request.headers.get("Authorization", "")
    if not header:
        return _refused()  # nothing to check, so not a guess
    body = json_object(required=False)
    check = connector().user_check
    return _issue_token_if(lambda: check(header), _user_from(body))


@registration_routes.post("/register-app")
def register_app():
    if not request.is_json:
        return json_error(415, "Content-Type must be application/json")
    body = json_object()
    check = connector().app_check
    return _issue_token_if(lambda: check(body), _user_from(body))
