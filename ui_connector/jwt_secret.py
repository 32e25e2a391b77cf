"""Loading the keys that sign desktop JWTs: the files Cloud Run mounts, or Secret Manager.

Rotation: new tokens are signed with the current key, and tokens signed with the previous
one stay valid for their lifetime. The current key is ``JWT_SECRET_KEY_PATH`` (or the latest
version of ``JWT_SECRET_NAME``); the previous one ``JWT_PREVIOUS_SECRET_KEY_PATH`` (or the
version of ``JWT_SECRET_NAME`` before the latest, when it is still enabled).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass

from aa_common.config import ConfigError

log = logging.getLogger(__name__)
RECOMMENDED_MINIMUM_LENGTH = 32
_VERSION = re.compile(r"(?P<secret>projects/[^/]+/secrets/[^/]+)/versions/(?P<number>\d+)")


@dataclass(frozen=True)
class SigningKey:
    secret: str

    @functools.cached_property
    def kid(self) -> str:
        """A public name for the key (the JWT ``kid`` header) that reveals nothing about it."""
        return hmac.new(self.secret.encode(), b"aa-ui-connector key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKeys:
    current: SigningKey
    previous: SigningKey | None = None

    def by_kid(self, kid: str) -> SigningKey | None:
        return next((key for key in self.all() if hmac.compare_digest(key.kid, kid)), None)

    def all(self) -> list[SigningKey]:
        return [self.current] + ([self.previous] if self.previous else [])


def load_jwt_keys(key_path: str, previous_key_path: str, secret_name: str, project_id: str,
                  secret_manager=None) -> SigningKeys:
    """The current key (required) and the previous one (optional), each stripped of surrounding
    whitespace; refuse to go on without a current key.

    ``secret_manager`` is a ``SecretManagerServiceClient``; by default one over REST.
    """
    if os.path.exists(key_path):
        current = _checked(_read_file(key_path), f"file {key_path}")
        previous = _checked(_read_file(previous_key_path), f"file {previous_key_path}") \
            if previous_key_path and os.path.exists(previous_key_path) else None
    elif secret_name:
        current, previous = _fetch_from_secret_manager(secret_name, project_id, secret_manager)
    else:
        raise ConfigError(
            f"no JWT secret: {key_path} does not exist and JWT_SECRET_NAME is not set "
            "(mount the secret at JWT_SECRET_KEY_PATH or name it in JWT_SECRET_NAME)"
        )
    return SigningKeys(SigningKey(current), SigningKey(previous) if previous else None)


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as key_file:
        return key_file.read()


def _checked(secret: str, source: str) -> str:
    secret = secret.strip()
    if not secret:
        raise ConfigError(f"the JWT secret from {source} is empty; refusing to sign tokens with an empty key")
    if len(secret) < RECOMMENDED_MINIMUM_LENGTH:
        log.warning("the JWT secret is shorter than %d characters; generate a longer one",
                    RECOMMENDED_MINIMUM_LENGTH)
    return secret


def _fetch_from_secret_manager(secret_name: str, project_id: str, client) -> tuple[str, str | None]:
    """The named version (the latest, by default) and, when it is numbered, the enabled one before it."""
    from google.api_core import exceptions as google_errors
    from google.cloud import secretmanager  # imported here: only this path needs it

    name = secret_name if secret_name.startswith("projects/") else (
        f"projects/{project_id}/secrets/{secret_name}/versions/latest")
    client = client or secretmanager.SecretManagerServiceClient(transport="rest")  # REST: no gRPC under gevent
    try:
        response = client.access_secret_version(name=name, timeout=10)
    except google_errors.GoogleAPICallError as error:
        raise ConfigError(f"cannot read the JWT secret {name} from Secret Manager: {error.code} "
                          f"{type(error).__name__} (does the service account have secretAccessor?)") from None
    current = _checked(response.payload.data.decode("utf-8"), f"secret {name}")
    version = _VERSION.fullmatch(response.name or "")
    if not version or int(version["number"]) < 2:
        return current, None
    previous_name = f"{version['secret']}/versions/{int(version['number']) - 1}"
    try:
        previous = client.access_secret_version(name=previous_name, timeout=10)
    except google_errors.GoogleAPICallError as error:  # disabled or destroyed: its tokens are over
        log.info("no previous JWT key", extra={"version": previous_name, "reason": type(error).__name__})
        return current, None
    return current, _checked(previous.payload.data.decode("utf-8"), f"secret {previous_name}")
