"""CI cross-check: tests/slack_methods.py against Slack's published method specs.

The specs live outside the repo (`../shared/specs/slack/<method>.json`, or the folder named
by WARROOM_SLACK_SPECS). Only an absent specs folder skips; a missing file for one of our
methods fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.slack_methods import ALWAYS_ALLOWED, METHODS, check_blocks, check_call

SPECS = Path(
    os.environ.get("WARROOM_SLACK_SPECS")
    or Path(__file__).resolve().parents[2] / "shared" / "specs" / "slack"
)
EXPECTED = {
    *("auth.test", "apps.connections.open", "chat.postMessage", "chat.update"),
    *("chat.postEphemeral", "chat.getPermalink", "conversations.create"),
    *("conversations.invite", "conversations.setTopic", "conversations.archive"),
    *("conversations.info", "conversations.list", "conversations.members", "pins.add"),
    *("files.getUploadURLExternal", "files.completeUploadExternal", "users.info"),
    "users.list",
    *("views.open", "views.update", "reactions.add"),
}


def _spec(method: str) -> dict[str, Any]:
    if not SPECS.is_dir():
        pytest.skip(f"Slack method specs not found at {SPECS} (set WARROOM_SLACK_SPECS)")
    path = SPECS / f"{method}.json"
    assert path.is_file(), f"no spec for {method} at {path}"
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


def test_table_lists_exactly_the_methods_we_use():
    assert set(METHODS) == EXPECTED


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_matches_spec(method: str):
    spec = _spec(method)
    ours = METHODS[method]
    args = spec.get("args", {})
    official = set(args.get("properties", {}))
    spec_required = set(args.get("required", [])) - {"token"}
    assert spec_required <= ours.required, f"{method}: spec requires {spec_required}"
    assert ours.allowed <= official, f"{method}: not in spec {ours.allowed - official}"
    assert ours.required <= ours.allowed
    bot_scopes = set(spec.get("scope", {}).get("bot", []))
    assert ours.scopes <= bot_scopes, f"{method}: not bot scopes {ours.scopes - bot_scopes}"


def test_team_id_is_allowed_everywhere_and_token_never_listed():
    assert {"token", "team_id"} == ALWAYS_ALLOWED
    assert all("token" not in spec.allowed for spec in METHODS.values())


def test_check_call_accepts_a_good_call_with_bolt_team_id_and_token():
    args = {"channel": "C001", "text": "hi", "token": "xoxb-test", "team_id": "T001"}
    assert check_call("chat.postMessage", args) == []


def test_check_call_reports_missing_and_unknown_args():
    problems = check_call("chat.update", {"channel": "C001", "txt": "typo"})
    assert problems == [
        "chat.update: missing required arg 'ts'",
        "chat.update: unknown arg 'txt'",
    ]


def test_check_call_treats_empty_required_args_as_missing():
    assert check_call("users.info", {"user": ""}) == ["users.info: missing required arg 'user'"]


def test_check_call_rejects_unknown_and_retired_methods():
    assert check_call("chat.postMesage", {}) == [
        "chat.postMesage: unknown method (not in tests/slack_methods.METHODS)"
    ]
    assert "method_deprecated" in check_call("files.upload", {"channels": "C001"})[0]


def test_check_blocks_flags_slack_limits():
    ok = [
        {"type": "header", "text": {"type": "plain_text", "text": "SEV1"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}},
    ]
    assert check_blocks(ok) == []
    assert check_blocks(json.dumps(ok)) == []
    long_header = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    assert check_blocks(long_header) == ["blocks/0/text: text must be 1..150 characters"]
    assert check_blocks([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}])
    assert check_blocks([{"type": "divider"}] * 51) == ["blocks: 51 blocks, at most 50"]
    assert check_blocks([{"type": "bogus"}]) == ["blocks/0: unknown block type"]
    assert check_blocks("not json") == ["blocks: not valid JSON"]


def test_only_an_absent_specs_folder_skips(monkeypatch, tmp_path):
    import tests.test_slack_method_table as me

    monkeypatch.setattr(me, "SPECS", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception, match="not found"):
        _spec("auth.test")
    monkeypatch.setattr(me, "SPECS", tmp_path)
    with pytest.raises(AssertionError, match=r"no spec for auth\.test"):
        _spec("auth.test")
