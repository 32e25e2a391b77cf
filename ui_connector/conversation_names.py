"""``/conversation-name``: map an integration key (a call id, a phone number) to a conversation name.

For platforms that cannot hand the Dialogflow conversation name to the agent desktop
directly. Keys are stored as an HMAC keyed with the JWT secret (a plain hash of a
phone number is trivially reversed), expire after CONVERSATION_NAME_TTL_SECONDS, and
are never logged.

Who may do what: any desktop of the project reads a mapping (that is what it is for); only
the desktop identity that stored it overwrites or deletes it (403 for another). The identity
is the token's ``sub`` (the ``user`` given to ``/register``); tokens registered without one
share a single identity. Every request on the route counts against the caller's lookup budget,
CONVERSATION_NAME_LOOKUPS_PER_MINUTE: a 403 or 404 from POST or DELETE also tells whether a
key is mapped. A named desktop's budget spans its tokens; a token without ``sub`` has its own,
so desktops that never name a user do not share one budget.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from enum import Enum

import redis
from flask import Blueprint, g, jsonify, request

from aa_common.conversations import ConversationName, InvalidConversationName
from aa_common.http import json_error, json_object
from ui_connector.rate_limits import WindowCounter
from ui_connector.services import connector
from ui_connector.tokens import jwt_required, token_from_header

conversation_name_routes = Blueprint("conversation_names", __name__)
MAX_KEY_LENGTH = 512
ANONYMOUS = "anonymous"

# A mapping is a hash {name, owner}. A plain string is a mapping stored before owners were
# recorded: it is read the same way, and anyone may replace or delete it until it expires.
# The owner digest is no credential (a caller presents a signed token, never a digest), so
# comparing it in the script needs no constant time.
_READ = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'hash' then return redis.call('HGET', KEYS[1], 'name') end
if kind == 'string' then return redis.call('GET', KEYS[1]) end
return false
"""
_OWNED_BY_ANOTHER = """
local function owned_by_another(key, owner)
  if redis.call('TYPE', key).ok ~= 'hash' then return false end
  local stored = redis.call('HGET', key, 'owner')
  return stored ~= false and stored ~= owner
end
"""
_SET = _OWNED_BY_ANOTHER + """
if owned_by_another(KEYS[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'owner', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_CHECK_OWNER = _OWNED_BY_ANOTHER + """
if owned_by_another(KEYS[1], ARGV[1]) then return 1 end
return 0
"""
_DELETE = _OWNED_BY_ANOTHER + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if owned_by_another(KEYS[1], ARGV[1]) then return -1 end
redis.call('DEL', KEYS[1])
return 1
"""


class Outcome(Enum):
    DONE = 1
    NOT_FOUND = 0
    FORBIDDEN = -1


class ConversationNames:
    """Mappings keyed by an HMAC of the integration key under the JWT signing secret.

    ``secrets`` are the signing secrets, current first. A mapping is written under the current one
    and still found under the previous one, so rotating the JWT key loses no mapping: the owner's
    next write moves it to the current secret, and what nobody rewrites expires with its TTL.
    """

    def __init__(self, client: redis.Redis, secrets: Sequence[str], ttl_seconds: int, lookups_per_minute: int):
        self._secrets = [secret.encode() for secret in secrets]
        self._ttl = ttl_seconds
        self._read = client.register_script(_READ)
        self._set = client.register_script(_SET)
        self._delete = client.register_script(_DELETE)
        self._check_owner = client.register_script(_CHECK_OWNER)
        self.lookups = WindowCounter(client, "aa:conversation-name-lookups:", lookups_per_minute)

    def digest(self, text: str, secret: bytes | None = None) -> str:
        """A keyed hash: what Redis holds instead of integration keys and identities."""
        return hmac.new(secret or self._secrets[0], text.encode(), hashlib.sha256).hexdigest()

    def key_of(self, integration_key: str, secret: bytes | None = None) -> str:
        return f"aa:conversation-name:{self.digest(integration_key, secret)}"

    def set(self, integration_key: str, conversation_name: str, owner: str) -> Outcome:
        """Store the mapping for ``owner``; FORBIDDEN when another identity stored it, under any secret.

        Written under the current secret before the previous secret's copy is removed, so that no
        moment leaves the key unmapped for another identity to take. (The keys of two secrets lie in
        different cluster slots: no single script can hold both.)"""
        if self._owned_by_another(self._secrets[1:], integration_key, owner):
            return Outcome.FORBIDDEN
        stored = self._set(keys=[self.key_of(integration_key)],
                           args=[conversation_name, self._owner_digest(owner), self._ttl])
        if not stored:
            return Outcome.FORBIDDEN
        for previous in self._secrets[1:]:
            self._delete_under(previous, integration_key, owner)
        return Outcome.DONE

    def get(self, integration_key: str) -> str | None:
        for secret in self._secrets:
            if (name := self._read(keys=[self.key_of(integration_key, secret)])) is not None:
                return name
        return None

    def delete(self, integration_key: str, owner: str) -> Outcome:
        """Remove ``owner``'s mapping; FORBIDDEN, removing nothing, when another identity stored one."""
        if self._owned_by_another(self._secrets, integration_key, owner):
            return Outcome.FORBIDDEN
        outcomes = [self._delete_under(secret, integration_key, owner) for secret in self._secrets]
        return Outcome.DONE if Outcome.DONE in outcomes else Outcome.NOT_FOUND

    def _owned_by_another(self, secrets: Sequence[bytes], integration_key: str, owner: str) -> bool:
        return any(self._check_owner(keys=[self.key_of(integration_key, secret)],
                                     args=[self._owner_digest(owner, secret)]) for secret in secrets)

    def _delete_under(self, secret: bytes, integration_key: str, owner: str) -> Outcome:
        return Outcome(self._delete(keys=[self.key_of(integration_key, secret)],
                                    args=[self._owner_digest(owner, secret)]))

    def _owner_digest(self, owner: str, secret: bytes | None = None) -> str:
        return self.digest(f"owner\0{owner}", secret)


