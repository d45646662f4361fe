"""Serialisation of replies: JSON with exact integers, envelope, pretty and the body faults."""

import json
from datetime import datetime
from typing import Any

from .models import CachedJsonDict

# Marker for an _id that must be written as a raw number token with leading zeros.
_RAW_PREFIX = "\x00raw:"
# The marker as json.dumps writes it, opening quote included.
_RAW_MARKER = json.dumps(_RAW_PREFIX)[:-1]
FAKE_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUEmulatorFaultInjectedPemFieldAAAAAAAAAAAAAAAA\n"
    "-----END CERTIFICATE-----\n"
)


def to_json_bytes(payload: Any, pretty: bool = False) -> bytes:
    """Serialise with Python's json, which writes ints of any size exactly (never via float).
    ``pretty`` indents by two spaces with ``" : "`` separators, like Jackson's pretty printer."""
    if pretty:
        text = json.dumps(payload, ensure_ascii=False, indent=2, separators=(",", " : "))
    elif _has_cached_results(payload):
        # Encode the body with an empty list, then put the cached item texts in its place.
        # An unescaped '"results":[]' can only be the key itself: quotes in strings are escaped.
        shell = json.dumps({**payload, "results": []}, ensure_ascii=False, separators=(",", ":"))
        items = ",".join(item.fragment for item in payload["results"])
        text = shell.replace('"results":[]', f'"results":[{items}]', 1)
    else:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if _RAW_MARKER in text:
        text = _unquote_raw_tokens(text)
    return text.encode("utf-8")


def _has_cached_results(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    items = payload.get("results")
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(item, CachedJsonDict) for item in items)
    )


def wrap_envelope(payload: Any, status: int, is_list: bool) -> Any:
    """envelope=true: a list body gains ``status``; an entity becomes {status, content}."""
    if is_list and isinstance(payload, dict):
        return {**payload, "status": status}
    return {"content": payload, "status": status}


def apply_malformed(payload: Any, variant: str) -> Any:
    """Return a copy of a list body (or entity) changed as the ``malformed`` variant names."""
    if not isinstance(payload, dict):
        return payload
    body = dict(payload)
    items = body.get("results")
    if not isinstance(items, list):
        if variant == "extra_fields":
            body["unexpectedField"] = {"injected": True}
        return body
    items = [dict(item) for item in items]
    if variant == "missing_dates":
        for item in items:
            item.pop("createdAt", None)
            item.pop("notAfter", None)
            item.pop("created", None)
    elif variant == "non_string_dates":
        for item in items:
            for key in ("createdAt", "notAfter", "created"):
                if isinstance(item.get(key), str):
                    item[key] = _epoch_millis(item[key])
    elif variant == "id_string":
        for item in items:
            if "_id" in item:
                item["_id"] = str(item["_id"])
    elif variant == "id_leading_zeros":
        for item in items:
            if "_id" in item:
                item["_id"] = f"{_RAW_PREFIX}000{item['_id']}"
    elif variant == "extra_fields":
        body["unexpectedField"] = {"injected": True}
        for item in items:
            item["unexpectedItemField"] = "injected"
    elif variant == "pem_in_item" and items:
        items[0]["pem"] = FAKE_PEM
    if variant == "results_not_list":
        body["results"] = {str(index): item for index, item in enumerate(items)}
    else:
        body["results"] = items
    return body


def invalid_json(body: bytes) -> bytes:
    """Turn a JSON body into almost-JSON: an empty member before the final brace."""
    stripped = body.rstrip()
    if stripped.endswith(b"}"):
        return stripped[:-1] + b',"truncatedAt":}'
    return b"{" + stripped


def _epoch_millis(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _unquote_raw_tokens(text: str) -> str:
    first, *rest = text.split(_RAW_MARKER)
    pieces = [first]
    for part in rest:
        token, _, after = part.partition('"')
        pieces.append(token + after)
    return "".join(pieces)
