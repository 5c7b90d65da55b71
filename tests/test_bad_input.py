"""Bad input, through the real Bot on the console platform and a real SQLite file.

Every mistake gets a private reply to the person who made it that says what was wrong,
shows the valid forms and suggests a fix for a typo; nothing is posted in any channel
and the database is exactly as it was (a failed command also gives back its claim on
the event's idempotency key).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    ModalSubmitted,
    ReactionAdded,
)
from bot.port import ChannelRef, MessageRef, Outcome, UserRef
from storage.tables import Incident
from tests import snapshots
from tests.conftest import Console
from tests.snapshots import chat_state

CHANNEL = "inc-1-disk-filling-up"
SEVERITY_USAGE = "SEV1 | SEV2 | SEV3 | SEV4"
STATUS_USAGE = "investigating | identified | monitoring | resolved | closed"


# --- helpers --------------------------------------------------------------------------


async def db_state(console: Console) -> dict[str, Any]:
    """Every table's rows (tests/snapshots.py)."""
    return await snapshots.db_state(console.app.db)


async def refused(console: Console, action: str | InboundEvent) -> str:
    """Run one bad command (text, or an event to deliver) and check that it changed nothing.

    Returns the plain text of the single private reply the sender got.
    """
    s = console.session
    db_before, chat_before = await db_state(console), chat_state(s.ws)
    seen = len(s.ws.private)
    if isinstance(action, str):
        user_id, channel_id = s.user.id, s.channel.id
        outcome: Outcome = await s.send(action)
    else:
        user_id, channel_id = action.user.id, action.channel.id
        outcome = await s.deliver(action)
    replies = s.ws.private[seen:]
    assert [(r.user_id, r.channel_id) for r in replies] == [(user_id, channel_id)]
    assert not outcome.duplicate
    assert chat_state(s.ws) == chat_before, "something was posted or changed in a channel"
    assert await db_state(console) == db_before, "the database changed"
    text = replies[0].message.plain()
    assert text.startswith("⚠️"), text  # a typed error, not the apology for a crash
    return text


@pytest.fixture
async def incident(console: Console) -> Console:
    """INC-1 on the default playbook (SEV3, investigating), alice in its channel."""
    s = console.session
    s.as_user("alice")
    s.go("general")
    out = await s.send("/incident declare SEV3 Disk filling up")
    assert out.incident_number == 1
    s.go(CHANNEL)
    return console


async def incident_row(console: Console) -> Incident:
    async with console.app.db.reader() as tx:
        return (await tx.exec(select(Incident))).one()


def event_refs(console: Console) -> tuple[UserRef, ChannelRef]:
    s = console.session
    return UserRef(s.user.id, s.user.name), ChannelRef(s.channel.id, s.channel.name)


async def prepare(console: Console, where: str, setup: tuple[str, ...]) -> None:
    """Run the setup commands (which must succeed), then stand in `where`."""
    s = console.session
    for command in setup:
        out = await s.send(f"/incident {command}")
        assert out.reply is None or not out.reply.plain().startswith("⚠️"), command
    s.go(where)


def check(text: str, expected: tuple[str, ...]) -> None:
    """Each expected fragment is in the reply; a fragment starting with `!` is not."""
    for fragment in expected:
        if fragment.startswith("!"):
            assert fragment[1:] not in text, text
        else:
            assert fragment in text, text


def case(command: str, *expected: str, where: str = CHANNEL, setup: tuple[str, ...] = ()) -> Any:
    place = "inc" if where == CHANNEL else where
    after = f" (after {setup[-1]})" if setup else ""
    return pytest.param(where, setup, command, expected, id=f"{place}: {command[:40]}{after}")


SEV1 = ("sev SEV1",)
CLOSED = ("task add Check the disks", "resolve Freed space", "status closed")
DECLARE = "Usage: `declare [SEVn] <title>"
NOT_HERE = "only works inside an incident channel."
TASK_USAGE = "Usage: `task add <text> [@owner] | task done <n>`"

