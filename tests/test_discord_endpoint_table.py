"""CI cross-check: tests/discord_endpoints.py against Discord's published OpenAPI document.

The spec lives outside the repo (`../shared/specs/discord/openapi.json`, or the file named by
WARROOM_DISCORD_SPEC). Only an absent file skips.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.discord_endpoints import ENDPOINTS, Endpoint, check_request, match

SPEC = Path(
    os.environ.get("WARROOM_DISCORD_SPEC")
    or Path(__file__).resolve().parents[2] / "shared" / "specs" / "discord" / "openapi.json"
)


@cache
def _load(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


def _spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"Discord OpenAPI spec not found at {SPEC} (set WARROOM_DISCORD_SPEC)")
    return _load(SPEC)


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(spec: dict[str, Any], schema: Any, seen: frozenset[int] = frozenset()) -> set[str]:
    """Every top-level property name the schema admits (through $ref/allOf/oneOf/anyOf)."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return set()
    seen |= {id(schema)}
    names = set(schema.get("properties", {}))
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            names |= _properties(spec, sub, seen)
    return names


def _operation(ep: Endpoint) -> dict[str, Any]:
    spec = _spec()
    paths = {_norm(p): item for p, item in spec["paths"].items()}
    item = paths.get(_norm(ep.path))
    assert item is not None, f"{ep.path}: no such path in the spec"
    op = item.get(ep.method.lower())
    assert op is not None, f"{ep.method} {ep.path}: method not in the spec"
    result: dict[str, Any] = op
    return result


def _body_schema(ep: Endpoint) -> Any:
    body = _resolve(_spec(), _operation(ep).get("requestBody"))
    assert body, f"{ep.method} {ep.path}: the spec has no request body"
    schema = _resolve(_spec(), body["content"]["application/json"]["schema"])
    if ep.body == "array":
        assert "array" in schema.get("type", []), f"{ep.path}: spec body is not an array"
        schema = schema["items"]
    return schema


IDS = [f"{ep.method} {ep.path}" for ep in ENDPOINTS]


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_endpoint_exists_in_spec(ep: Endpoint):
    _operation(ep)


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.body != "none"], ids=lambda e: e.path)
def test_body_fields_exist_in_spec(ep: Endpoint):
    official = _properties(_spec(), _body_schema(ep))
    ours = ep.allowed - ep.extra
    assert ours <= official, f"{ep.method} {ep.path}: not in spec {sorted(ours - official)}"
    assert ep.required <= ep.allowed
    assert not ep.extra & official, f"{ep.path}: {ep.extra & official} are in the spec now"


def test_table_has_no_duplicates_and_covers_the_port():
    routes = [(ep.method, _norm(ep.path)) for ep in ENDPOINTS]
    assert len(routes) == len(set(routes))
    for route in (
        "POST /guilds/{}/channels",
        "POST /channels/{}/messages",
        "PATCH /channels/{}/messages/{}",
        "PUT /channels/{}/messages/pins/{}",
        "PATCH /channels/{}",
        "PUT /channels/{}/permissions/{}",
        "PUT /applications/{}/guilds/{}/commands",
        "POST /interactions/{}/{}/callback",
        "POST /webhooks/{}/{}",
    ):
        method, path = route.split(" ")
        assert (method, path) in routes, route


def test_check_request_accepts_int_and_string_snowflakes_and_bitsets():
    body = {"id": 42, "type": 0, "allow": "1024", "deny": 0}
    assert check_request("PUT", "/channels/1/permissions/42", body) == []
    create = {"name": "inc-1", "parent_id": "7", "permission_overwrites": [{"id": 1, "allow": 3}]}
    assert check_request("POST", "/guilds/1/channels", create) == []


def test_check_request_reports_problems():
    assert check_request("GET", "/nope", None) == [
        "GET /nope: unknown endpoint (not in tests/discord_endpoints.ENDPOINTS)"
    ]
    assert check_request("POST", "/channels/1/messages", {"contnet": "x"}) == [
        "POST /channels/1/messages: unknown field 'contnet'"
    ]
    assert check_request("POST", "/guilds/1/channels", {"parent_id": "x"}) == [
        "POST /guilds/1/channels: missing required field 'name'",
        "POST /guilds/1/channels: parent_id is not a snowflake: 'x'",
    ]
    assert check_request("GET", "/channels/abc", None) == [
        "GET /channels/abc: path channel_id is not a snowflake"
    ]
    assert check_request("PUT", "/applications/1/commands", {"name": "x"}) == [
        "PUT /applications/1/commands: body must be a JSON array"
    ]
    assert check_request("PUT", "/applications/1/commands", [{"name": "incident", "x": 1}]) == [
        "PUT /applications/1/commands [0]: unknown field 'x'"
    ]


def test_match_prefers_literal_segments():
    found = match("GET", "/webhooks/1/tok/messages/@original")
    assert found is not None and found[1] == {"application_id": "1", "interaction_token": "tok"}
    assert match("PUT", "/channels/1/pins/2") is None  # the deprecated pins path


def test_only_an_absent_spec_skips(monkeypatch, tmp_path):
    import tests.test_discord_endpoint_table as me

    monkeypatch.setattr(me, "SPEC", tmp_path / "absent.json")
    with pytest.raises(pytest.skip.Exception, match="not found"):
        _spec()
