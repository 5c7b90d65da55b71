"""`/incident comms`: pre-approved templates, rendered privately or published."""

from __future__ import annotations

import pytest

from adapters.console.workspace import Channel
from bot.port import Outcome
from storage import repository as repo
from tests.conftest import Console
from tests.rhythm_support import (
    at,
    channel,
    declare,
    incident_channel,
    private_to,
    rendered,
    row,
    run,
    timeline,
)

NOTICE = (
    "We are investigating an issue affecting Checkout errors for EU customers.\n"
    "Current status: identified. Next update within 1h."
)


async def outage(c: Console, flags: str = "") -> None:
    await declare(c, f"SEV3 Checkout errors for EU customers --comms @bob{flags}")
    assert (await row(c)).playbook == "customer-facing-outage"
    c.clock.set(at(5))
    await run(c, "status identified", user="carol")


def counts(*channels: Channel) -> list[int]:
    return [len(ch.messages) for ch in channels]


def reply(c: Console, out: Outcome) -> str:
    assert out.reply is not None
    return rendered(c, out.reply)


async def test_comms_lists_the_playbooks_templates_privately(console):
    await outage(console)
    watched = [await incident_channel(console), channel(console, "incidents")]
    before = counts(*watched)
    out = await run(console, "comms", user="bob")
    assert reply(console, out).splitlines()[:3] == [
        "▌ Comms templates · customer-facing-outage",
        "- `customer_notice`",
        "- `internal_update`",
    ]
    assert private_to(console, "bob")[-1] == out.reply
    assert counts(*watched) == before


async def test_a_template_renders_privately_and_posts_nothing(console):
    await outage(console)
    watched = [await incident_channel(console), channel(console, "incidents")]
    before = counts(*watched)
    entries = len(await timeline(console))
    out = await run(console, "comms customer_notice", user="bob")
    assert reply(console, out).splitlines() == [
        "▌ customer_notice · INC-1 (only you see this)",
        *NOTICE.splitlines(),
        "  Post it with `/incident comms customer_notice --post`.",
    ]
    assert counts(*watched) == before
    assert len(await timeline(console)) == entries


async def test_post_publishes_to_the_announcement_channel_and_the_timeline(console):
    await outage(console)
    ch, incidents = await incident_channel(console), channel(console, "incidents")
    before = counts(ch, incidents)
    console.clock.set(at(10))
    out = await run(console, "comms customer_notice --post", user="bob")
    assert reply(console, out) == "Posted `customer_notice` to the announcement channel."
    assert counts(ch, incidents) == [before[0], before[1] + 1]
    posted = incidents.messages[-1]
    assert posted.text.splitlines() == [
        "▌ INC-1 · Checkout errors for EU customers",
        *NOTICE.splitlines(),
        "  customer_notice · posted by bob",
    ]
    [entry] = await timeline(console, "comms")
    assert (entry.at, entry.actor_name, entry.text, entry.data) == (
        at(10),
        "bob",
        NOTICE,
        {"template": "customer_notice"},
    )


async def test_an_unknown_template_is_a_private_error_with_a_suggestion(console):
    await outage(console)
    watched = [await incident_channel(console), channel(console, "incidents")]
    before = counts(*watched)
    entries = len(await timeline(console))
    out = await run(console, "comms custmer_notice --post", user="bob")
    assert reply(console, out).splitlines() == [
        "⚠️ The `customer-facing-outage` playbook has no `custmer_notice` template.",
        "Did you mean `customer_notice`?",
        "Usage: `customer_notice | internal_update`",
    ]
    assert counts(*watched) == before
    assert len(await timeline(console)) == entries
    assert await timeline(console, "comms") == []


@pytest.mark.parametrize(("flag", "why"), [("--private", "private"), ("--drill", "a drill")])
async def test_post_is_refused_for_private_and_drill_incidents(console, flag, why):
    await outage(console, f" {flag}")
    ch, incidents = await incident_channel(console), channel(console, "incidents")
    before = counts(ch, incidents)
    out = await run(console, "comms internal_update --post", user="bob")
    assert reply(console, out) == (
        f"⚠️ INC-1 is {why}, so there is no announcement channel to post to."
    )
    assert counts(ch, incidents) == before
    assert incidents.messages == []
    assert await timeline(console, "comms") == []
    # Rendering it privately still works.
    out = await run(console, "comms internal_update", user="bob")
    assert "**INC-1 · Checkout errors for EU customers** (SEV3, identified)" in reply(console, out)


async def test_comms_with_a_user_still_assigns_the_role(console):
    await outage(console)
    ch = await incident_channel(console)
    await run(console, "comms @carol")
    async with console.app.db.reader() as tx:
        current = await repo.roles(tx, incident_id=(await row(console)).id or 0)
    assert current["comms"].user_name == "carol"
    assert ch.messages[-1].text == "👤 @alice made @carol **Comms lead** (was @bob)"
    assert [e.text for e in await timeline(console, "role")][-1] == "Comms lead: carol"
    assert await timeline(console, "comms") == []