CASES = [
    # severity
    case(
        "sev SEV9",
        "`SEV9` is not a severity level.",
        f"Usage: `{SEVERITY_USAGE}`",
        "Did you mean `SEV",
    ),
    case("sev SEVV1", "Did you mean `SEV1`?"),
    case("sev", "`sev` needs exactly one level.", "Usage: `sev <level>`"),
    case("sev 3", "INC-1 is already SEV3."),
    case("escalate", "SEV1 is already the highest severity.", setup=SEV1),
    case("deescalate", "SEV4 is already the lowest severity.", setup=("sev SEV4",)),
    # status
    case("status done", "`done` is not a status.", f"Usage: `{STATUS_USAGE}`"),
    case("status identifed", "Did you mean `identified`?"),
    case("status investigating", "The incident is already investigating."),
    case(
        "status closed",
        "Can't move from investigating to closed",
        "identified, monitoring, resolved",
    ),
    case("resolve Again", "The incident is already resolved.", setup=("resolve Fixed",)),
    case("reopen", "Only a resolved incident can be reopened; INC-1 is investigating."),
    # after `status closed`
    case("sev SEV1", "INC-1 is closed; you can't change the severity now.", setup=CLOSED),
    case("escalate", "INC-1 is closed; you can't change the severity now.", setup=CLOSED),
    case("deescalate", "INC-1 is closed; you can't change the severity now.", setup=CLOSED),
    case("status investigating", "A closed incident is final", setup=CLOSED),
    case("status identified", "A closed incident is final", setup=CLOSED),
    case("status closed", "The incident is already closed.", setup=CLOSED),
    case("resolve", "A closed incident is final", setup=CLOSED),
    case("reopen", "A closed incident is final", setup=CLOSED),
    case("update Still fine", "INC-1 is closed; it takes no more updates.", setup=CLOSED),
    case("commander @bob", "INC-1 is closed; roles can't change.", setup=CLOSED),
    case("role scribe @bob", "INC-1 is closed; roles can't change.", setup=CLOSED),
    case("note One more thing", "INC-1 is closed; it takes no more notes.", setup=CLOSED),
    case("task add Follow up", "INC-1 is closed; it takes no more tasks.", setup=CLOSED),
    case("task done 1", "INC-1 is closed; it takes no more task changes.", setup=CLOSED),
    # roles
    case("commander", "`commander` needs a user, like @alice.", "Usage: `commander @user`"),
    case("commander @nobody", "I can't find the user `@nobody` on console."),
    case("commander bob", "`bob` is not a user. Mention someone", "Usage: `commander @user`"),
    case("commander @alice", "alice is already the Incident commander."),
    case(
        "role wizard @bob",
        "The `default` playbook has no `wizard` role.",
        "Usage: `role <commander|comms|scribe> @user`",
        "!Did you mean",
    ),
    case("role scrib @bob", "no `scrib` role", "Did you mean `scribe`?"),
    case("role scribe @nobody", "I can't find the user `@nobody`"),
    # subcommands
    case(
        "frobnicate",
        "`frobnicate` is not an incident command.",
        "Usage: `/incident help`",
        "!Did you mean",
    ),
    case("declre Disk full", "`declre` is not an incident command.", "Did you mean `declare`?"),
    case("statsu identified", "Did you mean `status`?"),
    case("help declre", "There is no `declre` subcommand.", "Did you mean `declare`?"),
    case("list all", "`list` takes at most a page number, like `list 2`", "Usage: `list [page]`"),
    case("list 2", "There is no page 2 of open incidents: there is 1 page.", "`/incident list 1`"),
    case("tasks open", "`tasks` takes at most a page number", "Usage: `tasks [page]`"),
    case("tasks 2", "There is no page 2 of tasks: there is 1 page."),
    case("timeline 9", "There is no page 9 of the timeline: there is 1 page."),
    case("escalate now", "`escalate` takes no arguments, got `now`.", "Usage: `escalate`"),
    # outside an incident channel
    case(
        "sev SEV1", f"`sev` {NOT_HERE}", "`/incident list`", "Usage: `sev <level>`", where="general"
    ),
    case(
        "status identified",
        f"`status` {NOT_HERE}",
        "Usage: `status <investigating|",
        where="general",
    ),
    case("update Rolled back", f"`update` {NOT_HERE}", "Usage: `update <text>`", where="general"),
    case("note Suspect the deploy", f"`note` {NOT_HERE}", "Usage: `note <text>`", where="general"),
    case("resolve Fixed", f"`resolve` {NOT_HERE}", "Usage: `resolve [summary]`", where="general"),
    case("reopen", f"`reopen` {NOT_HERE}", where="general"),
    case("escalate", f"`escalate` {NOT_HERE}", where="general"),
    case("commander @bob", f"`commander` {NOT_HERE}", where="general"),
    case("task done 1", f"`task` {NOT_HERE}", TASK_USAGE, where="general"),
    case("timeline", f"`timeline` {NOT_HERE}", where="general"),
    # declare
    case("declare", "`declare` needs a title.", DECLARE, where="general"),
    case("declare SEV2", "`declare` needs a title.", DECLARE, where="general"),
    case("declare \x07\x07", "`declare` needs a title.", DECLARE, where="general"),
    case("declare Disk full --impact high", "`--impact` and `--urgency` go together", DECLARE),
    case("declare Disk full --private=false", "`--private` takes no value", DECLARE),
    case("declare Disk full --playbook", "`--playbook` needs a value.", DECLARE),
    case(
        "declare Disk full --privat",
        "`--privat` is not a declare option.",
        "Did you mean `--private`?",
    ),
    case(
        "declare Disk full --impact high --urgency high --playbook default",
        "The `default` playbook has no impact × urgency matrix",
        "Playbooks with one: customer-facing-outage.",
        f"Usage: `{SEVERITY_USAGE}`",
    ),
    case(
        "declare Login down --playbook customer-facing-outage --impact medum --urgency high",
        "`medum` is not an impact level.",
        "Did you mean `medium`?",
        "Usage: `high | medium | low`",
    ),
    case(
        "declare Checkout down --impact high --urgency now",
        "`now` is not an urgency level.",
        "Usage: `high | medium | low`",
    ),
    case(
        "declare Disk full --playbook nosuch",
        "There is no playbook named `nosuch`.",
        "Usage: `customer-facing-outage | default | security-incident`",
        "!Did you mean",
    ),
    case("declare Disk full --playbook defualt", "Did you mean `default`?", where="general"),
    case(
        "declare SEV9 Disk full",
        "`SEV9` is not a severity level.",
        f"Usage: `{SEVERITY_USAGE}`",
        "Did you mean `SEV",
    ),
    case("declare Disk full --commander @nobody", "I can't find the user `@nobody`"),
    case("declare " + "x" * 201, "The title is 201 characters; keep it under 200."),
    # updates, notes and tasks
    case("update", "`update` needs the update's text.", "Usage: `update <text>`"),
    case("update \x07\x08", "`update` needs the update's text."),
    case("update " + "y" * 3001, "The update is 3001 characters; the limit is 3000."),
    case("note " + "z" * 3001, "The note is 3001 characters; the limit is 3000."),
    case("task done 99", "There is no task #99. Tasks: none yet.", "Usage: `task done <n>`"),
    case("task done 3", "There is no task #3. Tasks: 1, 2.", setup=("task add A", "task add B")),
    case("task done 1", "Task #1 is already done.", setup=("task add A", "task done 1")),
    case("task done 99999999999999999999", "`task done` needs a task number", TASK_USAGE),
    case("task done x", "`task done` needs a task number", TASK_USAGE),
    case("task frob", "`task frob` is not a task command.", TASK_USAGE),
    case("task add Check the disks @nobody", "I can't find the user `@nobody`"),
    # hostile input: capped before parsing, parsed in linear time, quoted briefly
    case("snooze " + "9" * 16000, "That command is 16,007 characters long; the limit is 4,000."),
    case("snooze " + "9" * 3000, "`" + "9" * 99 + "…` is not a duration"),
    case("snooze 1000000000d", "You can snooze reminders for at most 24h."),
    case("snooze 99999999999999999999999999999d", "You can snooze reminders for at most 24h."),
    case("task done " + "9" * 3000, "`task done` needs a task number", TASK_USAGE),
    case("task done #" + "9" * 11, "`task done` needs a task number", TASK_USAGE),
    case("frob" + "x" * 3000, "`frob" + "x" * 95 + "…` is not an incident command."),
    case("declare Disk full --" + "x" * 3000, "` is not a declare option.", "!" + "x" * 101),
    case("commander \x02@UBOB\x03", "I can't find the user `@UBOB`", "!\x02"),
    # whitespace and invisible characters
    case("declare \u200b\u202e\u2066\u200d", "The title has no visible characters", DECLARE),
    case("declare SEV2 \ufeff\u3164\u2800", "The title has no visible characters", DECLARE),
    case("note \u200b \u200f", "The note has no visible characters"),
    case("update\u00a0\u200b", "The update has no visible characters"),
    case("task add \u2063\u034f", "The task has no visible characters"),
    case("sev\u00a0SEV9", "`SEV9` is not a severity level."),
    case("status\tdone", "`done` is not a status."),
    case("task\ndone\u2003x", "`task done` needs a task number", TASK_USAGE),
]


