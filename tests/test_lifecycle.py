"""Incident lifecycle scenarios on the console platform: what channels show, what the DB holds."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from adapters.console.app import build_console
from adapters.console.workspace import Channel, Message
from bot.clock import ManualClock
from bot.port import Outcome
from storage import repository as repo
from storage.tables import Incident, TimelineEntry
from tests.conftest import Console, make_settings

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

BUTTONS = ["Take commander", "Take comms", "Post update", "Resolve"]


# --- helpers ----------------------------------------------------------------------------


async def declare(c: Console, args: str, *, user: str = "alice") -> Outcome:
    c.session.as_user(user)
    c.session.go("general")
    return await c.session.send(f"/incident declare {args}")


async def run(c: Console, text: str, *, user: str = "alice", number: int = 1) -> Outcome:
    inc = await row(c, number)
    assert inc.channel_name
    c.session.as_user(user)
    c.session.go(inc.channel_name)
    return await c.session.send(f"/incident {text}")


async def row(c: Console, number: int = 1) -> Incident:
    async with c.app.db.reader() as tx:
        inc = await repo.incident_by_number(tx, number=number)
    assert inc is not None, f"no INC-{number} in the database"
    return inc


async def roles(c: Console, number: int = 1) -> dict[str, str]:
    inc_id = (await row(c, number)).id or 0
    async with c.app.db.reader() as tx:
        return {k: r.user_name for k, r in (await repo.roles(tx, incident_id=inc_id)).items()}


async def timeline(c: Console, number: int = 1) -> list[TimelineEntry]:
    inc_id = (await row(c, number)).id or 0
    async with c.app.db.reader() as tx:
        return list(await repo.timeline(tx, incident_id=inc_id))


def channel(c: Console, name: str) -> Channel:
    found = c.session.ws.channel_by_name(name)
    assert found is not None, f"no #{name}"
    return found


async def card(c: Console, number: int = 1) -> Message:
    inc = await row(c, number)
    assert inc.card_message_id
    msg = c.session.ws.message(inc.card_message_id)
    assert msg is not None and msg.rich is not None
    return msg


def field(msg: Message, title: str) -> str:
    return next(f.value for f in (msg.rich.fields if msg.rich else ()) if f.title == title)


def buttons(msg: Message) -> list[str]:
    return [b.label for b in (msg.rich.buttons if msg.rich else ())]


def member_names(c: Console, ch: Channel) -> set[str]:
    return {c.session.ws.users[u].name for u in ch.members}


def reply(c: Console, out: Outcome) -> str:
    return c.session.render_reply(out)


ONCALL_PLAYBOOK = """\
name: oncall
description: A playbook with default assignees and responders.
match: {default: true}
roles:
  commander: {label: Incident commander, default_assignee: dave}
  comms: {label: Comms lead, default_assignee: "@erin"}
responders: [carol]
checklist:
  - text: Page the database team
