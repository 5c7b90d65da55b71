"""Channel names from the playbook's template: lowercase, at most 80 characters."""

from __future__ import annotations

import re

MAX_CHANNEL_NAME = 80
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower()).strip("-")


def channel_name(template: str, *, number: int, title: str, severity: str) -> str:
    raw = template.format(number=number, slug=slugify(title) or "incident", severity=severity)
    name = _NON_SLUG.sub("-", raw.lower()).strip("-")
    return name[:MAX_CHANNEL_NAME].rstrip("-")


def with_suffix(name: str, attempt: int) -> str:
    """The name for the n-th retry after a collision: `name-2`, `name-3`, ..."""
    suffix = f"-{attempt + 1}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-") + suffix