@pytest.mark.parametrize(("where", "setup", "command", "expected"), CASES)
async def test_bad_input_is_refused_privately_and_changes_nothing(
    incident, where, setup, command, expected
):
    await prepare(incident, where, setup)
    text = await refused(incident, f"/incident {command}")
    check(text, expected)


async def test_update_at_the_limit_is_accepted(incident):
    out = await incident.session.send("/incident update " + "y" * 3000)
    assert out.reply is None
    assert (await incident_row(incident)).latest_update == "y" * 3000


async def test_a_mistake_is_shown_only_to_whoever_made_it(incident):
    s = incident.session
    alice_saw = len(s.ws.private_for("UALICE"))
    s.as_user("bob")
    text = await refused(incident, "/incident sev SEV9")
    assert "not a severity level" in text
    assert s.ws.private[-1].user_id == "UBOB"
    assert len(s.ws.private_for("UALICE")) == alice_saw


async def test_escalating_reaction_at_sev1_changes_nothing(incident):
    s = incident.session
    await prepare(incident, CHANNEL, SEV1)
    card = (await incident_row(incident)).card_message_id
    message = s.ws.message(card or "")
    assert card is not None and message is not None
    message.reactions["rotating_light"] = {s.user.id}
    user, channel = event_refs(incident)
    event = ReactionAdded(
        key=s.ws.next_key(),
        user=user,
        channel=channel,
        message=MessageRef(channel.id, card),
        emoji="rotating_light",
    )
    assert "SEV1 is already the highest severity." in await refused(incident, event)


