"""The operator's hook for authenticating agent desktops at ``POST /register``.

Implement ``check_auth`` for your agent desktop platform: it receives the value of
the ``Authorization`` header the desktop sent and returns True when that token is
valid. Until you do, every registration is refused. Built-in providers
(Salesforce, SalesforceLWC, GenesysCloud, Twilio, OIDC) are selected with
``AUTH_OPTION`` instead; see ``ui_connector/auth_providers.py``.
"""


def check_auth(auth_token: str) -> bool:
    """Return True if ``auth_token`` proves the caller is one of your agents."""
    return False
