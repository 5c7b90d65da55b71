"""Postmortem drafts from realistic timelines: structure, key times, the timeline, storage,
regeneration, the CLI export and playbook templates."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console.app import build_console
from bot.clock import ManualClock
from bot.service import postmortems
from tests.conftest import PLAYBOOKS, REPO, Console, make_settings
from tests.rhythm_support import (
    Doc,
    at,
    bold,
    declare,
    incident_channel,
    plain,
    playbooks_copy,
    row,
    run,
    say,
)

BURST = [
    ("bob", "502s from the payments gateway since 09:00"),
    ("carol", "Only EU traffic is affected"),
    ("dave", "Gateway config was pushed at 08:55"),
    ("bob", "Error rate is 12%"),
    ("carol", "Let's roll back the config"),
    ("dave", "Diffing the config now"),
    ("bob", "Support has 40 tickets"),
    ("carol", "Status page notice is up"),
    ("dave", "The diff shows a bad TLS setting"),
    ("bob", "Customers retrying succeed sometimes"),
    ("carol", "Rollback approved"),
    ("dave", "Starting the rollback"),
]
SECTIONS = [
    (1, "Postmortem: INC-1 · Checkout errors for EU customers"),
    (2, "Impact and key times"),
    (2, "Summary"),
    (3, "Key messages"),
    (2, "Timeline"),
    (2, "Action items"),
    (2, "Review"),
    (3, "What happened"),
    (3, "Contributing factors"),
    (3, "What went well"),
    (3, "What was hard"),
    (3, "Where we got lucky"),
    (2, "Follow-ups"),
]


@pytest.fixture
async def paris(tmp_path: Path) -> AsyncIterator[Console]:
    clock = ManualClock()
    settings = make_settings(tmp_path, timezone="Europe/Paris")
    app, session = await build_console(settings, clock=clock)
    try:
        yield Console(app=app, session=session, clock=clock, settings=settings)
    finally:
        await app.stop()


async def outage(c: Console) -> None:
    """Declared 09:00, acknowledged 09:20, mitigated 09:40, resolved 10:05."""
    await declare(c, "SEV3 Checkout errors for EU customers --comms @bob")
    c.clock.set(at(2))
    await run(c, "commander @carol")
    burst = []
    for n, (who, text) in enumerate(BURST):
        c.clock.set(at(3 + n))
        burst.append(await say(c, text, user=who))
    c.clock.set(at(15))
    c.session.as_user("alice")
    await c.session.react("📌", burst[8].id)
    c.clock.set(at(16))
    await run(c, "sev SEV2", user="carol")
    c.clock.set(at(20))
    await run(c, "status identified", user="carol")
    c.clock.set(at(21))
    await run(c, "task add Roll back the gateway config @dave", user="carol")
    c.clock.set(at(22))
    await run(c, "task add Add a canary for config pushes", user="carol")
    c.clock.set(at(25))
    await run(c, "update Rolling back the gateway config", user="bob")
    c.clock.set(at(26))
    await say(c, "Rollback is at 50%", user="dave")
    c.clock.set(at(40))
    await run(c, "status monitoring", user="carol")
    c.clock.set(at(41))
    await run(c, "task done 1", user="dave")
    c.clock.set(at(65))
    await run(c, "resolve Gateway config rolled back; checkout healthy.", user="carol")


def without_stamp(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if not line.startswith("*Draft generated")]


async def test_the_draft_has_the_template_sections_in_order(paris):
    await outage(paris)
    [file] = paris.session.ws.files
    doc = Doc(file.content.decode())
    assert doc.headings == SECTIONS
    facts, times, actions = doc.tables()
    assert facts[0] == ["", ""]
    assert dict(facts[1:]) == {
        "Severity": "SEV2 (high)",
        "Status": "resolved",
        "Incident commander": "carol",
        "Comms lead": "bob",
        "Customer liaison": "—",
        "Participants": "alice, bob, carol, dave",
        "Playbook": "customer-facing-outage",
    }
    assert times == [
        ["Milestone", "UTC", "Europe/Paris", "Since declared"],
        ["Declared", "2026-01-01 09:00:00", "2026-01-01 10:00:00 CET", "0s"],
        ["Acknowledged", "2026-01-01 09:20:00", "2026-01-01 10:20:00 CET", "20m"],
        ["Mitigated", "2026-01-01 09:40:00", "2026-01-01 10:40:00 CET", "40m"],
        ["Resolved", "2026-01-01 10:05:00", "2026-01-01 11:05:00 CET", "1h 5m"],
    ]
    [key_times] = [t for t in doc.inlines() if plain(t).startswith("Time to acknowledge")]
    assert bold(key_times) == ["20m", "40m", "1h 5m"]
    assert actions == [
        ["#", "Task", "Owner", "State"],
        ["1", "Roll back the gateway config", "dave", "done"],
        ["2", "Add a canary for config pushes", "unassigned", "open"],
    ]
    summary = [plain(t) for t in doc.section("Summary") if t.type == "inline"]
    assert "Resolution: Gateway config rolled back; checkout healthy." in summary
    assert "Last status update: Rolling back the gateway config" in summary
    [key_message] = [plain(t) for t in doc.items("Key messages")]
    text, _, link = key_message.partition(" (console://inc-1-checkout-errors-for-eu-customers/")
    assert text == "alice marked a key message by dave: The diff shows a bad TLS setting"
    assert link.endswith(")")  # the message's permalink, as plain text
    assert [plain(t) for t in doc.items("Follow-ups")] == [
        "[ ] Add a canary for config pushes (still open from the incident)",
        "[ ] Add the changes that would stop this from happening again, each with an owner.",
    ]


async def test_the_timeline_shows_both_zones_bold_key_events_and_groups_chat(paris):
    await outage(paris)
    doc = Doc(paris.session.ws.files[0].content.decode())
    timeline = doc.section("Timeline")
    assert plain(timeline[1]) == (
        "Times are UTC, with Europe/Paris in brackets. Key events are in bold."
    )
    items = {plain(t): bold(t) for t in doc.items("Timeline")}
    stamp = "2026-01-01 09:16:00 (2026-01-01 10:16:00 CET) — "
    assert items[stamp + "carol changed severity SEV3 → SEV2"] == [
        "2026-01-01 09:16:00",
        "carol changed severity SEV3 → SEV2",
    ]
    resolved = "carol resolved the incident: Gateway config rolled back; checkout healthy."
    assert items["2026-01-01 10:05:00 (2026-01-01 11:05:00 CET) — " + resolved][1] == resolved
    single = "2026-01-01 09:26:00 (2026-01-01 10:26:00 CET) — dave: Rollback is at 50%"
    assert items[single] == []  # chat is not a key event

    [opening, closing] = [t.content for t in timeline if t.type == "html_block"]
    assert opening == (
        "<details>\n<summary>12 chat messages from 2026-01-01 09:03:00 to 2026-01-01 09:14:00 "
        "(bob, carol, dave)</summary>\n"
    )
    assert closing == "</details>\n"
    start = next(i for i, t in enumerate(timeline) if t.content == opening)
    end = next(i for i, t in enumerate(timeline) if t.content == closing)
    grouped = [plain(t) for t in timeline[start:end] if t.type == "inline"]
    assert grouped == [
        f"2026-01-01 09:{3 + n:02d}:00 (2026-01-01 10:{3 + n:02d}:00 CET) — {who}: {text}"
        for n, (who, text) in enumerate(BURST)
    ]
    order = list(items)
    assert order.index(stamp + "carol changed severity SEV3 → SEV2") < order.index(single)


async def test_the_draft_is_posted_on_resolve_and_stored(paris):
    await outage(paris)
    ch = await incident_channel(paris)
    [file] = paris.session.ws.files
    assert (file.channel_id, file.filename) == (ch.id, "INC-1-postmortem.md")
    assert file.title == "Postmortem draft for INC-1 (rev 1)"
    assert ch.messages[-1].text.startswith("📎 Postmortem draft for INC-1 (rev 1)")
    stored = await postmortems.latest(paris.app.db, incident_id=(await row(paris)).id or 0)
    assert stored is not None
    assert (stored.revision, stored.generated_at) == (1, at(65))
    assert stored.markdown == file.content.decode()


async def test_regenerating_after_more_activity_makes_revision_2(console):
    await declare(console, "SEV2 Database slow --playbook default")
    console.clock.set(at(30))
    await run(console, "resolve Failed over to replica 1")
    console.clock.set(at(50))
    await run(console, "note Replica 2 was rebuilt from a snapshot")
    await say(console, "Thanks all, closing the bridge", user="bob")
    out = await run(console, "postmortem")
    assert out.reply is not None
    assert out.reply.text == (
        "Compiling the postmortem draft for INC-1; it will be posted here as a file."
    )

    first, second = console.session.ws.files
    assert second.title == "Postmortem draft for INC-1 (rev 2)"
    stored = await postmortems.latest(console.app.db, incident_id=(await row(console)).id or 0)
    assert stored is not None and stored.revision == 2
    assert stored.markdown == second.content.decode()
    new = {plain(t) for t in Doc(stored.markdown).items("Timeline")}
    old = {plain(t) for t in Doc(first.content.decode()).items("Timeline")}
    added = {
        "2026-01-01 09:50:00 — alice noted: Replica 2 was rebuilt from a snapshot",
        "2026-01-01 09:50:00 — bob: Thanks all, closing the bridge",
    }
    assert added <= new and not added & old
    # Without a configured timezone only UTC is shown.
    assert Doc(stored.markdown).tables()[1][0] == ["Milestone", "UTC", "Since declared"]


async def test_the_cli_exports_the_same_markdown(paris):
    await outage(paris)
    draft = paris.session.ws.files[0].content.decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(
        WARROOM_DATABASE_URL=paris.settings.database_url,
        WARROOM_PLAYBOOKS_DIR=str(PLAYBOOKS),
        WARROOM_TIMEZONE="Europe/Paris",
        WARROOM_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    target = paris.settings.postmortem_dir / "out" / "INC-1.md"
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "postmortem",
        "INC-1",
        "-o",
        str(target),
        cwd=paris.settings.postmortem_dir.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    assert out.decode().strip() == f"wrote {target} (revision 2)"
    exported = target.read_text(encoding="utf-8")
    assert without_stamp(exported) == without_stamp(draft)
    stored = await postmortems.latest(paris.app.db, incident_id=(await row(paris)).id or 0)
    assert stored is not None and (stored.revision, stored.markdown) == (2, exported)


CUSTOM = """\
# Review of {{ incident.ref }}: {{ title }}

{% for m in milestones %}
- {{ m.name }} after {{ m.since }}
{% endfor %}
"""


async def test_a_playbook_can_override_the_template(tmp_path):
    def custom(data: dict[str, Any]) -> None:
        data["postmortem_template"] = "custom.md.j2"

    folder = playbooks_copy(tmp_path, custom)
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / "custom.md.j2").write_text(CUSTOM)
    clock = ManualClock()
    settings = make_settings(tmp_path, playbooks_dir=folder)
    app, session = await build_console(settings, clock=clock)
    c = Console(app=app, session=session, clock=clock, settings=settings)
    try:
        await declare(c, "SEV3 Database slow --playbook default")
        await declare(c, "SEV3 Checkout errors")  # customer-facing-outage: the standard one
        clock.set(at(45))
        await run(c, "resolve Fixed")
        await run(c, "resolve Fixed", number=2)
        custom_draft, standard = (f.content.decode() for f in session.ws.files)
        assert custom_draft == (
            "# Review of INC-1: Database slow\n\n- Declared after 0s\n- Acknowledged after 45m\n"
            "- Mitigated after 45m\n- Resolved after 45m\n"
        )
        assert standard.startswith("# Postmortem: INC-2 · Checkout errors\n")
    finally:
        await app.stop()