# --- buttons and forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "values", "expected"),
    [
        ("button", "incident.explode", {}, "That button (`incident.explode`) is not one of"),
        ("modal", "survey", {}, "That form (`survey`) is not one of warroom's."),
        ("modal", "update", {"text": "   "}, "The update is required."),
        ("modal", "declare", {"title": "", "severity": "SEV2"}, "The title is required."),
        ("modal", "declare", {"title": "Disk", "severity": "SEV9"}, "not a severity level"),
    ],
)
async def test_unknown_or_incomplete_buttons_and_forms(incident, kind, name, values, expected):
    user, channel = event_refs(incident)
    event: InboundEvent
    if kind == "button":
        event = ButtonPressed(key="btn-1", user=user, channel=channel, action_id=name)
    else:
        event = ModalSubmitted(
            key="modal-1", user=user, channel=channel, modal_id=name, values=values
        )
    assert expected in await refused(incident, event)


# --- redelivery -----------------------------------------------------------------------


async def test_redelivered_command_changes_nothing(incident):
    s = incident.session
    user, channel = event_refs(incident)
    event = CommandInvoked(key="evt-42", user=user, channel=channel, text="sev SEV2")
    first = await s.deliver(event)
    assert not first.duplicate
    assert (await incident_row(incident)).severity == "SEV2"
    db_before, chat_before, seen = await db_state(incident), chat_state(s.ws), len(s.ws.private)

    second = await s.deliver(event)

    assert second.duplicate is True
    assert second.reply is None
    assert await db_state(incident) == db_before
    assert chat_state(s.ws) == chat_before
    assert len(s.ws.private) == seen


async def test_redelivered_declare_opens_one_incident(console):
    s = console.session
    s.as_user("alice")
    user, channel = event_refs(console)
    event = CommandInvoked(key="evt-7", user=user, channel=channel, text="declare Disk full")
    assert (await s.deliver(event)).incident_number == 1
    db_before, chat_before = await db_state(console), chat_state(s.ws)

    again = await s.deliver(event)

    assert again.duplicate is True
    assert await db_state(console) == db_before
    assert chat_state(s.ws) == chat_before
    assert len(db_before["incident"]) == 1


async def test_a_refused_command_can_be_redelivered_and_is_refused_again(incident):
    user, channel = event_refs(incident)
    event = CommandInvoked(key="evt-9", user=user, channel=channel, text="sev SEV9")
    first = await refused(incident, event)
    second = await refused(incident, event)  # not a duplicate: the claim was rolled back
    assert first == second
