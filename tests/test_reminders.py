"""The update rhythm's policy on the console: when reminders, escalations, summaries and
checklist steps fall due, what the channels show, and what the `due_item` table holds."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.markup import mentioned_user_ids
from storage.tables import DueItem
from tests.rhythm_support import (
    at,
    channel,
    checklist_in,
    declare,
    due,
    due_at,
    escalations_in,
    incident_channel,
    private_to,
    reminders_in,
    row,
    run,
    say,
    summaries_in,
    tick,
    timeline,
)

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

DEFAULT = "--playbook default"


def nudges(ch) -> int:
    return len(reminders_in(ch)) + len(escalations_in(ch))


# --- firing once, on time -----------------------------------------------------------------


async def test_an_update_reminder_fires_exactly_once_when_due(console):
    await declare(console, f"SEV3 Database slow {DEFAULT} --comms @bob")
    ch = await incident_channel(console)
    assert await due_at(console) == at(60)

    await tick(console, 59)
    assert reminders_in(ch) == []
    fired = await tick(console, 60)
    assert await console.app.bot.run_due() == []  # a second pass at the same moment: nothing
    assert [f.kind for f in fired].count("update") == 1

    [msg] = reminders_in(ch)
    assert msg.rich is not None
    assert msg.rich.header == "⏰ INC-1 is due a status update"
    assert "@alice @bob — the last update was 1h ago, and SEV3 incidents get one every 1h." in (
        msg.text
    )
    assert [b.label for b in msg.rich.buttons] == ["Post update", "Snooze 30m"]
    item = (await due(console))[("update", "")]
    assert (item.fired_count, item.last_fired_at, item.due_at) == (1, at(60), at(120))
    [entry] = await timeline(console, "reminder")
    assert (entry.at, entry.data["due_at"], entry.data["reminder"], entry.data["missed"]) == (
        at(60),
        at(60).isoformat(),
        1,
        0,
    )
    assert reminders_in(channel(console, "incidents")) == []


async def test_an_update_resets_the_timer(console):
    await declare(console, f"SEV3 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    console.clock.set(at(40))
    await run(console, "update Found the slow query; adding an index", user="bob")
    assert await due_at(console) == at(100)

    await tick(console, 60)  # the old due time
    await tick(console, 99)
    assert reminders_in(ch) == []
    await tick(console, 100)
    [msg] = reminders_in(ch)
    assert "the last update was 1h ago" in msg.text
    assert (await due(console))[("update", "")].fired_count == 1


@pytest.mark.parametrize(
    ("changed_at", "due_after"),
    [
        (10, 40),  # SEV3 -> SEV2 at 09:10: due 09:40 instead of 10:00
        (45, 60),  # at 09:45 now+30m would be 10:15: escalating never pushes it later
    ],
)
async def test_escalating_pulls_the_next_reminder_in(console, changed_at, due_after):
    await declare(console, f"SEV3 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    console.clock.set(at(changed_at))
    await run(console, "sev SEV2")
    assert await due_at(console) == at(due_after)

    await tick(console, due_after - 1)
    assert reminders_in(ch) == []
    await tick(console, due_after)
    [msg] = reminders_in(ch)
    assert "SEV2 incidents get one every 30m" in msg.text


async def test_deescalating_lengthens_the_cadence_and_sev4_stops_it(console):
    await declare(console, f"SEV2 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    assert await due_at(console) == at(30)
    console.clock.set(at(10))
    await run(console, "update Looking at the replicas")
    assert await due_at(console) == at(40)
    console.clock.set(at(20))
    await run(console, "sev SEV3")
    assert await due_at(console) == at(70)  # the last update + the new 1h cadence

    await tick(console, 40)
    assert reminders_in(ch) == []
    await tick(console, 70)
    assert len(reminders_in(ch)) == 1

    console.clock.set(at(75))
    await run(console, "deescalate")
    assert (await row(console)).severity == "SEV4"
    assert await due_at(console) is None
    await tick(console, 600)
    assert nudges(ch) == 1


# --- snooze -------------------------------------------------------------------------------


async def test_snooze_command_and_button_move_the_reminder(console):
    await declare(console, f"SEV3 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    console.clock.set(at(50))
    await run(console, "snooze 30m", user="bob")
    assert await due_at(console) == at(80)
    assert ch.messages[-1].text == (
        "😴 @bob snoozed update reminders for 30m (next reminder 2026-01-01 10:20 UTC)."
    )
    [snoozed] = await timeline(console, "snoozed")
    assert (snoozed.actor_name, snoozed.data["until"]) == ("bob", at(80).isoformat())

    await tick(console, 60)
    await tick(console, 79)
    assert reminders_in(ch) == []
    await tick(console, 80)
    [reminder] = reminders_in(ch)

    console.clock.set(at(85))
    console.session.as_user("carol")
    await console.session.press(reminder.id, "Snooze 30m")
    # The next nudge was already due later (80 + the 1h cadence): a snooze never brings
    # it closer, but it does acknowledge the reminders so far.
    assert await due_at(console) == at(140)
    assert ch.messages[-1].text.startswith("😴 @carol snoozed update reminders for 30m")
    await tick(console, 139)
    assert nudges(ch) == 1
    await tick(console, 140)
    assert nudges(ch) == 2


# --- stopping -----------------------------------------------------------------------------


async def test_resolve_and_close_stop_every_timer(console):
    await declare(console, f"SEV2 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    assert {k for k, i in (await due(console)).items() if i.due_at} == {
        ("update", ""),
        ("summary", ""),
        ("checklist", "2"),
    }
    console.clock.set(at(5))
    await say(console, "Replica 2 is lagging", user="bob")
    await run(console, "resolve Failed over to replica 1")
    assert [i.due_at for i in (await due(console)).values()] == [None, None, None]

    seen = len(ch.messages)
    assert await tick(console, 600) == []
    assert len(ch.messages) == seen
    # An update after the resolve is recorded, but it does not start the timers again.
    await run(console, "update Post-incident: replica 2 rebuilt")
    assert [i.due_at for i in (await due(console)).values()] == [None, None, None]
    await run(console, "status closed")
    seen = len(ch.messages)
    assert await tick(console, 2000) == []
    assert len(ch.messages) == seen
    assert reminders_in(ch) == summaries_in(ch) == checklist_in(ch) == []
    assert await timeline(console, "reminder") == []


async def test_a_stale_due_time_on_a_resolved_incident_posts_nothing(console):
    await declare(console, f"SEV2 Database slow {DEFAULT}")
    await run(console, "resolve Fixed")
    ch = await incident_channel(console)
    seen = len(ch.messages)
    async with console.app.db.transaction() as tx:  # as if another process re-armed it
        await tx.exec(update(DueItem).values(due_at=at(20)))
    fired = await tick(console, 30)
    assert len(fired) == 3 and not any(f.posted for f in fired)
    assert len(ch.messages) == seen
    assert [i.due_at for i in (await due(console)).values()] == [None, None, None]


async def test_reopen_rearms_and_a_second_resolve_stops_again(console):
    await declare(console, f"SEV3 Database slow {DEFAULT}")
    ch = await incident_channel(console)
    await tick(console, 60)
    assert len(reminders_in(ch)) == 1
    console.clock.set(at(70))
    await run(console, "resolve Index added")
    console.clock.set(at(80))
    await run(console, "reopen")
    item = (await due(console))[("update", "")]
    assert (item.due_at, item.fired_count) == (at(140), 0)
    assert await due_at(console, "summary") == at(110)

    await tick(console, 140)
    assert len(reminders_in(ch)) == 2  # a fresh count: not escalated
    assert escalations_in(ch) == []
    console.clock.set(at(145))
    await run(console, "resolve Index added, for real")
    seen = len(ch.messages)
    assert await tick(console, 900) == []
    assert len(ch.messages) == seen


# --- who gets reminded --------------------------------------------------------------------


async def test_drills_get_no_reminders_under_the_default_playbook(console):
    await declare(console, f"SEV1 Database slow {DEFAULT} --drill")
    ch = await incident_channel(console)
    assert all(i.due_at is None for i in (await due(console)).values())
    await say(console, "Practising the failover", user="bob")
    assert await tick(console, 300) == []
    assert nudges(ch) == 0 and summaries_in(ch) == [] and checklist_in(ch) == []


async def test_security_drills_rehearse_the_cadence_privately(console):
    await declare(console, "SEV2 Leaked API credential --drill")
    inc = await row(console)
    assert (inc.playbook, inc.drill, inc.private) == ("security-incident", True, True)
    ch = await incident_channel(console)
    await run(console, "role security_lead @carol")
    assert await due_at(console) == at(30)

    await tick(console, 30)
    assert escalations_in(ch) == [] and len(reminders_in(ch)) == 1
    await tick(console, 60)
    [msg] = escalations_in(ch)  # escalate_after: 1 in this playbook
    assert msg.text.startswith("▌ 🚨 INC-1: 1 update reminder went unanswered\n")
    assert "Escalating to @carol" in msg.text
    assert [c.text for c in checklist_in(ch)] == [
        "☑️ Checklist (30m after declare): **Rotate any exposed credentials** — @alice"
    ]
    assert escalations_in(channel(console, "incidents")) == []


@pytest.mark.parametrize("private", [False, True])
async def test_missed_reminders_escalate_to_the_announcement_channel(console, private):
    flag = " --private" if private else ""
    await declare(console, f"SEV2 Database slow {DEFAULT} --comms @bob{flag}")
    ch = await incident_channel(console)
    incidents = channel(console, "incidents")
    await tick(console, 30)
    assert len(reminders_in(ch)) == 1 and escalations_in(ch) == []
    assert nudges(incidents) == 0

    await tick(console, 60)
    assert len(reminders_in(ch)) == 2 and escalations_in(ch) == []  # one went unanswered
    await tick(console, 90)
    [msg] = escalations_in(ch)
    assert msg.rich is not None
    assert msg.rich.header == "🚨 INC-1: 2 update reminders went unanswered"
    assert "@alice @bob — no status update for 1h 30m (cadence: every 30m)." in msg.text
    assert (
        "Escalating to @oncall-leads: please check in on **Database slow** in "
        "#inc-1-database-slow." in msg.text
    )
    assert "UONCALL-LEADS" in mentioned_user_ids(msg.rich.text)
    if private:
        assert nudges(incidents) == 0
    else:
        [copy] = escalations_in(incidents)
        assert copy.text == msg.text
    [entry] = [e for e in await timeline(console, "reminder") if e.data["escalated"]]
    assert entry.data["missed"] == 2

    console.clock.set(at(95))
    await run(console, "update Failing over now", user="bob")
    await tick(console, 125)
    assert len(reminders_in(ch)) == 3 and len(escalations_in(ch)) == 1  # the count restarted


async def test_checklist_steps_fire_once_after_their_delay(console):
    await declare(console, "SEV3 Checkout errors --commander @carol")
    assert (await row(console)).playbook == "customer-facing-outage"
    ch = await incident_channel(console)
    assert await due_at(console, "checklist", "0") == at(10)
    await tick(console, 9)
    assert checklist_in(ch) == []
    await tick(console, 10)
    await tick(console, 10)
    await tick(console, 300)
    [msg] = checklist_in(ch)
    assert msg.text == (
        "☑️ Checklist (10m after declare): **Post a customer notice on the status page** — @carol"
    )
    [entry] = await timeline(console, "checklist_due")
    assert (entry.at, entry.data) == (at(10), {"step": 0})
    item = (await due(console))[("checklist", "0")]
    assert (item.due_at, item.fired_count) == (None, 1)


async def test_sev4_gets_no_update_reminders(console):
    await declare(console, f"SEV4 Typo on the status page {DEFAULT}")
    ch = await incident_channel(console)
    assert await due_at(console) is None
    await tick(console, 600)
    assert nudges(ch) == 0
    assert len(summaries_in(ch)) == 1  # the summary cadence is separate from updates

    out = await run(console, "snooze 30m")
    assert out.reply is not None and "has no update reminders to snooze" in out.reply.text
    assert await due_at(console) is None
    assert private_to(console, "alice")[-1] == out.reply


async def test_snoozing_from_the_escalated_copy_in_incidents_acts_on_the_incident(console):
    await declare(console, f"SEV2 Database slow {DEFAULT} --comms @bob")
    ch = await incident_channel(console)
    incidents = channel(console, "incidents")
    for minute in (30, 60, 90):
        await tick(console, minute)
    [copy] = escalations_in(incidents)

    console.clock.set(at(91))
    console.session.as_user("carol")
    console.session.go("incidents")
    out = await console.session.press(copy.id, "Snooze 30m")

    assert out.reply is None  # no "only works inside an incident channel" refusal
    [snoozed] = await timeline(console, "snoozed")
    assert snoozed.actor_name == "carol"
    assert ch.messages[-1].text.startswith("😴 @carol snoozed update reminders for 30m")
    # A snooze acknowledges the misses: the next nudge is a plain reminder again.
    await tick(console, 121)
    assert len(escalations_in(ch)) == 1 and len(reminders_in(ch)) == 3
