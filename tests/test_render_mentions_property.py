"""Property: the real Slack and Discord renderers make a mention only from the core's
mention tokens, whatever text surrounds them.

The messages mix the core's tokens (`bot.markup.mention`) with text of any kind that has
been through the one sanitiser, as everything a person or monitoring wrote has by the
time it is rendered (`Bot.handle` cleans every inbound event): raw `<@id>`, `<@&id>`,
`<!here>`, `@everyone`, `@here`, `<#id>`, markdown, entities, any Unicode. Slack's blocks
and fallback text, Discord's content, embed and `allowed_mentions`, and both platforms'
topics are checked. Through `Bot.handle` the same check runs on every reply and post in
tests/test_grammar_property.py.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot import markup
from bot.port import Button, Field, RichMessage
from bot.sanitize import clean_text
from tests.fuzz_support import check_mentions

IDS = ["123456789012345678", "42", "987654321098765432"]
FORGED = [
    "<@123456789012345678>",
    "<@!42>",
    "<@&42>",
    "<#42>",
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!subteam^S1>",
    "@everyone",
    "@here",
    "@channel",
    "<@U999|bob>",
    "**<@42>**",
    "`<@42>`",
    "&lt;@42&gt;",
    "<",
    ">",
    "@",
    "\x02@999\x03",  # control characters: the sanitiser removes them
]

typed = st.one_of(st.sampled_from(FORGED), st.text(max_size=40)).map(clean_text)
token = st.sampled_from(IDS).map(markup.mention)
piece = st.lists(st.one_of(typed, typed, token), max_size=8).map("".join)


@example(header="@everyone", text="<@42> @999 <!here>", field="<@&1>", context="@here")
@given(header=piece, text=piece, field=piece, context=piece)
def test_only_the_cores_tokens_become_mentions(
    header: str, text: str, field: str, context: str
) -> None:
    message = RichMessage(
        header=header,
        text=text,
        fields=(Field(field, field),),
        buttons=(Button(field or "Go", "incident.resolve", "7"),),
        context=context,
    )
    intended = {i for t in (header, text, field, context) for i in markup.mentioned_user_ids(t)}
    assert intended <= set(IDS)
    check_mentions(message, intended)

    # Every mention the core meant pings on Discord, and nobody else can.
    rendered = discord_render.render(message)
    allowed = {str(i) for i in rendered.allowed_mentions.to_dict().get("users", [])}
    assert allowed == intended

    slack_topic = slack_render.topic(text)
    assert not re.search(r"<[@!#]", slack_topic), slack_topic
    discord_topic = discord_render.topic(text)
    assert set(re.findall(r"<@!?(\d+)>", discord_topic)) <= intended, discord_topic
    assert not re.search(r"<@&\d+>|@(?:everyone|here)\b", discord_topic), discord_topic
