"""Typed readers for JSON webhook bodies: every mistake is an `AlertPayloadError(path, ...)`.

`path` is where the value sits in the body, like `alerts[2].labels.severity`; the problem
says what was expected and what came ("must be a string, got a number").
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Final

from bot.alerts.model import AlertPayloadError, AlertStatus, Link

MAX_ALERTS_PER_DELIVERY: Final = 1000
MAX_TITLE: Final = 200  # titles are trimmed to this
MAX_KEY: Final = 255  # a longer dedup key or fingerprint is an error
MAX_LABEL_VALUE: Final = 2048  # a longer label value is an error (labels are identity)
MAX_TEXT: Final = 4000  # summaries and annotation values are trimmed to this
MAX_URL: Final = 8192

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

JsonObject = dict[str, object]


def describe(value: object) -> str:
    """The JSON kind of `value`, with an article: `a string`, `null`, `an object`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def member(path: str, name: str) -> str:
    """The path of member `name` under `path`: `a.b`, or `a["odd key"]` for odd names."""
    step = f".{name}" if _NAME.fullmatch(name) else f"[{json.dumps(name[:80])}]"
    return f"{path}{step}" if path else step.lstrip(".")


def as_object(value: object, path: str) -> JsonObject:
    if not isinstance(value, dict):
        raise AlertPayloadError(path, f"must be an object, got {describe(value)}")
    return value


def alert_list(value: object, path: str) -> list[object]:
    """The list of alerts at `path`: at most `MAX_ALERTS_PER_DELIVERY`, possibly empty."""
    if not isinstance(value, list):
        raise AlertPayloadError(path, f"must be a list, got {describe(value)}")
    if len(value) > MAX_ALERTS_PER_DELIVERY:
        raise AlertPayloadError(
            "alerts",
            f"a delivery may carry at most {MAX_ALERTS_PER_DELIVERY} alerts, got {len(value)}",
        )
    return value


def string(obj: JsonObject, name: str, path: str, *, required: bool = False) -> str:
    """Member `name` as a string; a missing or null optional member is `""`."""
    where = member(path, name)
    value = obj.get(name)
    if value is None:
        if required:
            raise AlertPayloadError(where, "is missing; expected a string")
        return ""
    if not isinstance(value, str):
        raise AlertPayloadError(where, f"must be a string, got {describe(value)}")
    return value


def nonempty(obj: JsonObject, name: str, path: str, *, limit: int | None = None) -> str:
    """A required string with something in it (stripped), at most `limit` characters."""
    value = string(obj, name, path, required=True).strip()
    if not value:
        raise AlertPayloadError(member(path, name), "must not be empty")
    if limit is not None and len(value) > limit:
        raise AlertPayloadError(
            member(path, name), f"must be at most {limit} characters, got {len(value)}"
        )
    return value


def exact(obj: JsonObject, name: str, path: str, expected: str) -> None:
    """A required member that must be exactly the string `expected` (a format version)."""
    value = obj.get(name)
    if value != expected:
        got = "nothing" if name not in obj else json.dumps(value)[:40]
        raise AlertPayloadError(member(path, name), f'must be "{expected}", got {got}')


def status(obj: JsonObject, name: str, path: str, *, default: str = "") -> AlertStatus:
    value = string(obj, name, path, required=not default) or default
    if value == "firing":
        return "firing"
    if value == "resolved":
        return "resolved"
    shown = json.dumps(value[:40])
    raise AlertPayloadError(member(path, name), f'must be "firing" or "resolved", got {shown}')


def integer(obj: JsonObject, name: str, path: str) -> int:
    """An optional non-negative integer member (0 when missing or null)."""
    value = obj.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AlertPayloadError(
            member(path, name), f"must be a non-negative integer, got {describe(value)}"
        )
    return value


def string_map(obj: JsonObject, name: str, path: str, *, limit: int | None) -> dict[str, str]:
    """An optional object of string values (labels, annotations); missing or null is `{}`.

    Values longer than `limit` are an error; with `limit=None` they are trimmed to
    `MAX_TEXT` instead (free text such as annotations).
    """
    where = member(path, name)
    raw = obj.get(name)
    if raw is None:
        return {}
    found = as_object(raw, where)
    result: dict[str, str] = {}
    for key, value in found.items():
        if not key:
            raise AlertPayloadError(f'{where}[""]', "names must not be empty")
        if not isinstance(value, str):
            raise AlertPayloadError(member(where, key), f"must be a string, got {describe(value)}")
        if limit is not None and len(value) > limit:
            raise AlertPayloadError(
                member(where, key), f"must be at most {limit} characters, got {len(value)}"
            )
        result[key] = trim(value, MAX_TEXT)
    return result


def time(obj: JsonObject, name: str, path: str, *, required: bool = False) -> datetime | None:
    """An RFC 3339 time in UTC; Go's zero time (`0001-01-01T00:00:00Z`) means none."""
    text = string(obj, name, path, required=required)
    if not text:
        return None
    where = member(path, name)
    if not _RFC3339.fullmatch(text):
        raise AlertPayloadError(where, f"must be an RFC 3339 time, got {json.dumps(text[:40])}")
    try:
        parsed = datetime.fromisoformat(text.upper().replace(" ", "T"))
        return None if parsed.year <= 1 else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise AlertPayloadError(where, f"is not a valid time: {json.dumps(text[:40])}") from None


def trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title(*candidates: str, fallback: str) -> str:
    """The first candidate with something in it, on one line and at most `MAX_TITLE` long."""
    for candidate in candidates:
        flat = " ".join(candidate.split())
        if flat:
            return trim(flat, MAX_TITLE)
    return fallback


def fingerprint(obj: JsonObject, path: str, labels: dict[str, str]) -> str:
    """The alert's `fingerprint`, or a stable key derived from its labels when it has none.

    Derived keys start with `labels-sha256:`, so they never look like a real fingerprint
    (16 hex digits): the same label set always gives the same key.
    """
    value = string(obj, "fingerprint", path).strip()
    if len(value) > MAX_KEY:
        raise AlertPayloadError(
            member(path, "fingerprint"),
            f"must be at most {MAX_KEY} characters, got {len(value)}",
        )
    if value:
        return value
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False, separators=(",", ":"))
    return "labels-sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def group_key(text: str) -> str:
    """A group key as given, or a stable hash of it when it is longer than `MAX_KEY`."""
    if len(text) <= MAX_KEY:
        return text
    return "group-sha256:" + hashlib.sha256(text.encode()).hexdigest()


def web_link(label: str, url: str) -> Link | None:
    """A link to show for an http(s) `url`; None for empty, odd or over-long values."""
    url = url.strip()
    if len(url) > MAX_URL or not url.lower().startswith(("http://", "https://")):
        return None
    return Link(label=label, url=url)


def links(*pairs: tuple[str, str]) -> tuple[Link, ...]:
    """Links for the (label, url) pairs that hold a usable URL, without repeats."""
    found: list[Link] = []
    for label, url in pairs:
        link = web_link(label, url)
        if link is not None and all(link.url != seen.url for seen in found):
            found.append(link)
    return tuple(found)
