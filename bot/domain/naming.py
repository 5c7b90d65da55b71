"""Channel names from the playbook's template: lowercase, at most 80 characters.

Every adapter gets the same kind of name: `[a-z0-9-]`, which every platform accepts.
A title in another script is transliterated first (`anyascii`: `Сервер упал` gives
`server-upal`, `数据库宕机` gives `shujukudangji`, an emoji its name: `🔥` gives `fire`),
so a title without Latin letters still names its channel; only a title with nothing to
transliterate falls back to `incident`.
"""

from __future__ import annotations

import re

from anyascii import anyascii

MAX_CHANNEL_NAME = 80
FALLBACK_SLUG = "incident"
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _NON_SLUG.sub("-", anyascii(text).lower()).strip("-")


def channel_name(template: str, *, number: int, title: str, severity: str) -> str:
    slug = slugify(title)[: MAX_CHANNEL_NAME * 2] or FALLBACK_SLUG
    raw = template.format(number=number, slug=slug, severity=severity)
    name = _NON_SLUG.sub("-", raw.lower()).strip("-")
    return name[:MAX_CHANNEL_NAME].rstrip("-")


def with_suffix(name: str, attempt: int) -> str:
    """The name for the n-th retry after a collision: `name-2`, `name-3`, ..."""
    suffix = f"-{attempt + 1}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-") + suffix
