"""Adversarial user text in postmortem drafts: whatever people typed renders verbatim and
cannot add headings, break tables, open HTML or turn into links and formatting."""

from __future__ import annotations

from bot.events import ModalSubmitted
from bot.port import ChannelRef, UserRef
from tests.conftest import Console
from tests.rhythm_support import Doc, at, bold, channel, declare, plain, run, say
from tests.test_postmortem import SECTIONS

EVIL = [
    "# Heading",
    "## Sub heading",
    "- item",
    "+ item",
    "* item",
    "1. x",
    "2) y",
    "| a | b |",
    "| --- | --- |",
    "```",
    "~~~",
    "<details>",
    "</details>",
    "<script>alert(1)</script>",
    "**bold** __strong__ *em* _em_ ~~strike~~",
    "[link](http://x) ![img](http://x/i.png) <http://x>",
    "[ref]: http://x",
    "&amp; &lt; &#35;",
    "back\\slash \\* and a trailing \\",
    "> quote",
    "=====",
    "-----",
    "`code` and ``more``",
]
TITLE = "# Heading | a | b | <script>x</script> **bold** [link](http://x) &amp; `tick` back\\slash"
MULTILINE = "\n".join(["First line", *EVIL, "    indented line", "Last line"])
TASK = "Fix | a | b | `x` **y** <b>z</b> [l](http://x) &amp; \\ # h"
# Markup that only user text could produce: the template uses none of it.
MARKUP_FROM_USERS = frozenset(
    {
        "html_inline",
        "link_open",
        "image",
        "code_inline",
        "code_block",
        "fence",
        "blockquote_open",
        "ordered_list_open",
        "hr",
        "s_open",
    }
)
# How multi-line text reads once rendered: each line trimmed, blank lines dropped.
READ = "\n".join(line.strip() for line in MULTILINE.splitlines())


def draft(c: Console, index: int = -1) -> Doc:
    return Doc(c.session.ws.files[index].content.decode())


def safe_structure(doc: Doc, *, grouped: bool = True, tasks: bool = True) -> None:
    """Only the template's own structure: its tables and (when chat was grouped) one
    details block; no HTML, links, code or other blocks from user text."""
    assert not MARKUP_FROM_USERS & doc.types()
    html = [t.content for t in doc.tokens if t.type == "html_block"]
    assert [h.split("\n")[0] for h in html] == (["<details>", "</details>"] if grouped else [])
    assert "<script" not in "".join(html) and "<b>" not in "".join(html)
    columns = [2, 3, 4] if tasks else [2, 3]
    assert [len(rows[0]) for rows in doc.tables()] == columns
    for rows in doc.tables():
        assert {len(r) for r in rows} == {len(rows[0])}
    assert doc.pipe_counts() == [{n + 1} for n in columns]


async def test_adversarial_text_renders_verbatim_and_keeps_the_structure(console):
    await declare(console, f"SEV3 {TITLE} --playbook default")
    console.clock.set(at(1))
    for n, text in enumerate(EVIL[:6]):
        await say(console, text, user=("bob", "carol")[n % 2])
    console.clock.set(at(2))
    await run(console, "sev SEV2")  # ends the chat run
    pinned = await say(console, MULTILINE, user="dave")
    console.session.as_user("alice")
    await console.session.react("📌", pinned.id)
    await run(console, f"note {MULTILINE}")
    await run(console, f"task add {TASK} @dave")
    await run(console, f"update {MULTILINE}")
    console.clock.set(at(30))
    await run(console, f"resolve {MULTILINE}")

    doc = draft(console)
    expected = [(1, f"Postmortem: INC-1 · {TITLE}"), *SECTIONS[1:]]
    assert doc.headings == expected
    safe_structure(doc)

    # The chat run is grouped, each message verbatim and in order.
    timeline = [plain(t) for t in doc.items("Timeline")]
    chat = [line.split(" — ", 1)[1] for line in timeline if line.startswith("2026-01-01 09:01")]
    assert chat == [f"{('bob', 'carol')[n % 2]}: {text}" for n, text in enumerate(EVIL[:6])]
    for text in (
        f"dave: {READ}",
        f"alice noted: {READ}",
        f"alice added task #1: {TASK}",
    ):
        assert any(line.endswith(" — " + text) for line in timeline), text
    keyed = {b for t in doc.items("Timeline") for b in bold(t)}
    assert f"alice declared the incident (SEV3): {TITLE}" in keyed
    assert f"alice posted an update: {READ}" in keyed
    assert f"alice resolved the incident: {READ}" in keyed

    summary = [plain(t) for t in doc.section("Summary") if t.type == "inline"]
    assert f"Resolution: {READ}" in summary
    assert f"Last status update: {READ}" in summary
    [key_message] = [plain(t) for t in doc.items("Key messages")]
    text, _, link = key_message.rpartition(" (console://")
    assert text == f"alice marked a key message by dave: {READ}"
    assert link.endswith(")") and " " not in link  # the permalink, as plain text
    assert doc.tables()[2][1] == ["1", TASK, "dave", "open"]
    assert f"[ ] {TASK} (still open from the incident)" in [
        plain(t) for t in doc.items("Follow-ups")
    ]


async def test_a_multi_line_title_from_the_declare_form_stays_in_its_heading(console):
    console.session.as_user("alice")
    general = console.session.go("general")
    await console.session.deliver(
        ModalSubmitted(
            key="form-1",
            user=UserRef("UALICE", "alice"),
            channel=ChannelRef(general.id, "general"),
            at=console.clock.now(),
            modal_id="declare",
            values={"title": "Checkout down\n# Injected | x |", "summary": MULTILINE},
        )
    )
    await run(console, "resolve Fixed")
    doc = draft(console)
    assert doc.headings[0] == (1, "Postmortem: INC-1 · Checkout down # Injected | x |")
    assert [h for h in doc.headings if h[0] == 1] == [doc.headings[0]]
    assert [h for _, h in doc.headings[1:]] == [h for _, h in SECTIONS[1:] if h != "Key messages"]
    summary = [plain(t) for t in doc.section("Summary") if t.type == "inline"]
    assert summary[0] == READ
    safe_structure(doc, grouped=False, tasks=False)


async def test_display_names_cannot_open_html_in_a_grouped_chat_run(console):
    await declare(console, "SEV3 Database slow --playbook default")
    evil = "<img src=x onerror=alert(1)> & co_worker"
    for n in range(5):
        await say(console, f"message {n}", user=evil)
    await run(console, "resolve Fixed")
    doc = draft(console)
    [opening, _closing] = [t.content for t in doc.tokens if t.type == "html_block"]
    assert "<img" not in opening
    assert "(&lt;img src=x onerror=alert(1)&gt; &amp; co_worker)</summary>" in opening
    facts = dict(doc.tables()[0][1:])
    assert set(facts["Participants"].split(", ")) == {"alice", evil}
    assert channel(console, "incidents").messages  # the announcement went out as usual
