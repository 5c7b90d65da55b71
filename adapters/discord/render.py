"""RichMessage -> a Discord message: content, one embed, a button row and AllowedMentions.

The core's light markdown (`**bold**`, `_italic_`, `` `code` ``) is Discord markdown, so
text goes through as is. Every plain run is escaped once: `@everyone`, `@here` and raw
`<@id>` / `<@&id>` / `<#id>` a user typed get a zero-width space after the `@`/`#`, so
they neither ping nor render as mentions. Only the core's mention tokens (`bot.markup`)
become real mentions, and `AllowedMentions` lists exactly those users (never roles,
never everyone): even a mistake in escaping cannot ping anyone else.

Mentions inside an embed never notify on Discord, so the intended user mentions are
also repeated in `content`, which is what makes them ping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from bot import markup
from bot.port import ButtonStyle, RichMessage

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
BUTTONS_LIMIT = 25
TOPIC_LIMIT = 1024
ELLIPSIS = "…"
EMPTY = "\u200b"

_RAW_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


def escape(text: str) -> str:
    """Text a user may have typed: no `@everyone`/`@here`, no raw mention syntax."""
    text = discord.utils.escape_mentions(text)
    return _RAW_MENTION.sub(lambda m: f"<{m.group(1)}{EMPTY}{m.group(2)}>", text)


def inline(text: str) -> str:
    """Escape plain runs; turn mention tokens into `<@id>` / `<#id>`."""
    out: list[str] = []
    for part in markup.split(text):
        if isinstance(part, str):
            out.append(escape(part))
        elif part.id.isdecimal():
            out.append(f"<@{part.id}>" if part.kind == "@" else f"<#{part.id}>")
        else:  # not a Discord id: show it, harmlessly
            out.append(f"{part.kind}{escape(part.id)}")
    return "".join(out)


def mentioned(message: RichMessage) -> list[str]:
    """The user ids the core meant to mention, in order, once each."""
    texts = [message.header, message.text, message.context]
    texts += [t for f in message.fields for t in (f.title, f.value)]
    ids = [i for t in texts for i in markup.mentioned_user_ids(t) if i.isdecimal()]
    return list(dict.fromkeys(ids))


def cut(text: str, limit: int) -> str:
    """Shorten to `limit` characters without splitting a `<@id>` / `<#id>` mention."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - len(ELLIPSIS), 0)]
    lt, gt = head.rfind("<"), head.rfind(">")
    if lt > gt:
        head = head[:lt]
    return head + ELLIPSIS


def colour(value: str) -> int | None:
    """`#d93f0b` / `d93f0b` -> 0xD93F0B; anything else -> None (no colour bar)."""
    digits = value.strip().removeprefix("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) != 6:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def custom_id(action_id: str, value: str) -> str:
    return f"{action_id}:{value}"[:CUSTOM_ID_LIMIT]


def parse_custom_id(raw: str) -> tuple[str, str]:
    """`incident.resolve:7` -> ("incident.resolve", "7"); the value may contain `:`."""
    action_id, _, value = raw.partition(":")
    return action_id, value


def embed(message: RichMessage) -> discord.Embed:
    title = cut(inline(message.header).strip(), TITLE_LIMIT) or None
    description = cut(inline(message.text), DESCRIPTION_LIMIT) or None
    result = discord.Embed(title=title, description=description, colour=colour(message.colour))
    for f in message.fields[:FIELDS_LIMIT]:
        result.add_field(
            name=cut(inline(f.title), FIELD_NAME_LIMIT) or EMPTY,
            value=cut(inline(f.value), FIELD_VALUE_LIMIT) or EMPTY,
            inline=f.short,
        )
    if message.context.strip():
        result.set_footer(text=cut(inline(message.context), FOOTER_LIMIT))
    over = len(result) - EMBED_TOTAL_LIMIT
    if over > 0 and result.description:  # the whole embed is capped too
        result.description = cut(result.description, max(len(result.description) - over, 1))
    return result


def view(message: RichMessage) -> discord.ui.View | None:
    """Buttons as a persistent view (no timeout). Presses are handled by custom_id in
    `app.py`, so they keep working after a restart without any stored view state."""
    if not message.buttons:
        return None
    result = discord.ui.View(timeout=None)
    for b in message.buttons[:BUTTONS_LIMIT]:
        result.add_item(
            discord.ui.Button(
                label=cut(b.label, BUTTON_LABEL_LIMIT) or EMPTY,
                custom_id=custom_id(b.action_id, b.value),
                style=_STYLES.get(b.style, discord.ButtonStyle.secondary),
            )
        )
    return result


@dataclass
class Rendered:
    content: str
    embed: discord.Embed
    view: discord.ui.View | None
    allowed_mentions: discord.AllowedMentions

    def send_kwargs(self) -> dict[str, Any]:
        """For `channel.send` / `followup.send` (which want no `view` at all if empty)."""
        kwargs: dict[str, Any] = {
            "content": self.content or None,
            "embed": self.embed,
            "allowed_mentions": self.allowed_mentions,
        }
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """For `message.edit`: `view=None` removes buttons the new version no longer has."""
        return {
            "content": self.content or None,
            "embed": self.embed,
            "allowed_mentions": self.allowed_mentions,
            "view": self.view,
        }


def allowed(user_ids: list[str]) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(int(i)) for i in user_ids],
        replied_user=False,
    )


def render(message: RichMessage) -> Rendered:
    ids = mentioned(message)
    content = cut(" ".join(f"<@{i}>" for i in ids), CONTENT_LIMIT)
    return Rendered(
        content=content, embed=embed(message), view=view(message), allowed_mentions=allowed(ids)
    )


def plain(text: str) -> str:
    """Escaped text with real mentions, for a topic or a file caption."""
    return inline(text)


def topic(text: str) -> str:
    return cut(inline(text), TOPIC_LIMIT)