def caller_identity(claims: dict) -> str:
    """The desktop identity that owns the mappings it stores: its user, or ANONYMOUS."""
    user = claims.get("sub")
    return f"user:{user}" if isinstance(user, str) and user else ANONYMOUS


def _lookup_budget(claims: dict) -> str:
    """Whose requests are counted together: a named identity's, else this one token's."""
    identity = caller_identity(claims)
    if identity == ANONYMOUS:
        identity = f"token:{token_from_header(request.headers.get('Authorization', ''))}"
    return _names().digest(f"lookups\0{identity}")


def _integration_key(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("conversationIntegrationKey is required")
    if len(value) > MAX_KEY_LENGTH:
        raise ValueError(f"conversationIntegrationKey is longer than {MAX_KEY_LENGTH} characters")
    return value


def _names() -> ConversationNames:
    return connector().conversation_names


def _within_lookup_budget(view):
    """Answer 429 once the caller has used up its lookups for the window (after ``jwt_required``)."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        admission = _names().lookups.admit(_lookup_budget(g.claims))
        if not admission.admitted:
            return json_error(429, "too many conversation-name lookups; retry later",
                              {"Retry-After": str(admission.retry_after_seconds)})
        return view(*args, **kwargs)

    return limited


def _forbidden():
    return json_error(403, "this mapping was stored by another desktop identity")


@conversation_name_routes.post("/conversation-name")
@jwt_required
@_within_lookup_budget
def set_conversation_name():
    body = json_object()
    try:
        key = _integration_key(body.get("conversationIntegrationKey"))
        name = ConversationName.parse(body.get("conversationName"))
    except (ValueError, InvalidConversationName) as error:
        return json_error(400, str(error))
    if name.project != connector().config.project_id:
        return json_error(403, "conversationName belongs to another project")
    if _names().set(key, body["conversationName"], caller_identity(g.claims)) is Outcome.FORBIDDEN:
        return _forbidden()
    return jsonify({key: body["conversationName"]})


@conversation_name_routes.get("/conversation-name")
@jwt_required
@_within_lookup_budget
def get_conversation_name():
    try:
        key = _integration_key(request.args.get("conversationIntegrationKey"))
    except ValueError as error:
        return json_error(400, str(error))
    return jsonify(conversationName=_names().get(key) or "")


@conversation_name_routes.delete("/conversation-name")
@jwt_required
@_within_lookup_budget
def delete_conversation_name():
    try:
        key = _integration_key(request.args.get("conversationIntegrationKey"))
    except ValueError as error:
        return json_error(400, str(error))
    outcome = _names().delete(key, caller_identity(g.claims))
    if outcome is Outcome.FORBIDDEN:
        return _forbidden()
    if outcome is Outcome.NOT_FOUND:
        return json_error(404, "no conversation name is stored for that key")
    return jsonify(deleted=True)
