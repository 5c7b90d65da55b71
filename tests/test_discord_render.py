"""RichMessage -> Discord embed + view + AllowedMentions: no user text can ping."""

from __future__ import annotations

import discord

from adapters.discord import render
from bot.markup import mention
from bot.port import Button, ButtonStyle, Field, RichMessage


def _users(rendered: render.Rendered) -> list[int]:
    users = rendered.allowed_mentions.users
    assert isinstance(users, list)
    return [u.id for u in users]


def test_card_becomes_an_embed_with_buttons():
    message = RichMessage(
        header="INC-7 · Checkout down",
        text="**SEV1** _investigating_ `api`",
        fields=(Field("Commander", mention("111")), Field("Status", "open", short=False)),
        buttons=(Button("Resolve", "incident.resolve", "7", ButtonStyle.DANGER),),
        context="declared by someone",
        colour="#d93f0b",
    )
    out = render.render(message)
    assert out.embed.title == "INC-7 · Checkout down"
    assert out.embed.description == "**SEV1** _investigating_ `api`"
    assert out.embed.colour == discord.Colour(0xD93F0B)
    assert [(f.name, f.value, f.inline) for f in out.embed.fields] == [
        ("Commander", "<@111>", True),
        ("Status", "open", False),
    ]
    assert out.embed.footer.text == "declared by someone"
    assert out.view is not None and out.view.timeout is None
    (button,) = out.view.children
    assert isinstance(button, discord.ui.Button)
    assert button.custom_id == "incident.resolve:7"
    assert button.style is discord.ButtonStyle.danger
    assert out.content == "<@111>"
    assert _users(out) == [111]
    assert out.allowed_mentions.everyone is False and out.allowed_mentions.roles is False


def test_user_text_cannot_ping():
    typed = "@everyone @here <@123> <@!456> <@&789> look"
    out = render.render(RichMessage(header=typed, text=typed, fields=(Field(typed, typed),)))
    assert _users(out) == []
    assert out.content == ""
    for text in (out.embed.title, out.embed.description, out.embed.fields[0].value):
        assert text is not None
        assert "@everyone" not in text and "@here" not in text
        assert "<@123>" not in text and "<@!456>" not in text and "<@&789>" not in text
    payload = out.allowed_mentions.to_dict()
    assert payload["parse"] == [] and payload["users"] == []


def test_only_intended_mentions_are_allowed():
    out = render.render(RichMessage(text=f"{mention('42')} took commander; <@99> typed this"))
    assert _users(out) == [42]
    assert "<@42>" in (out.embed.description or "")
    assert "<@99>" not in (out.embed.description or "")


def test_limits_are_kept():
    long = "x" * 10_000
    out = render.render(
        RichMessage(
            header=long,
            text=long,
            fields=tuple(Field(long, long) for _ in range(30)),
            context=long,
        )
    )
    assert len(out.embed.title or "") <= 256
    assert len(out.embed.description or "") <= 4096
    assert len(out.embed.fields) == 25
    assert all(len(f.value or "") <= 1024 and len(f.name or "") <= 256 for f in out.embed.fields)
    assert len(out.embed.footer.text or "") <= 2048


def test_cut_does_not_split_a_mention():
    text = render.inline("a" * 10 + mention("123456789"))
    assert render.cut(text, 15) == "a" * 10 + render.ELLIPSIS


def test_colour_parsing():
    assert render.colour("#abc") == 0xAABBCC
    assert render.colour("nope") is None
    assert render.colour("") is None


def test_custom_id_round_trip():
    assert render.parse_custom_id(render.custom_id("incident.snooze", "7:30m")) == (
        "incident.snooze",
        "7:30m",
    )
