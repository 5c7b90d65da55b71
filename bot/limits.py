"""Size limits: how much text a command carries in, and how much a reply carries out.

- In: a command's text and each form value are at most `MAX_INPUT` characters. The
  check runs before any parsing (`bot.commands.check_length`), so the cost of every
  parser stays under a fixed bound whatever a person sends.
- Out: a private reply is at most `MAX_REPLY` characters of visible text
  (`RichMessage.plain()`). Replies that grow with data (the incident list, tasks, the
  timeline) page themselves to stay well inside it; `fit_reply`, applied by
  `Bot.handle` to every reply, is the backstop.
- Errors quote at most `MAX_QUOTE` characters of any one piece of input, and are at
  most `MAX_ERROR` characters long (`bot.errors.UserError`).

`shorten` never cuts a mention token (`bot.markup`) in two.
"""

from __future__ import annotations

import dataclasses

from bot.markup import TOKEN_CLOSE, TOKEN_OPEN
from bot.port import RichMessage

MAX_INPUT = 4000
MAX_REPLY = 4000
MAX_QUOTE = 100
MAX_ERROR = 600
ELLIPSIS = "…"

# A reply's parts other than its text get these shares of MAX_REPLY at most.
_HEADER = 200
_CONTEXT = 400
_FIELDS = 8
_FIELD_TITLE = 60
_FIELD_VALUE = 200
_BUTTONS = 8
_BUTTON_LABEL = 60


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and "…" in `limit`.

    The cut never falls inside a mention token: a token it would split is left out."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - len(ELLIPSIS), 0)]
    if head.rfind(TOKEN_OPEN) > head.rfind(TOKEN_CLOSE):
        head = head[: head.rfind(TOKEN_OPEN)]
    return head + ELLIPSIS


def fit_reply(message: RichMessage) -> RichMessage:
    """`message` with at most `MAX_REPLY` characters of visible text.

    The header, fields, buttons and context are trimmed to their shares first; the text
    gets what is left."""
    if len(message.plain()) <= MAX_REPLY:
        return message
    trimmed = dataclasses.replace(
        message,
        header=shorten(message.header, _HEADER),
        context=shorten(message.context, _CONTEXT),
        fields=tuple(
            dataclasses.replace(
                f, title=shorten(f.title, _FIELD_TITLE), value=shorten(f.value, _FIELD_VALUE)
            )
            for f in message.fields[:_FIELDS]
        ),
        buttons=tuple(
            dataclasses.replace(b, label=shorten(b.label, _BUTTON_LABEL))
            for b in message.buttons[:_BUTTONS]
        ),
        text="",
    )
    budget = MAX_REPLY - len(trimmed.plain()) - 1  # the line break before the text
    return dataclasses.replace(trimmed, text=shorten(message.text, max(budget, 0)))
