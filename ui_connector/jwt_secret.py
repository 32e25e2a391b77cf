"""Loading the key that signs desktop JWTs: the file Cloud Run mounts, or Secret Manager."""
from __future__ import annotations

import logging
import os

from aa_common.config import ConfigError

log = logging.getLogger(__name__)
RECOMMENDED_MINIMUM_LENGTH = 32


def load_jwt_secret(key_path: str, secret_name: str, project_id: str, secret_manager=None) -> str:
    """Return the key, stripped of surrounding whitespace; refuse to go on without one.

    ``secret_manager`` is a ``SecretManagerServiceClient``; by default one over REST.
    """
    if os.path.exists(key_path):
        with open(key_path, encoding="utf-8") as key_file:
            secret, source = key_file.read().strip(), f"file {key_path}"
    elif secret_name:
        secret = _fetch_from_secret_manager(secret_name, project_id, secret_manager).strip()
        source = f"secret {secret_name}"
    else:
        raise ConfigError(
            f"no JWT secret: {key_path} does not exist and JWT_SECRET_NAME is not set "
            "(mount the secret at JWT_SECRET_KEY_PATH or name it in JWT_SECRET_NAME)"
        )
    if not secret:
        raise ConfigError(f"the JWT secret from {source} is empty; refusing to sign tokens with an empty key")
    if len(secret) < RECOMMENDED_MINIMUM_LENGTH:
        log.warning("the JWT secret is shorter than %d characters; generate a longer one",
                    RECOMMENDED_MINIMUM_LENGTH)
    return secret


def _fetch_from_secret_manager(secret_name: str, project_id: str, client) -> str:
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
    return response.payload.data.decode("utf-8")
