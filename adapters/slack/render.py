"""RichMessage -> Slack Block Kit (blocks + a `text` fallback).

Every plain run of text is escaped exactly once (`&` `<` `>`, and an invisible word
joiner after an `@` that starts a word), so nothing a user typed (`<!channel>`, `<!here>`,
`<@U123>`, `@here`) can ping anyone or break the markup. Only the core's mention tokens
(`bot.markup`) become real mentions: `<@U…>` and `<#C…>`.

Colour: Block Kit blocks have no colour, and wrapping blocks in a legacy attachment to get
a colour bar changes how messages are stored, updated and read back, so `RichMessage.colour`
is ignored here. The severity is always written in the header or the fields anyway.
"""

from __future__ import annotations

import re
from typing import Any

from bot import markup
from bot.port import ButtonStyle, RichMessage

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
CONTEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
BUTTONS_PER_ACTIONS = 25
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000
ELLIPSIS = "…"

Block = dict[str, Any]

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_STRIKE = re.compile(r"~~(.+?)~~", re.DOTALL)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
WORD_JOINER = "\u2060"  # invisible, and keeps `@` from starting a mention
_AT_WORD = re.compile(r"@(?=\w)")


def escape(text: str) -> str:
    """Slack's three control characters, escaped once; and a word joiner after every `@`
    that starts a word, so that Slack's automatic parsing of mrkdwn (`@channel`,
    `@here`, `@everyone`, `@name`) finds no mention in anything a user typed."""
    return _AT_WORD.sub("@" + WORD_JOINER, text.translate(_ESCAPES))


def to_mrkdwn(text: str) -> str:
    """The core's light markdown as Slack mrkdwn, escaped, with real mentions."""
    text = _STRIKE.sub(r"~\1~", _BOLD.sub(r"*\1*", text))
    return inline(text)


def inline(text: str) -> str:
    """Escape plain runs; turn mention tokens into `<@U…>` / `<#C…>`."""
    out: list[str] = []
    for part in markup.split(text):
        if isinstance(part, str):
            out.append(escape(part))
        elif part.kind == "@":
            out.append(f"<@{escape(part.id)}>")
        else:
            out.append(f"<#{escape(part.id)}>")
    return "".join(out)


def plain(text: str) -> str:
    """Text for a `plain_text` object: no markup, mentions shown as ids, escaped."""
    text = _BOLD.sub(r"\1", text).replace("`", "")
    out: list[str] = []
    for part in markup.split(text):
        out.append(escape(part) if isinstance(part, str) else f"{part.kind}{escape(part.id)}")
    return "".join(out)


def cut(text: str, limit: int) -> str:
    """Shorten escaped text to `limit` characters without splitting an entity or a mention."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - len(ELLIPSIS), 0)]
    amp, semi = head.rfind("&"), head.rfind(";")
    if amp > semi:  # inside `&amp;` / `&lt;` / `&gt;`
        head = head[:amp]
    lt, gt = head.rfind("<"), head.rfind(">")
    if lt > gt:  # inside `<@U…>` / `<#C…>`
        head = head[:lt]
    return head + ELLIPSIS


def chunks(text: str, limit: int) -> list[str]:
    """Split escaped mrkdwn into pieces of at most `limit`, at line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = line if len(line) <= limit else cut(line, limit)
    if current:
        pieces.append(current)
    return pieces


def _text(kind: str, text: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": kind, "text": text}
    if kind == "plain_text":
        obj["emoji"] = True
    return obj


def _button(label: str, action_id: str, value: str, style: ButtonStyle) -> Block:
    button: Block = {
        "type": "button",
        "text": _text("plain_text", cut(plain(label), BUTTON_TEXT_LIMIT) or " "),
        "action_id": action_id[:255],
    }
    if value:
        button["value"] = value[:BUTTON_VALUE_LIMIT]
    if style is not ButtonStyle.DEFAULT:
        button["style"] = style.value
    return button


def blocks(message: RichMessage) -> list[Block]:
    out: list[Block] = []
    header = cut(plain(message.header).strip(), HEADER_LIMIT)
    if header:
        out.append({"type": "header", "text": _text("plain_text", header)})
    for piece in chunks(to_mrkdwn(message.text), SECTION_LIMIT):
        if piece.strip():
            out.append({"type": "section", "text": _text("mrkdwn", piece)})
    fields = [
        _text("mrkdwn", cut(f"*{to_mrkdwn(f.title)}*\n{to_mrkdwn(f.value)}", FIELD_LIMIT))
        for f in message.fields
    ]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        out.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    buttons = [_button(b.label, b.action_id, b.value, b.style) for b in message.buttons]
    for start in range(0, len(buttons), BUTTONS_PER_ACTIONS):
        out.append({"type": "actions", "elements": buttons[start : start + BUTTONS_PER_ACTIONS]})
    if message.context.strip():
        context = cut(to_mrkdwn(message.context), CONTEXT_LIMIT)
        out.append({"type": "context", "elements": [_text("mrkdwn", context)]})
    if len(out) > MAX_BLOCKS:
        out = [*out[: MAX_BLOCKS - 1], {"type": "context", "elements": [_text("mrkdwn", "…")]}]
    return out


def fallback(message: RichMessage) -> str:
    """The notification / screen-reader text: the header and the body, escaped."""
    parts = [plain(message.header), to_mrkdwn(message.text)]
    text = "\n".join(p for p in parts if p.strip()) or plain(message.plain()) or " "
    return cut(text, FALLBACK_LIMIT)


def render(message: RichMessage) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / chat.postEphemeral."""
    return {"blocks": blocks(message), "text": fallback(message)}


def topic(text: str) -> str:
    """A channel topic: plain, escaped, at most 250 characters."""
    return cut(plain(text), 250)
