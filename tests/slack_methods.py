"""The Slack Web API methods warroom uses: required and allowed arguments, bot scopes.

Every name here exists in Slack's published method specs; `test_slack_method_table.py`
checks that against `shared/specs/slack/<method>.json` in CI. `allowed` is the subset of
the official arguments we accept (narrower than the spec on purpose); `required` may be
stricter than the spec where our usage always needs the argument (e.g. `pins.add` without
`timestamp` pins nothing we care about). `scopes` are bot scopes, any one of which suffices.

`check_call` is what the loopback fake (`tests/slack_fake.py`) runs on every request;
`Args`, `SlackError` and `channel_name_error` are how its workspace
(`tests/slack_workspace.py`) reads arguments and answers errors, the way Slack does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MethodSpec:
    required: frozenset[str]
    allowed: frozenset[str]
    scopes: frozenset[str]


def _m(required: str, optional: str = "", *, scopes: str = "") -> MethodSpec:
    req = frozenset(required.split())
    return MethodSpec(req, req | frozenset(optional.split()), frozenset(scopes.split()))


_MESSAGE = "text blocks attachments metadata"
_MANAGE = "channels:manage groups:write"
_READ = "channels:read groups:read"

METHODS: dict[str, MethodSpec] = {
    "auth.test": _m(""),
    "apps.connections.open": _m(""),
    "chat.postMessage": _m(
        "channel",
        f"{_MESSAGE} thread_ts reply_broadcast unfurl_links unfurl_media mrkdwn",
        scopes="chat:write",
    ),
    "chat.update": _m("channel ts", _MESSAGE, scopes="chat:write"),
    "chat.postEphemeral": _m(
        "channel user", "text blocks attachments thread_ts", scopes="chat:write"
    ),
    "chat.getPermalink": _m("channel message_ts"),
    "conversations.create": _m("name", "is_private team_id", scopes=_MANAGE),
    "conversations.invite": _m(
        "channel users", "force", scopes=f"{_MANAGE} channels:write.invites groups:write.invites"
    ),
    "conversations.setTopic": _m(
        "channel topic", scopes=f"{_MANAGE} channels:write.topic groups:write.topic"
    ),
    "conversations.archive": _m("channel", scopes=_MANAGE),
    "conversations.info": _m("channel", "include_num_members include_locale", scopes=_READ),
    "conversations.list": _m("", "cursor limit types exclude_archived team_id", scopes=_READ),
    "conversations.members": _m("channel", "cursor limit", scopes=_READ),
    "pins.add": _m("channel timestamp", scopes="pins:write"),
    "files.getUploadURLExternal": _m(
        "filename length", "alt_txt snippet_type", scopes="files:write"
    ),
    "files.completeUploadExternal": _m(
        "files", "channel_id initial_comment thread_ts", scopes="files:write"
    ),
    "users.info": _m("user", "include_locale", scopes="users:read"),
    "users.list": _m("", "cursor include_locale limit team_id", scopes="users:read"),
    "views.open": _m("view trigger_id"),
    "views.update": _m("view view_id", "hash"),
    "reactions.add": _m("channel name timestamp", scopes="reactions:write"),
}


class SlackError(Exception):
    """An API error: answered as HTTP 200 `{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class Args:
    """One call's merged arguments, read the way Slack reads form fields."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get(self, name: str) -> str:
        value = self.raw.get(name)
        return "" if value is None else str(value)

    def flag(self, name: str) -> bool:
        return self.raw.get(name) in (True, 1, "1", "true", "True")

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.raw.get(name, default))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None

    def parsed(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError("invalid_arguments", detail=f"{name}: not JSON") from None
        return value


def channel_name_error(name: str) -> str | None:
    """The error conversations.create answers for a bad name, or None."""
    if not name:
        return "invalid_name_required"
    if len(name) > 80:
        return "invalid_name_maxlength"
    if name != name.lower() or not all(c.isalnum() or c in "-_" for c in name):
        return "invalid_name_specials"
    if not any(c.isalnum() for c in name):
        return "invalid_name_punctuation"
    return None


# Sent by Bolt's listener `client` on every call; the token travels in the header.
ALWAYS_ALLOWED = frozenset({"token", "team_id"})

RETIRED = {
    "files.upload": "files.upload is retired (method_deprecated); use files_upload_v2",
}


def check_call(method: str, args: Mapping[str, Any]) -> list[str]:
    """Problems with one Web API call: unknown method, missing or unknown arguments."""
    if method in RETIRED:
        return [RETIRED[method]]
    spec = METHODS.get(method)
    if spec is None:
        return [f"{method}: unknown method (not in tests/slack_methods.METHODS)"]
    problems = [
        f"{method}: missing required arg {name!r}"
        for name in sorted(spec.required)
        if args.get(name) in (None, "")
    ]
    problems += [
        f"{method}: unknown arg {name!r}"
        for name in sorted(args)
        if name not in spec.allowed and name not in ALWAYS_ALLOWED
    ]
    return problems


# Block Kit limits Slack enforces with `invalid_blocks` (a practical subset).
_BLOCK_TYPES = frozenset(
    [
        "actions",
        "context",
        "divider",
        "header",
        "image",
        "input",
        "rich_text",
        "section",
        "file",
        "markdown",
        "video",
    ]
)


def _text_problem(where: str, text: Any, limit: int, *, plain_only: bool = False) -> str | None:
    if not isinstance(text, dict) or not isinstance(text.get("text"), str):
        return f"{where}: text object expected"
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if text.get("type") not in kinds:
        return f"{where}: type must be one of {kinds}"
    if not text["text"] or len(text["text"]) > limit:
        return f"{where}: text must be 1..{limit} characters"
    return None


def check_blocks(blocks: Any) -> list[str]:
    """Block Kit problems Slack would answer `invalid_blocks` for (a practical subset)."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks: not valid JSON"]
    if not isinstance(blocks, list):
        return ["blocks: must be an array"]
    if len(blocks) > 50:
        return [f"blocks: {len(blocks)} blocks, at most 50"]
    problems: list[str | None] = []
    for i, block in enumerate(blocks):
        at = f"blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            problems.append(f"{at}: unknown block type")
            continue
        kind = block["type"]
        if kind == "header":
            problems.append(_text_problem(f"{at}/text", block.get("text"), 150, plain_only=True))
        elif kind == "section":
            fields = block.get("fields") or []
            if "text" not in block and not fields:
                problems.append(f"{at}: section needs text or fields")
            if "text" in block:
                problems.append(_text_problem(f"{at}/text", block["text"], 3000))
            if len(fields) > 10:
                problems.append(f"{at}/fields: at most 10")
            problems += [_text_problem(f"{at}/fields/{j}", f, 2000) for j, f in enumerate(fields)]
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                problems.append(f"{at}/elements: 1..25 elements")
            for j, el in enumerate(elements):
                if isinstance(el, dict) and el.get("type") == "button":
                    where = f"{at}/elements/{j}"
                    problems.append(_text_problem(where, el.get("text"), 75, plain_only=True))
                    if len(str(el.get("value", ""))) > 2000:
                        problems.append(f"{where}/value: at most 2000 characters")
                    if len(str(el.get("action_id", ""))) > 255:
                        problems.append(f"{where}/action_id: at most 255 characters")
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"{at}/elements: 1..10 elements")
    return [p for p in problems if p]
