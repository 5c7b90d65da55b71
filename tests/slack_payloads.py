"""Realistic Slack inbound payloads and request signing, for Socket Mode and HTTP mode tests.

The shapes follow what Slack sends: slash commands are form fields (all strings), events
arrive in an `event_callback` envelope, interactivity is a JSON `payload`. `FakeSlack` has
methods of the same names that fill in names, response URLs and trigger ids from its
workspace; these module functions work without a running fake.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T001"
TEAM_DOMAIN = "warroom-test"
APP_ID = "A001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "fake-verification-token"  # deprecated by Slack, still sent

_seq = itertools.count(1)


def new_trigger_id() -> str:
    return f"{next(_seq)}.{TEAM_ID[1:]}.fake-trigger"


def slash_command(
    text: str,
    user_id: str,
    channel_id: str,
    command: str = "/incident",
    response_url: str = "https://hooks.slack.com/commands/T001/1/fake",
    *,
    user_name: str | None = None,
    channel_name: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command (the Socket Mode `payload`, or the HTTP body)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def event_callback(
    event: dict[str, Any], event_id: str | None = None, *, event_time: int | None = None
) -> dict[str, Any]:
    """The Events API envelope around one event (Socket Mode `payload` or HTTP JSON body)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_seq):08d}",
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{next(_seq)}",
    }


def _user(user_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def block_action(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    *,
    block_id: str = "actions",
    message: dict[str, Any] | None = None,
    response_url: str = "https://hooks.slack.com/actions/T001/1/fake",
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a button pressed on a message."""
    return {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
        "message": message
        or {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "bot_id": BOT_ID},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    callback_id: str,
    values: dict[str, Any],
    user_id: str,
    private_metadata: str = "",
    *,
    view_id: str = "V001",
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """A `view_submission` payload; `values` is Slack's `state.values` shape:
    `{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}`."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": blocks or [],
            "state": {"values": values},
            "hash": f"{int(time.time())}.fakehash",
            "title": {"type": "plain_text", "text": "warroom"},
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def form_body(fields: dict[str, str]) -> str:
    """A slash command as Slack POSTs it in HTTP mode (application/x-www-form-urlencoded)."""
    return urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    """An interactivity payload as Slack POSTs it in HTTP mode (`payload=<json>`, form)."""
    return urlencode({"payload": json.dumps(payload)})


def signed_request(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack signs an HTTP request with: `v0=` HMAC-SHA256 of `v0:{ts}:{body}`."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
