"""The Discord REST endpoints warroom uses, with the top-level JSON body fields we allow.

`test_discord_endpoint_table.py` checks every entry against Discord's published OpenAPI
document (`shared/specs/discord/openapi.json`) in CI: the path exists with that method
(parameter names normalised) and every allowed field is in the request body schema, except
the few fields listed in `extra`, which discord.py 2.7.1 sends although the spec omits them
(Discord ignores them). `allowed` is narrower than the spec on purpose.

`check_request` is what the loopback fake (`tests/discord_fake.py`) runs on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

BodyKind = Literal["none", "object", "array"]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # template, relative to /api/v10
    body: BodyKind = "none"
    allowed: frozenset[str] = frozenset()  # for "array": the fields of each item
    required: frozenset[str] = frozenset()
    extra: frozenset[str] = frozenset()  # allowed, sent by discord.py, absent from the spec


def _e(
    route: str,
    fields: str = "",
    *,
    body: BodyKind | None = None,
    required: str = "",
    extra: str = "",
) -> Endpoint:
    method, path = route.split(" ", 1)
    kind: BodyKind = body or ("object" if fields else "none")
    return Endpoint(
        method,
        path,
        kind,
        frozenset(fields.split()) | frozenset(extra.split()),
        frozenset(required.split()),
        frozenset(extra.split()),
    )


_MESSAGE = "content embeds components allowed_mentions attachments flags"
_CHANNEL = "name type topic parent_id permission_overwrites position nsfw rate_limit_per_user"
_COMMAND = (
    "type name name_localizations description description_localizations options"
    " default_member_permissions dm_permission contexts integration_types"
)

ENDPOINTS: tuple[Endpoint, ...] = (
    _e("GET /users/@me"),  # login
    _e("GET /oauth2/applications/@me"),  # login (Client.application_info)
    _e("GET /users/{user_id}"),  # Client.fetch_user (a DM to someone not cached)
    _e("GET /gateway"),
    _e("GET /gateway/bot"),  # AutoShardedClient
    _e("GET /guilds/{guild_id}"),  # Client.fetch_guild (`warroom check`)
    _e("GET /guilds/{guild_id}/channels"),
    _e("POST /guilds/{guild_id}/channels", _CHANNEL, required="name"),
    _e("GET /guilds/{guild_id}/members/search"),  # `warroom check` (before {user_id})
    _e("GET /guilds/{guild_id}/members/{user_id}"),
    _e("GET /channels/{channel_id}"),
    _e("PATCH /channels/{channel_id}", _CHANNEL),  # topic, rename, archive by move/lock
    # discord.py puts the target id in the body too; the spec lists only type/allow/deny.
    _e("PUT /channels/{channel_id}/permissions/{overwrite_id}", "type allow deny", extra="id"),
    _e("DELETE /channels/{channel_id}/permissions/{overwrite_id}"),
    _e(
        "POST /channels/{channel_id}/messages",
        f"{_MESSAGE} message_reference nonce enforce_nonce tts",
    ),
    _e("GET /channels/{channel_id}/messages/{message_id}"),
    # discord.py's Message.edit always sends `tts` (false); the spec omits it on edits.
    _e("PATCH /channels/{channel_id}/messages/{message_id}", _MESSAGE, extra="tts"),
    # discord.py 2.7.1 uses the newer messages/pins path (the old /pins/ one is deprecated).
    _e("PUT /channels/{channel_id}/messages/pins/{message_id}"),
    _e("PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me"),
    _e("POST /users/@me/channels", "recipient_id", required="recipient_id"),  # DM channel
    # discord.py sends each command's `nsfw` flag; the spec omits it on this request.
    _e("PUT /applications/{application_id}/commands", _COMMAND, body="array", extra="nsfw"),
    _e(
        "PUT /applications/{application_id}/guilds/{guild_id}/commands",
        _COMMAND,
        body="array",
        extra="nsfw",
    ),
    _e(
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "type data",
        required="type",
    ),
    _e("POST /webhooks/{application_id}/{interaction_token}", f"{_MESSAGE} tts"),  # followup
    _e("GET /webhooks/{application_id}/{interaction_token}/messages/@original"),
    _e("PATCH /webhooks/{application_id}/{interaction_token}/messages/@original", _MESSAGE),
)

# Discord takes snowflakes as strings but accepts integers, and discord.py sends several as
# integers (parent_id, overwrite ids, recipient_id). Permission bitsets are documented as
# strings ("serialized permissions"); discord.py sends overwrites' allow/deny as digit
# strings and channel-create overwrites as integers, while the OpenAPI document types
# allow/deny as integer. Discord accepts both, so the check accepts both as well.
SNOWFLAKE_FIELDS = frozenset({"id", "parent_id", "recipient_id", "message_id", "channel_id"})
BITSET_FIELDS = frozenset({"allow", "deny", "default_member_permissions", "permissions"})

_PARAM = re.compile(r"\{([^}]+)\}")


def match(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint a request hits, with its path parameters, or None."""
    parts = path.strip("/").split("/")
    for ep in ENDPOINTS:
        tpl = ep.path.strip("/").split("/")
        if ep.method != method.upper() or len(tpl) != len(parts):
            continue
        params: dict[str, str] = {}
        for t, p in zip(tpl, parts, strict=True):
            name = _PARAM.fullmatch(t)
            if name:
                params[name.group(1)] = p
            elif t != p:
                break
        else:
            return ep, params
    return None


def _id_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value >= 0) or (isinstance(value, str) and value.isdigit())


def _check_fields(where: str, ep: Endpoint, body: Any) -> list[str]:
    if not isinstance(body, dict):
        return [f"{where}: body must be a JSON object"]
    problems = [f"{where}: missing required field {n!r}" for n in sorted(ep.required - set(body))]
    problems += [f"{where}: unknown field {n!r}" for n in sorted(set(body) - ep.allowed)]
    values = [(k, v) for k, v in body.items()]
    for ow in body.get("permission_overwrites") or []:
        values += [(k, v) for k, v in ow.items()] if isinstance(ow, dict) else []
    ref = body.get("message_reference")
    values += [(k, v) for k, v in ref.items()] if isinstance(ref, dict) else []
    for name, value in values:
        if name in SNOWFLAKE_FIELDS and value is not None and not _id_ok(value):
            problems.append(f"{where}: {name} is not a snowflake: {value!r}")
        if name in BITSET_FIELDS and value is not None and not _id_ok(value):
            problems.append(f"{where}: {name} is not a permission bitset: {value!r}")
    return problems


def check_request(method: str, path: str, body: Any) -> list[str]:
    """Problems with one REST request: unknown endpoint, bad ids, unknown or missing fields."""
    where = f"{method.upper()} {path}"
    found = match(method, path)
    if found is None:
        return [f"{where}: unknown endpoint (not in tests/discord_endpoints.ENDPOINTS)"]
    ep, params = found
    problems = [
        f"{where}: path {name} is not a snowflake"
        for name, value in params.items()
        if name.endswith("_id") and not value.isdigit()
    ]
    if ep.body == "none":
        if body not in (None, b"", ""):
            problems.append(f"{where}: takes no body")
    elif ep.body == "array":
        if not isinstance(body, list):
            problems.append(f"{where}: body must be a JSON array")
        else:
            for i, item in enumerate(body):
                problems += _check_fields(f"{where} [{i}]", ep, item)
    else:
        problems += _check_fields(where, ep, body)
    return problems