announce_channel: incidents
"""


# --- declare ----------------------------------------------------------------------------


async def test_declare_opens_a_channel_with_a_pinned_card_and_topic(console):
    out = await declare(console, "SEV2 Checkout errors")
    assert out.incident_number == 1
    assert "Declared **INC-1** (SEV2): Checkout errors" in reply(console, out)
    assert "#inc-1-checkout-errors" in reply(console, out)

    inc = await row(console)
    ch = channel(console, "inc-1-checkout-errors")
    assert (inc.channel_id, inc.channel_name) == (ch.id, ch.name)
    assert (inc.status, inc.severity) == ("investigating", "SEV2")
    assert await roles(console) == {"commander": "alice", "comms": "alice"}
    msg = await card(console)
    assert msg.channel_id == ch.id and msg.pinned
    assert msg.text.startswith("▌ INC-1 · Checkout errors\n")
    assert field(msg, "Severity") == "SEV2 (high)"
    assert field(msg, "Status") == "investigating"
    assert "Incident commander: @alice" in msg.text and "Comms lead: @alice" in msg.text
    assert "Customer liaison: _unassigned_" in msg.text
    assert buttons(msg) == BUTTONS
    assert ch.topic == "SEV2 · investigating · IC: alice · Comms: alice"
    assert not ch.private and "alice" in member_names(console, ch)
    steps = [line for line in msg.text.splitlines() if line.startswith("- [ ]")]
    assert len(steps) == 3
    assert steps[0] == "- [ ] Post a customer notice on the status page _(within 10m)_"


async def test_roles_from_flags_and_everyone_is_invited(console):
    await declare(console, "SEV2 Checkout errors --commander @carol --comms @bob")
    assert await roles(console) == {"commander": "carol", "comms": "bob"}
    ch = channel(console, "inc-1-checkout-errors")
    assert {"alice", "bob", "carol"} <= member_names(console, ch)
    msg = await card(console)
    assert "Incident commander: @carol" in msg.text and "Comms lead: @bob" in msg.text
    assert ch.topic.endswith("IC: carol · Comms: bob")


async def test_roles_and_responders_from_the_playbook(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "oncall.yaml").write_text(ONCALL_PLAYBOOK)
    settings = make_settings(tmp_path, playbooks_dir=folder)
    clock = ManualClock()
    app, session = await build_console(settings, clock=clock)
    c = Console(app=app, session=session, clock=clock, settings=settings)
    try:
        await declare(c, "SEV2 Replica lag")
        assert await roles(c) == {"commander": "dave", "comms": "erin"}
        ch = channel(c, "inc-1-replica-lag")
        assert member_names(c, ch) >= {"alice", "dave", "erin", "carol"}
        assert "Page the database team" in (await card(c)).text
        await declare(c, "SEV2 Replica lag again --commander @bob")
        assert await roles(c, 2) == {"commander": "bob", "comms": "erin"}
    finally:
        await app.stop()


async def test_announcement_is_posted_and_then_updated_in_place(console):
    await declare(console, "SEV3 Database slow")
    incidents = channel(console, "incidents")
    assert len(incidents.messages) == 1
    announcement = incidents.messages[0]
    inc = await row(console)
    assert (inc.announce_channel_id, inc.announce_message_id) == (incidents.id, announcement.id)
    before = announcement.text
    assert "SEV3 incident declared · INC-1" in before and "#inc-1-database-slow" in before

    await run(console, "sev SEV1")
    assert len(incidents.messages) == 1
    assert incidents.messages[0].id == announcement.id
    assert announcement.text != before
    assert "SEV1 incident declared · INC-1" in announcement.text and announcement.edited


@pytest.mark.parametrize(
    ("flag", "says"),
    [("--private", "private: it was not announced"), ("--drill", "drill: it was not announced")],
)
async def test_private_and_drill_incidents_are_not_announced(console, flag, says):
    out = await declare(console, f"SEV2 Database slow {flag}")
    *_, join, note = reply(console, out).splitlines()
    assert join == "Join the response in #inc-1-database-slow."
    assert says in note
    assert channel(console, "incidents").messages == []
    inc = await row(console)
    assert inc.announce_message_id is None
    assert (inc.private, inc.drill) == (flag == "--private", flag == "--drill")
    assert channel(console, "inc-1-database-slow").private == (flag == "--private")
    if flag == "--drill":
        assert (await card(console)).text.startswith("▌ 🧪 DRILL · INC-1")
    await run(console, "update Still digging")
    assert channel(console, "incidents").messages == []


@pytest.mark.parametrize(
    ("declared", "playbook", "name", "private"),
    [
        ("SEV1 Security alert", "security-incident", "sec-1-security-alert", True),
        ("SEV2 API key leak", "security-incident", "sec-1-api-key-leak", True),
        ("Leaked credentials", "security-incident", "sec-1-leaked-credentials", True),
        ("SEV3 Checkout broken", "customer-facing-outage", "inc-1-checkout-broken", False),
        ("SEV1 Database slow", "customer-facing-outage", "inc-1-database-slow", False),
        ("SEV3 Database slow", "default", "inc-1-database-slow", False),
    ],
)
async def test_playbook_chosen_by_match_rules(console, declared, playbook, name, private):
    out = await declare(console, declared)
    inc = await row(console)
    assert (inc.playbook, inc.channel_name, inc.private) == (playbook, name, private)
    assert channel(console, name).private == private
    assert ("private: it was not announced" in reply(console, out)) == private
    assert len(channel(console, "incidents").messages) == (0 if private else 1)


async def test_playbook_named_explicitly(console):
    await declare(console, "SEV2 Database slow --playbook security-incident")
    inc = await row(console)
    assert (inc.playbook, inc.channel_name) == ("security-incident", "sec-1-database-slow")
    assert inc.private and channel(console, "sec-1-database-slow").private
    assert "Security lead: _unassigned_" in (await card(console)).text


@pytest.mark.parametrize(
    ("impact", "urgency", "severity"),
    [
        ("high", "high", "SEV1"),
        ("high", "low", "SEV2"),
        ("medium", "low", "SEV3"),
        ("low", "low", "SEV4"),
    ],
)
async def test_impact_and_urgency_give_the_severity(console, impact, urgency, severity):
    await declare(console, f"Checkout errors --impact {impact} --urgency {urgency}")
    inc = await row(console)
    assert (inc.severity, inc.impact, inc.urgency) == (severity, impact, urgency)
    msg = await card(console)
    assert field(msg, "Severity").startswith(severity)
    assert field(msg, "Impact × urgency") == f"{impact} × {urgency}"


async def test_channel_name_collision_gets_a_suffix(console):
    console.session.ws.add_channel("inc-1-checkout-errors")
    await declare(console, "SEV2 Checkout errors")
    inc = await row(console)
    assert inc.channel_name == "inc-1-checkout-errors-2"
    assert (await card(console)).channel_id == channel(console, "inc-1-checkout-errors-2").id
    assert channel(console, "inc-1-checkout-errors").messages == []


async def test_long_title_gives_a_channel_name_of_at_most_80_chars(console):
    title = "Checkout " + " ".join(["errors"] * 25)
    await declare(console, f"SEV2 {title}")
    inc = await row(console)
    name = inc.channel_name or ""
    assert inc.title == title and channel(console, name).id == inc.channel_id
    assert 60 < len(name) <= 80
    assert name.startswith("inc-1-checkout-errors-") and not name.endswith("-")


# --- changes after declare --------------------------------------------------------------


async def test_severity_changes_post_a_notice_and_refresh_everything(console):
    await declare(console, "SEV3 Database slow")
    ch = channel(console, "inc-1-database-slow")
    announcement = channel(console, "incidents").messages[0]
    for command, expected, notice in [
        ("escalate", "SEV2", "⬆️ @carol changed severity **SEV3 → SEV2**"),
        ("deescalate", "SEV3", "⬇️ @carol changed severity **SEV2 → SEV3**"),
        ("sev SEV1", "SEV1", "⬆️ @carol changed severity **SEV3 → SEV1**"),
    ]:
        await run(console, command, user="carol")
        assert (await row(console)).severity == expected
        assert ch.messages[-1].text == notice
        assert field(await card(console), "Severity").startswith(expected)
        assert ch.topic.startswith(f"{expected} · investigating")
        assert f"{expected} incident declared" in announcement.text
    out = await run(console, "escalate")
    assert "already the highest" in reply(console, out)
    assert (await row(console)).severity == "SEV1"


async def test_status_lifecycle_stamps_times_and_updates_the_card(console):
    t0 = console.clock.now()
    await declare(console, "SEV2 Database slow")
    ch = channel(console, "inc-1-database-slow")
    for minutes, status, stamp in [
        (5, "identified", "identified_at"),
        (10, "monitoring", "monitoring_at"),
        (15, "resolved", "resolved_at"),
    ]:
        console.clock.set(t0 + timedelta(minutes=minutes))
        await run(console, f"status {status}")
        inc = await row(console)
        assert inc.status == status
        assert getattr(inc, stamp) == t0 + timedelta(minutes=minutes)
        assert field(await card(console), "Status") == status
        assert f"· {status} ·" in ch.topic
    assert (await row(console)).identified_at == t0 + timedelta(minutes=5)


async def test_update_is_posted_broadcast_and_remembered(console):
    await declare(console, "SEV2 Database slow")
    await run(console, "update Failing over to the replica", user="bob")
    ch, incidents = channel(console, "inc-1-database-slow"), channel(console, "incidents")
    for where in (ch, incidents):
        assert "Failing over to the replica" in where.messages[-1].text
        assert "Update · INC-1 · Database slow" in where.messages[-1].text
    assert (await row(console)).latest_update == "Failing over to the replica"
    assert "Latest update: Failing over to the replica" in incidents.messages[0].text


async def test_notes_tasks_and_the_timeline(console):
    await declare(console, "SEV2 Database slow")
    ch = channel(console, "inc-1-database-slow")
    out = await run(console, "note Suspect the 14:02 config push")
    assert "Added a note to the INC-1 timeline" in reply(console, out)
    await run(console, "task add Check the replica logs @dave")
    assert "#1** added by @alice: Check the replica logs (owner @dave)" in ch.messages[-1].text
    assert "dave" in member_names(console, ch)
    await run(console, "task add Write the status page notice")
    await run(console, "task done 1", user="dave")
    assert "@dave completed task **#1**: Check the replica logs" in ch.messages[-1].text
    listing = reply(console, await run(console, "tasks")).splitlines()
    assert listing[1:3] == [
        "☑ #1 Check the replica logs — @dave",
        "☐ #2 Write the status page notice",
    ]
    assert "1 open of 2" in listing[-1]

    shown = reply(console, await run(console, "timeline"))
    assert shown.startswith("▌ Timeline · INC-1 · Database slow")
    assert "@alice declared the incident (SEV2): Database slow" in shown
    assert "📝 @alice: Suspect the 14:02 config push" in shown
    assert "@dave completed task #1: Check the replica logs" in shown
    assert not any("Suspect the 14:02" in m.text for m in ch.messages)


async def test_resolve_reopen_and_close(console):
    await declare(console, "SEV2 Database slow")
    ch, incidents = channel(console, "inc-1-database-slow"), channel(console, "incidents")
    console.clock.advance(timedelta(minutes=30))
    await run(console, "resolve Failed over to the replica", user="carol")
    inc = await row(console)
    assert (inc.status, inc.resolved_at) == ("resolved", console.clock.now())
    for where in (ch, incidents):
        resolved = [m.text for m in where.messages if "✅ Resolved" in m.text]
        assert len(resolved) == 1
        assert "✅ Resolved · INC-1 · Database slow" in resolved[0]
        assert "Failed over to the replica" in resolved[0]
    msg = await card(console)
    assert buttons(msg) == []
    assert field(msg, "Status") == "resolved"
    assert "Status: **resolved**" in incidents.messages[0].text

    await run(console, "reopen")
    inc = await row(console)
    assert (inc.status, inc.resolved_at) == ("investigating", None)
    assert "reopened **INC-1**" in ch.messages[-1].text
    assert buttons(await card(console)) == BUTTONS

    await run(console, "resolve")
    assert not ch.archived
    await run(console, "status closed")
    inc = await row(console)
    assert inc.status == "closed" and inc.closed_at is not None
    assert ch.archived


async def test_incidents_are_numbered_and_list_shows_open_ones_only(console):
    declared = ["SEV2 Checkout errors", "SEV3 Database slow", "SEV4 Flaky test env --drill"]
    assert [(await declare(console, d)).incident_number for d in declared] == [1, 2, 3]
    await run(console, "resolve", number=1)
    console.session.go("general")
    listing = reply(console, await console.session.send("/incident list")).splitlines()
    assert listing == [
        "▌ Open incidents",
        "**INC-2** SEV3 · investigating · Database slow · #inc-2-database-slow",
        "**INC-3** SEV4 · investigating · Flaky test env · #inc-3-flaky-test-env · drill",
    ]


async def test_help_and_help_for_one_command(console):
    overview = reply(console, await console.session.send("/incident help"))
    for name in ("declare", "sev", "status", "update", "resolve", "timeline", "list"):
        assert f"`/incident {name}" in overview
    detail = reply(console, await console.session.send("/incident help declare"))
    assert detail.startswith("▌ `/incident declare`")
    assert "Usage: `/incident declare [SEVn] <title>" in detail
    assert "Examples:" in detail


async def test_the_timeline_records_every_step_with_utc_times_and_actor(console):
    await declare(console, "SEV3 Database slow")
    steps = ["sev SEV2", "status identified", "update Rolling back", "note Config push"]
    for step in [*steps, "task add Roll back @dave", "task done 1"]:
        console.clock.advance(timedelta(minutes=1))
        await run(console, step, user="carol")
    entries = await timeline(console)
    assert {e.kind for e in entries} >= {
        *("declared", "role", "channel_created", "invited", "announced", "severity"),
        *("status", "update", "note", "task_added", "task_done"),
    }
    assert all(e.at.tzinfo == UTC for e in entries)
    by_kind = {e.kind: e for e in entries}
    assert by_kind["declared"].actor_id == "UALICE" and by_kind["declared"].text == "Database slow"
    for kind in ("severity", "status", "update", "note", "task_added", "task_done"):
        assert by_kind[kind].actor_id == "UCAROL", kind
        assert by_kind[kind].actor_name == "carol"
    start = entries[0].at
    assert by_kind["severity"].at == start + timedelta(minutes=1)
    assert by_kind["task_done"].at == start + timedelta(minutes=6)
    assert by_kind["update"].text == "Rolling back"
    assert by_kind["severity"].data == {"old": "SEV3", "new": "SEV2", "escalated": True}
