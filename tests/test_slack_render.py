"""RichMessage -> Block Kit: escaping, mentions, markdown, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.slack import render
from bot import markup
from bot.port import Button, ButtonStyle, Field, RichMessage


def all_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def by_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == kind]


def test_a_card_becomes_header_section_fields_actions_and_context():
    message = RichMessage(
        header="INC-1 · Checkout errors",
        text="**Checklist**\n- [ ] Page the owner _(within 15m)_",
        fields=(Field("Severity", "SEV2"), Field("Commander", markup.mention("U123"))),
        buttons=(
            Button("Take commander", "incident.take_commander", "1"),
            Button("Post update", "incident.post_update", "1", ButtonStyle.PRIMARY),
            Button("Resolve", "incident.resolve", "1", ButtonStyle.DANGER),
        ),
        context=f"Declared by {markup.mention('U123')} in {markup.channel_link('C9')}",
        colour="#E01E5A",
    )
    out = render.render(message)
    blocks = out["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "actions", "context"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "INC-1 · Checkout errors",
        "emoji": True,
    }
    assert blocks[1]["text"]["type"] == "mrkdwn"
    assert blocks[1]["text"]["text"] == "*Checklist*\n- [ ] Page the owner _(within 15m)_"
    assert [f["text"] for f in blocks[2]["fields"]] == ["*Severity*\nSEV2", "*Commander*\n<@U123>"]
    buttons = blocks[3]["elements"]
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons] == [
        ("incident.take_commander", "1", None),
        ("incident.post_update", "1", "primary"),
        ("incident.resolve", "1", "danger"),
    ]
    assert blocks[4]["elements"][0]["text"] == "Declared by <@U123> in <#C9>"
    assert out["text"].startswith("INC-1 · Checkout errors\n*Checklist*")


@pytest.mark.parametrize(
    "typed",
    [
        "<!channel> db down",
        "<!here> & <!everyone>",
        "ping <@U999> now",
        "<#C1|general>",
        "a > b",
        "@here @channel and @everyone, ask @bob",
    ],
)
def test_typed_text_is_escaped_everywhere_so_nobody_is_pinged(typed):
    message = RichMessage(
        header=f"INC-7 · {typed}",
        text=typed,
        fields=(Field("Title", typed),),
        buttons=(Button(typed, "incident.resolve", "7"),),
        context=typed,
    )
    out = render.render(message)
    dumped = all_text(out)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<#C1", "@here", "@bob"):
        assert raw not in dumped
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("@", "@\u2060")  # a word joiner: Slack parses no `@word`
    assert out["blocks"][1]["text"]["text"] == escaped
    assert escaped in out["text"]


def test_escaping_happens_exactly_once():
    out = render.render(RichMessage(text="R&D &amp; ops <b>"))
    assert out["blocks"][0]["text"]["text"] == "R&amp;D &amp;amp; ops &lt;b&gt;"


def test_only_core_tokens_become_mentions():
    text = f"{markup.mention('U1')} made <@U2> commander; see {markup.channel_link('C3')}"
    section = render.blocks(RichMessage(text=text))[0]
    assert section["text"]["text"] == "<@U1> made &lt;@\u2060U2&gt; commander; see <#C3>"


def test_bold_and_strike_become_slack_mrkdwn_across_a_mention():
    text = f"made **{markup.mention('U1')} Incident commander** and ~~old~~"
    assert render.to_mrkdwn(text) == "made *<@U1> Incident commander* and ~old~"


def test_the_header_is_plain_text_within_150_characters():
    header = "`/incident` — " + "x" * 300
    block = render.blocks(RichMessage(text="", header=header))[0]
    assert block["type"] == "header"
    assert len(block["text"]["text"]) <= render.HEADER_LIMIT
    assert block["text"]["text"].startswith("/incident — x")
    assert block["text"]["text"].endswith("…")


def test_long_text_is_split_into_sections_of_at_most_3000_at_line_breaks():
    lines = [f"line {i} " + "y" * 90 for i in range(100)]
    blocks = render.blocks(RichMessage(text="\n".join(lines)))
    sections = by_type(blocks, "section")
    assert len(sections) >= 4
    assert all(len(s["text"]["text"]) <= render.SECTION_LIMIT for s in sections)
    assert "\n".join(s["text"]["text"] for s in sections) == "\n".join(lines)


def test_cutting_never_splits_an_entity_or_a_mention():
    assert render.cut("ab&amp;cd", 6) == "ab…"
    assert render.cut("ab<@U123>cd", 7) == "ab…"
    assert render.cut("short", 10) == "short"
    one_line = "&" * 4000
    [piece] = render.chunks(render.escape(one_line), render.SECTION_LIMIT)
    assert len(piece) <= render.SECTION_LIMIT
    assert piece.endswith("&amp;…")


def test_fields_are_at_most_ten_per_section_and_2000_characters_each():
    fields = tuple(Field(f"F{i}", "v" * 3000) for i in range(13))
    sections = by_type(render.blocks(RichMessage(text="", fields=fields)), "section")
    assert [len(s["fields"]) for s in sections] == [10, 3]
    assert all(len(f["text"]) <= render.FIELD_LIMIT for s in sections for f in s["fields"])


def test_an_empty_message_still_has_fallback_text():
    out = render.render(RichMessage(text=""))
    assert out["blocks"] == []
    assert out["text"].strip() == ""
    assert out["text"] == " "


def test_a_topic_is_plain_escaped_and_at_most_250():
    assert render.topic("SEV2 · investigating · IC: <!here>") == (
        "SEV2 · investigating · IC: &lt;!here&gt;"
    )
    assert len(render.topic("z" * 400)) == 250
