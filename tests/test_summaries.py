"""Channel summaries and the read-in: what they say, when they are (not) posted, and the
`Summarizer` seam."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot import rhythm
from bot.summaries import Summary, TimelineItem
from bot.views import IncidentView
from tests.conftest import Console
from tests.rhythm_support import (
    at,
    declare,
    due,
    incident_channel,
    private_to,
    rendered,
    run,
    say,
    summaries_in,
    tick,
    timeline,
)


async def busy_first_half_hour(c: Console) -> None:
    """Declare at 09:00, then chat, a pinned message, triage and tasks before 09:30."""
    await declare(c, "SEV3 Database slow --playbook default --comms @bob")
    c.clock.set(at(2))
    await say(c, "Replica lag is at 40s", user="bob")
    c.clock.set(at(3))
    cpu = await say(c, "Primary CPU is at 95%", user="carol")
    c.clock.set(at(4))
    await say(c, "I can take the failover", user="dave")
    c.clock.set(at(5))
    c.session.as_user("alice")
    await c.session.react("📌", cpu.id)
    c.clock.set(at(6))
    await run(c, "sev SEV2")
    c.clock.set(at(7))
    await run(c, "status identified")
    c.clock.set(at(8))
    await run(c, "commander @carol")
    c.clock.set(at(9))
    await run(c, "task add Fail over to replica 1 @dave", user="carol")
    c.clock.set(at(10))
    await run(c, "task add Write the runbook entry", user="carol")
    c.clock.set(at(20))
    await run(c, "task done 1", user="dave")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


async def test_the_automatic_summary_reports_what_changed_since_the_last(console):
    await busy_first_half_hour(console)
    ch = await incident_channel(console)
    await tick(console, 29)
    assert summaries_in(ch) == []
    await tick(console, 30)
    [first] = summaries_in(ch)
    assert lines(first.text) == [
        "▌ 📋 Summary · INC-1 · Database slow",
        "**SEV2 · identified** for 30m · Commander: @carol · Comms: @bob",
        "**Changed since the last summary**",
        "- 👤 @alice made @bob Comms lead",
        "- 👤 @alice made @alice Incident commander",
        "- ⬆️ @alice changed severity SEV3 → SEV2",
        "- 🔄 @alice changed status investigating → identified",
        "- 👤 @alice made @carol Incident commander",
        "**Key messages**",
        "- @carol: Primary CPU is at 95%",
        "**Tasks**",
        "- opened #1 Fail over to replica 1",
        "- opened #2 Write the runbook entry",
        "- closed #1 Fail over to replica 1",
        "**Open tasks**",
        "- #2 Write the runbook entry",
        # alice acted 7 times (declare, 3 roles, severity, status, pin), carol 3, dave 2
        "  3 messages since the last summary · 3 in all · active: @alice, @carol, @dave, @bob",
    ]
    [entry] = await timeline(console, "summary")
    assert (entry.at, entry.text) == (at(30), "automatic summary")

    # The next one covers only what happened after the first.
    await tick(console, 36)  # the update reminder (SEV2 since 09:06): quiet
    console.clock.set(at(40))
    await say(console, "Failover done, lag is back to 0s", user="bob")
    await tick(console, 60)
    second = summaries_in(ch)[1]
    assert lines(second.text) == [
        "▌ 📋 Summary · INC-1 · Database slow",
        "**SEV2 · identified** for 1h · Commander: @carol · Comms: @bob",
        "**Open tasks**",
        "- #2 Write the runbook entry",
        "  1 message since the last summary · 4 in all · active: @bob",
    ]


async def test_no_automatic_summary_when_only_the_bot_spoke(console):
    await declare(console, "SEV3 Database slow --playbook default")
    ch = await incident_channel(console)
    await tick(console, 30)
    assert len(summaries_in(ch)) == 1
    cursor = (await due(console))[("summary", "")].cursor

    fired = await tick(console, 60)  # the update reminder and the summary fall due together
    assert {f.kind for f in fired} == {"update", "summary"}
    assert len(summaries_in(ch)) == 1
    item = (await due(console))[("summary", "")]
    assert item.due_at == at(90) and item.cursor > cursor
    assert len(await timeline(console, "summary")) == 1

    console.clock.set(at(75))
    await say(console, "Query plan changed after the deploy", user="bob")
    await tick(console, 90)
    assert len(summaries_in(ch)) == 2
    assert "1 message since the last summary" in summaries_in(ch)[1].text


async def test_a_join_or_a_snooze_alone_is_not_worth_a_summary(console):
    await declare(console, "SEV3 Database slow --playbook default")
    ch = await incident_channel(console)
    await tick(console, 30)
    console.clock.set(at(40))
    console.session.as_user("erin")
    await console.session.join(ch.name)
    await run(console, "snooze 1h", user="bob")
    await tick(console, 60)
    assert len(summaries_in(ch)) == 1
    console.clock.set(at(70))
    await say(console, "Still slow", user="erin")
    await tick(console, 90)
    assert "1 message since the last summary · 1 in all · active: @erin" in (
        summaries_in(ch)[-1].text
    )


async def test_summary_on_request_posts_in_the_channel(console):
    await declare(console, "SEV3 Database slow --playbook default")
    ch = await incident_channel(console)
    console.clock.set(at(5))
    await say(console, "Replica lag is at 40s", user="bob")
    console.clock.set(at(10))
    out = await run(console, "summary", user="bob")
    assert out.reply is None
    [msg] = summaries_in(ch)
    assert ch.messages[-1] is msg
    assert "- 👤 @alice made @alice Incident commander" in msg.text
    assert "1 message since the last summary · 1 in all · active: @alice, @bob" in msg.text
    [entry] = await timeline(console, "summary")
    assert (entry.actor_name, entry.text) == ("bob", "summary on request")

    await tick(console, 30)  # nothing new since the one on request
    assert len(summaries_in(ch)) == 1
    console.clock.set(at(35))
    await say(console, "Lag is growing", user="carol")
    await tick(console, 60)
    assert "1 message since the last summary · 2 in all" in summaries_in(ch)[1].text


async def test_a_late_joiner_gets_a_private_read_in_of_everything(console):
    await busy_first_half_hour(console)
    await tick(console, 30)  # a channel summary has already covered the first half hour
    console.clock.set(at(40))
    await run(console, "update Failing over to replica 1", user="bob")
    ch = await incident_channel(console)
    seen = len(ch.messages)

    console.clock.set(at(45))
    console.session.as_user("erin")
    await console.session.join(ch.name)
    [readin] = private_to(console, "erin")
    text = lines(rendered(console, readin))
    assert text[:4] == [
        "▌ 👋 Catching up on INC-1 · Database slow",
        "**SEV2 · identified** for 45m · Commander: @carol · Comms: @bob",
        "Latest update: Failing over to replica 1",
        "**What happened**",
    ]
    for line in (
        "- 👤 @alice made @bob Comms lead",
        "- ⬆️ @alice changed severity SEV3 → SEV2",
        "- 🔄 @alice changed status investigating → identified",
        "- 👤 @alice made @carol Incident commander",
        "- @carol: Primary CPU is at 95%",
        "- opened #2 Write the runbook entry",
        "- closed #1 Fail over to replica 1",
        "- #2 Write the runbook entry",
    ):
        assert line in text
    assert text[-1].strip().startswith("3 messages so far · active: ")
    assert len(ch.messages) == seen  # nothing was posted in the channel
    assert [e.actor_name for e in await timeline(console, "joined")] == ["erin"]

    await console.session.join(ch.name)  # already a member: no second read-in
    assert len(private_to(console, "erin")) == 1
    assert all("Catching up" not in m.header for m in private_to(console, "alice"))


class Headcount:
    """A tiny stand-in for a language-model summarizer."""

    def summarize(self, *, view: IncidentView, entries: Sequence[TimelineItem]) -> Summary:
        kinds = Counter(e.kind for e in entries)
        return Summary(
            changes=[f"{view.ref}: {kinds['chat']} chats in {len(entries)} entries"],
            message_count=kinds["chat"],
            active=["UERIN"],
        )


async def test_the_summarizer_can_be_swapped(console):
    await declare(console, "SEV3 Database slow --playbook default")
    await tick(console, 15)  # the checklist step, so the summary below sees only our entries
    console.clock.set(at(20))
    await say(console, "Replica lag is at 40s", user="bob")
    await say(console, "Primary CPU is at 95%", user="carol")
    entries = len(await timeline(console))

    bot = console.app.bot
    fired = await rhythm.fire_due(bot.deps, bot.runner, now=at(30), summarizer=Headcount())
    assert [f.kind for f in fired] == ["summary"]
    [msg] = summaries_in(await incident_channel(console))
    assert lines(msg.text)[1:] == [
        "**SEV3 · investigating** for 30m · Commander: @alice · Comms: @alice",
        "**Changed since the last summary**",
        f"- INC-1: 2 chats in {entries} entries",
        "  2 messages since the last summary · 2 in all · active: @erin",
    ]
