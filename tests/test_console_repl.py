"""What the console's chat pane shows: in time order, typos answered, and failures as a
short apology with a reference (the traceback goes to the log, never to the pane)."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.console.app import build_console
from adapters.console.repl import Repl
from adapters.console.workspace import Channel, Message, Workspace
from bot.clock import ManualClock
from bot.events import InboundEvent
from bot.port import ChatError, Outcome, RichMessage
from storage import repository as repo
from tests.conftest import Console, make_settings

SECRET = "SELECT token FROM secrets WHERE id = 7"  # exception text nobody may see
REF = r"ref `([0-9a-f]{8})`"


async def typed(console: Console, *lines: str) -> str:
    """The chat pane after typing `lines` (standard input ends after them)."""
    out = io.StringIO()
    await Repl(console.session, out).run(io.StringIO("".join(f"{x}\n" for x in lines)))
    return out.getvalue()


async def test_a_mistyped_command_is_answered_not_posted(console: Console):
    shown = await typed(console, "/incdent list", "/INCIDENT help", "/tmp is full")
    assert shown.count("Did you mean `/incident`?") == 2, shown
    general = console.session.ws.channel_by_name("general")
    assert general is not None
    assert [m.text for m in general.messages] == ["/tmp is full"]  # far from any command


async def test_the_pane_reads_in_the_order_things_happened(console: Console):
    shown = await typed(console, "/incident declare SEV2 Checkout errors")
    card = shown.index("#inc-1-checkout-errors [")
    announcement = shown.index("#incidents [")
    reply = shown.index("Declared **INC-1**")
    assert card < announcement < reply, shown
    printed = [int(n) for n in re.findall(r"\[m(\d+)\]", shown)]
    assert len(printed) >= 2 and printed == sorted(printed), shown


async def test_a_crash_shows_the_apology_and_logs_the_traceback(
    console: Console, caplog: pytest.LogCaptureFixture
):
    await typed(console, "/incident declare SEV2 Checkout errors", "#inc-1-checkout-errors")
    async with console.app.db.transaction() as tx:  # the database loses a table under it
        await tx.exec(text("DROP TABLE task"))  # type: ignore[call-overload]
    with caplog.at_level(logging.ERROR):
        shown = await typed(console, "/incident task add Roll back")
    assert "Sorry, something went wrong handling that in INC-1" in shown, shown
    [reference] = re.findall(REF, shown)
    assert "Traceback" not in shown and "task" not in shown.split("Sorry")[1], shown
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None and "INC-1" in record.getMessage()


async def test_whatever_the_console_itself_raises_becomes_the_apology(
    console: Console, caplog: pytest.LogCaptureFixture
):
    async def broken(event: InboundEvent) -> Outcome:
        raise RuntimeError(SECRET)

    console.session.handle = broken
    with caplog.at_level(logging.ERROR):
        shown = await typed(console, "hello", "still there?")
    assert shown.count("Sorry, something went wrong") == 2, shown
    assert SECRET not in shown and "Traceback" not in shown, shown
    assert [r for r in caplog.records if r.exc_info and SECRET in str(r.exc_info[1])]


class Failing(Workspace):
    """A console platform whose announcement channel fails with `error`."""

    error: Exception = RuntimeError(SECRET)

    def add_message(
        self,
        channel: Channel,
        author_id: str,
        text: str,
        at: datetime,
        rich: RichMessage | None = None,
        message_id: str = "",
    ) -> Message:
        if channel.name == "incidents" and not message_id:
            raise self.error
        return super().add_message(channel, author_id, text, at, rich, message_id)


@pytest.mark.parametrize(
    "error, shown",
    [
        (RuntimeError(SECRET), "It has been logged (ref `"),
        (ChatError("channel_is_archived"), "after 1 attempt: channel_is_archived."),
    ],
)
async def test_a_failed_chat_call_is_reported_without_its_exception_text(
    tmp_path: Path, error: Exception, shown: str
):
    ws = Failing()
    ws.error = error
    app, session = await build_console(make_settings(tmp_path), clock=ManualClock(), workspace=ws)
    try:
        await session.send("/incident declare SEV2 Checkout errors")
        channel = ws.channel_by_name("inc-1-checkout-errors")
        assert channel is not None
        [report] = [m.text for m in channel.messages if "could not announce" in m.text]
        assert shown in report and "INC-1" in report, report
        assert SECRET not in report
        async with app.db.reader() as tx:
            entries = await repo.timeline(tx, incident_id=1)
        [entry] = [e for e in entries if e.kind == "effect_failed"]
        assert SECRET not in entry.text
    finally:
        await app.stop()


class Unsaved(Workspace):
    """A console platform that fails creating incident channels with `error`."""

    error: Exception = RuntimeError(SECRET)

    def add_channel(self, name: str, *, private: bool = False, channel_id: str = "") -> Channel:
        if name.startswith("inc-") and not channel_id:
            raise self.error
        return super().add_channel(name, private=private, channel_id=channel_id)


@pytest.mark.parametrize(
    "error, reason",
    [
        (RuntimeError(SECRET), "an unexpected error (logged, ref `"),
        (ChatError("restricted"), "restricted."),
    ],
)
async def test_a_channel_that_cannot_be_made_is_explained_without_exception_text(
    tmp_path: Path, error: Exception, reason: str
):
    ws = Unsaved()
    ws.error = error
    app, session = await build_console(make_settings(tmp_path), clock=ManualClock(), workspace=ws)
    try:
        out = await session.send("/incident declare SEV2 Checkout errors")
        said = session.render_reply(out)
        assert "Could not create the incident channel `inc-1-checkout-errors`" in said, said
        assert reason in said and SECRET not in said, said
    finally:
        await app.stop()
