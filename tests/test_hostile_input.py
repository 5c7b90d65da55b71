"""Edge forms and hostile input that must work, page, or be bounded: through the real Bot
on the console platform (both databases where the database decides the outcome).

Refusals of bad input are in tests/test_bad_input.py; the property-based versions of
these classes are in tests/test_grammar_property.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from adapters.console.session import ConsoleSession
from adapters.console.workspace import User
from bot import markup
from bot.events import ButtonPressed, ModalSubmitted
from bot.limits import MAX_REPLY
from bot.port import ChannelRef, Outcome, UserRef
from storage.tables import Incident, TimelineEntry
from tests.conftest import Console

CHANNEL = "inc-1-disk-filling-up"


@pytest.fixture
async def incident(console: Console) -> Console:
    s = console.session
    s.as_user("alice")
    s.go("general")
    assert (await s.send("/incident declare SEV3 Disk filling up")).incident_number == 1
    s.go(CHANNEL)
    return console


async def incidents(console: Console) -> list[Incident]:
    async with console.app.db.reader() as tx:
        return list((await tx.exec(select(Incident).order_by(col(Incident.number)))).all())


def reply_text(outcome: Outcome) -> str:
    assert outcome.reply is not None
    text = outcome.reply.plain()
    assert not text.startswith(("⚠️", "😓")), text
    return text


# --- whitespace -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "space", ["\t", "\n", "\u00a0", "\u2003", "\u3000", "\u2028", " \t\u00a0 "], ids=repr
)
async def test_any_unicode_whitespace_separates_the_subcommand_and_its_words(incident, space):
    s = incident.session
    await s.send(f"/incident sev{space}SEV1")
    await s.send(f"/incident task{space}add{space}Check{space}the{space}disks")
    [row] = await incidents(incident)
    assert row.severity == "SEV1"
    tasks = reply_text(await s.send("/incident tasks"))
    assert "#1 Check the disks" in tasks


async def test_a_zero_width_space_glued_to_the_subcommand_is_ignored(incident):
    await incident.session.send("/incident \ufeffsev\u200b SEV2")
    [row] = await incidents(incident)
    assert row.severity == "SEV2"


# --- titles ---------------------------------------------------------------------------


async def test_everything_after_a_bare_double_dash_is_title(incident):
    s = incident.session
    s.go("general")
    out = await s.send("/incident declare SEV2 --playbook default -- --force push broke main")
    assert out.incident_number == 2
    row = (await incidents(incident))[1]
    assert (row.title, row.severity, row.playbook) == ("--force push broke main", "SEV2", "default")
    assert row.channel_name == "inc-2-force-push-broke-main"


@pytest.mark.parametrize(
    ("title", "channel"),
    [
        ("שרת התשלומים נפל", "inc-2-srt-htslvmym-nfl"),
        ("🔥🔥", "inc-2-fire-fire"),
        ("数据库宕机", "inc-2-shujukudangji"),
        ("Сервер упал", "inc-2-server-upal"),
        ("Café down", "inc-2-cafe-down"),
    ],
)
async def test_a_title_without_latin_letters_still_names_its_channel(incident, title, channel):
    s = incident.session
    s.go("general")
    assert (await s.send(f"/incident declare SEV3 {title}")).incident_number == 2
    row = (await incidents(incident))[1]
    assert row.title == title
    assert row.channel_name == channel
    assert s.ws.channel_by_name(channel) is not None


# --- replies that grow with data page themselves ----------------------------------------


async def test_the_incident_list_pages_and_stays_bounded(console):
    s = console.session
    s.as_user("alice")
    for n in range(1, 41):
        assert (await s.send(f"/incident declare SEV3 Outage {n} " + "x" * 180)).incident_number
    first = reply_text(await s.send("/incident list"))
    assert first.count("**INC-") == 15 and "**INC-1**" in first and "**INC-16**" not in first
    assert "Page 1 of 3 · 40 open · `/incident list 2` for more" in first
    last = reply_text(await s.send("/incident list 3"))
    assert last.count("**INC-") == 10 and "**INC-40**" in last and "for more" not in last
    for text in (first, last):
        assert len(text) <= MAX_REPLY
    out = await s.send("/incident list 4")
    assert out.reply is not None
    assert "There is no page 4 of open incidents: there are 3 pages." in out.reply.plain()


async def test_the_timeline_pages_back_from_the_newest_entry(incident):
    s = incident.session
    for n in range(1, 46):
        await s.send(f"/incident note step {n:02d} " + "y" * 2900)
    async with incident.app.db.reader() as tx:
        total = len((await tx.exec(select(TimelineEntry))).all())
    newest = reply_text(await s.send("/incident timeline"))
    assert "step 45" in newest and "step 26" in newest and "step 25" not in newest
    assert f"{total} entries · page 1 of {-(-total // 20)}" in newest
    assert "`/incident timeline 2` shows the ones before these" in newest
    assert len(newest) <= MAX_REPLY
    oldest = reply_text(await s.send(f"/incident timeline {-(-total // 20)}"))
    assert "declared the incident" in oldest and "step 45" not in oldest


async def test_the_task_list_pages(incident):
    s = incident.session
    for n in range(1, 26):
        await s.send(f"/incident task add Task {n:02d} " + "z" * 2900)
    first = reply_text(await s.send("/incident tasks"))
    assert "#20 Task 20" in first and "#21" not in first
    assert "25 open of 25 · page 1 of 2 · `/incident tasks 2` for more" in first
    second = reply_text(await s.send("/incident tasks 2"))
    assert "#21 Task 21" in second and "#25 Task 25" in second and "#20 " not in second
    assert len(first) <= MAX_REPLY and len(second) <= MAX_REPLY
    missing = await s.send("/incident task done 99")
    assert missing.reply is not None
    assert "There is no task #99. Tasks: 1 to 25." in missing.reply.plain()


# --- buttons, forms and names from the platform ----------------------------------------


def here(s: ConsoleSession) -> dict[str, Any]:
    """Who is acting and where, as an inbound event carries them."""
    return {
        "user": UserRef(s.user.id, s.user.name),
        "channel": ChannelRef(s.channel.id, s.channel.name),
    }


@pytest.mark.usefixtures("db_url")
@pytest.mark.parametrize("value", ["9" * 5000 + ":30m", "99999999999:30m", "-1:30m"])
async def test_a_button_value_of_any_size_is_no_crash(incident, value):
    s = incident.session
    event = ButtonPressed(key="btn-huge", **here(s), action_id="incident.snooze", value=value)
    out = await s.deliver(event)
    assert out.reply is None or not out.reply.plain().startswith("😓"), out.reply
    async with incident.app.db.reader() as tx:
        kinds = [e.kind for e in (await tx.exec(select(TimelineEntry))).all()]
    assert "snoozed" in kinds  # the button acted on the incident of the channel it is in


async def test_a_form_value_over_the_cap_is_refused_before_anything_reads_it(incident):
    s = incident.session
    values = {"title": "Disk", "summary": "s" * 5000}
    event = ModalSubmitted(key="modal-huge", **here(s), modal_id="declare", values=values)
    out = await s.deliver(event)
    assert out.reply is not None
    text = out.reply.plain()
    assert "The form's `summary` field is 5,000 characters long; the limit is 4,000." in text
    assert len(await incidents(incident)) == 1


async def test_a_display_name_from_the_platform_cannot_forge_a_mention(incident):
    s = incident.session
    forged = f"{markup.mention('UBOB')} everyone"  # a name the platform hands back
    s.ws.users["UEVIL"] = User(id="UEVIL", name=forged)
    out = await s.send("/incident commander <@UEVIL>")
    assert out.reply is None or not out.reply.plain().startswith("⚠️")
    channel = s.ws.channel_by_name(CHANNEL)
    assert channel is not None
    texts = [channel.topic] + [m.rich.plain() for m in channel.messages if m.rich is not None]
    assert "@UBOB everyone" in channel.topic
    for text in texts:
        assert "UBOB" not in markup.mentioned_user_ids(text), text
