"""Reading request bodies and query parameters the way Dialogflow does: wrong types are a 400.

Bodies may name fields either way proto3 JSON allows (``json_body`` turns proto names into JSON
names once, for every route); field paths in messages use the proto (snake_case) spelling, as
Dialogflow's errors do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import request

from . import pagination
from .errors import invalid_argument
from .names import parse_rfc3339

JsonObject = dict[str, Any]


def snake_case(field: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def _path(parent: str, field: str) -> str:
    return f"{parent}.{snake_case(field)}" if parent else snake_case(field)


def camel_case(field: str) -> str:
    """A proto field name's JSON name (``conversation_profile`` -> ``conversationProfile``)."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), field)


# Fields whose keys are data, not field names: google.protobuf.Struct fields keep their value as
# sent, map fields keep their keys (their message values still take either spelling).
STRUCT_FIELDS = frozenset({"payload", "parameters", "cxParameters", "endUserMetadata"})
MAP_FIELDS = frozenset({"documentsMetadataFilters", "webhookHeaders", "contextReferences"})


def json_names(value: Any) -> Any:
    """``value`` with every field named by its JSON name, as proto3 JSON parsers accept either.

    Routes then read one spelling only. A field given in both spellings is an error, as in Dialogflow.
    """
    if isinstance(value, list):
        return [json_names(item) for item in value]
    if not isinstance(value, dict):
        return value
    named: JsonObject = {}
    for field, item in value.items():
        name = camel_case(field)
        if name in named:
            raise invalid_argument(
                f"Invalid JSON payload received. Field {snake_case(name)!r} is given twice, as proto and JSON name."
            )
        if name in STRUCT_FIELDS:
            named[name] = item
        elif name in MAP_FIELDS and isinstance(item, dict):
            named[name] = {key: json_names(entry) for key, entry in item.items()}
        else:
            named[name] = json_names(item)
    return named


def json_body() -> JsonObject:
    """The request body as a JSON object with JSON field names; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("Invalid JSON payload received. The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. The request body must be a JSON object.")
    return json_names(body)


def string_field(obj: JsonObject, field: str, parent: str = "", *, required: bool = False) -> str:
    value = obj.get(field, "")
    if not isinstance(value, str):
        raise invalid_argument(f"Invalid value at '{_path(parent, field)}' (TYPE_STRING), {json.dumps(value)}")
    if required and not value.strip():
        raise invalid_argument(f"{_path(parent, field)} is required.")
    return value


def object_field(obj: JsonObject, field: str, parent: str = "", *, required: bool = False) -> JsonObject:
    value = obj.get(field, {})
    if not isinstance(value, dict):
        raise invalid_argument(f"Invalid value at '{_path(parent, field)}': expected a JSON object.")
    if required and not value:
        raise invalid_argument(f"{_path(parent, field)} is required.")
    return value


def timestamp_field(obj: JsonObject, field: str, parent: str = "") -> datetime | None:
    """A google.protobuf.Timestamp in RFC 3339 form, or None when absent."""
    value = string_field(obj, field, parent)
    if not value:
        return None
    moment = parse_rfc3339(value)
    if moment is None:
        raise invalid_argument(
            f"Invalid value at '{_path(parent, field)}' (type.googleapis.com/google.protobuf.Timestamp), "
            f"{json.dumps(value)}"
        )
    return moment


def list_field(obj: JsonObject, field: str, parent: str = "") -> list[Any]:
    value = obj.get(field, [])
    if not isinstance(value, list):
        raise invalid_argument(f"Invalid value at '{_path(parent, field)}': expected a JSON array.")
    return value


def int_field(obj: JsonObject, field: str, parent: str = "") -> int:
    """An int32 field, which proto JSON allows as a number or a numeric string; 0 when absent."""
    value = obj.get(field, 0)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.fullmatch(r"-?\d+", str(value)):
        raise invalid_argument(f"Invalid value at '{_path(parent, field)}' (TYPE_INT32), {json.dumps(value)}")
    return int(value)


def enum_field(obj: JsonObject, field: str, names: Sequence[str], parent: str = "") -> str:
    """An enum field given by name or, as the REST clients send it, by number (``names[number]``)."""
    value = obj.get(field, names[0])
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    enum_name = "".join(part.title() for part in snake_case(field).split("_"))
    raise invalid_argument(f"Invalid value at '{_path(parent, field)}' (type.{enum_name}), {json.dumps(value)}")


def update_mask() -> set[str]:
    """The ``updateMask`` query parameter as camelCase field names (FieldMask JSON allows either case)."""
    paths = request.args.get("updateMask", request.args.get("update_mask", ""))
    return {
        re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path.strip())
        for path in paths.split(",")
        if path.strip()
    }


def page_request() -> tuple[int, int]:
    """``(offset, size)`` from the ``pageToken`` and ``pageSize`` query parameters."""
    size = int_field(dict(request.args), "pageSize") or pagination.DEFAULT_PAGE_SIZE
    if size < 0:
        raise invalid_argument("page_size must not be negative.")
    return pagination.offset_of(request.args.get("pageToken", "")), min(size, pagination.MAX_PAGE_SIZE)
