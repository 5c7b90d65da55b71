"""The `/incident` app-command group on Discord: the synced tree, choices, autocomplete,
and typed subcommands rebuilt into the one grammar the core parses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import translate
from bot.command_help import SPECS
from bot.domain.status import Status
from tests import discord_gateway as gw
from tests.chat_drivers import DiscordDriver, discord_driver, incident, roles, tasks

CH = "inc-1-checkout-errors"


@pytest.fixture
async def dc(tmp_path: Path) -> AsyncIterator[DiscordDriver]:
    async with discord_driver(tmp_path) as d:
        yield d


def subcommands(d: DiscordDriver) -> dict[str, dict[str, Any]]:
    [group] = [c for c in d.fake.commands if c["name"] == "incident"]
    return {o["name"]: o for o in group["options"] if o["type"] == gw.SUB_COMMAND}


def option(sub: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [o for o in sub.get("options", []) if o["name"] == name]
    assert len(found) == 1, name
    return found[0]


async def run(
    d: DiscordDriver, sub: str, by: str = "alice", channel: str = CH, **opts: Any
) -> None:
    await d.fake.slash_command(sub, opts, user_id=d.ids[by], channel_id=d.cid(channel))
    await d.idle()


async def declare(d: DiscordDriver) -> None:
    await run(d, "declare", channel="general", title="Checkout errors", severity="SEV2")


async def test_the_synced_group_mirrors_the_grammar(dc: DiscordDriver) -> None:
    subs = subcommands(dc)
    grammar = {n for n in SPECS if n != "task"} | {"task_add", "task_done", "run"}
    assert set(subs) == grammar
    severities = [c["value"] for c in option(subs["declare"], "severity")["choices"]]
    assert severities == dc.bridge.settings.severity_scale.names
    assert [c["value"] for c in option(subs["sev"], "level")["choices"]] == severities
    assert [c["value"] for c in option(subs["status"], "state")["choices"]] == list(Status)
    assert option(subs["declare"], "playbook")["autocomplete"] is True
    assert [c["value"] for c in option(subs["declare"], "impact")["choices"]] == [
        "high",
        "medium",
        "low",
    ]
    assert option(subs["commander"], "user")["type"] == gw.USER
    assert option(subs["task_add"], "owner")["type"] == gw.USER
    assert not option(subs["comms"], "user").get("required")


async def test_playbook_autocomplete(dc: DiscordDriver) -> None:
    payload = await dc.fake.autocomplete(
        "declare",
        {"title": "x", "playbook": "SEC"},
        focused="playbook",
        user_id=dc.ids["alice"],
        channel_id=dc.cid("general"),
    )
    await dc.idle()
    [answer] = [r for r in dc.fake.interaction_responses if r["interaction_id"] == payload["id"]]
    assert answer["type"] == gw.AUTOCOMPLETE_RESULT
    assert [c["value"] for c in answer["data"]["choices"]] == ["security-incident"]


async def test_declare_then_typed_subcommands(dc: DiscordDriver) -> None:
    await run(
        dc,
        "declare",
        channel="general",
        title="Checkout errors",
        severity="SEV2",
        playbook="default",
    )
    inc = await incident(dc.app)
    assert (inc.title, inc.severity, inc.playbook) == ("Checkout errors", "SEV2", "default")

    await run(dc, "sev", level="SEV1")
    assert (await incident(dc.app)).severity == "SEV1"
    await run(dc, "commander", user=gw.UserId(dc.ids["bob"]))
    assert (await roles(dc.app))["commander"] == "bob"
    await run(dc, "task_add", text="Check the CDN logs", owner=gw.UserId(dc.ids["bob"]))
    [task] = await tasks(dc.app)
    assert task.text == "Check the CDN logs"


async def test_bad_input_gets_the_cores_private_error(dc: DiscordDriver) -> None:
    await declare(dc)
    await run(dc, "snooze", duration="forever")
    assert any("is not a duration" in r for r in dc.private_replies("alice"))
    await run(dc, "declare", channel="general", title="Login down", impact="high")
    assert any("go together" in r for r in dc.private_replies("alice"))


async def test_declare_without_a_title_opens_the_form(dc: DiscordDriver) -> None:
    payload = await dc.fake.slash_command(
        "declare", {}, user_id=dc.ids["alice"], channel_id=dc.cid("general")
    )
    await dc.idle()
    [answer] = [r for r in dc.fake.interaction_responses if r["interaction_id"] == payload["id"]]
    assert answer["type"] == 9  # MODAL
    assert answer["data"]["custom_id"].startswith("declare:")


def test_options_rebuild_the_grammar_text() -> None:
    def text(sub: str, **values: Any) -> str:
        options = gw.command_options(values)
        return translate.command_text({"options": [{"name": sub, "type": 1, "options": options}]})

    assert text("sev", level="SEV1") == "sev SEV1"
    assert (
        text("declare", title="Leak", severity="SEV1", playbook="x", private=True, drill=False)
        == "declare SEV1 --playbook x --private -- Leak"
    )
    assert text("declare", title="--force push broke main") == "declare -- --force push broke main"
    assert text("comms", user=gw.UserId("42")) == "comms <@42>"
    assert text("comms", template="notice", post=True) == "comms notice --post"
    assert text("task_add", text="Check logs", owner=gw.UserId("7")) == "task add Check logs <@7>"
    assert text("task_done", number=2) == "task done 2"
    assert text("run", text=" status identified ") == "status identified"
    assert text("escalate") == "escalate"
