"""List pagination: opaque page tokens and pages of results with a ``nextPageToken``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .errors import invalid_argument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page(field: str, items: list[Any], offset: int, size: int) -> dict[str, Any]:
    """``{field: items[offset:offset + size]}`` plus ``nextPageToken`` when more items follow."""
    body: dict[str, Any] = {field: items[offset : offset + size]}
    if offset + size < len(items):
        body["nextPageToken"] = _encode(offset + size)
    return body


def offset_of(token: str) -> int:
    """The offset a page token from ``page`` stands for; the first page for an empty token."""
    if not token:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, offset = "", ""
    if kind != "offset" or not offset.isdigit():
        raise invalid_argument(f"Invalid page token: {token}")
    return int(offset)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()
