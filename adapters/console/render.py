"""RichMessage -> terminal text. Mention tokens become @name and #channel."""

from __future__ import annotations

from adapters.console.workspace import Workspace
from bot import markup
from bot.port import RichMessage


def inline(text: str, ws: Workspace) -> str:
    out: list[str] = []
    for part in markup.split(text):
        if isinstance(part, str):
            out.append(part)
        elif part.kind == "@":
            user = ws.users.get(part.id)
            out.append(f"@{user.name if user else part.id}")
        else:
            channel = ws.channels.get(part.id)
            out.append(f"#{channel.name if channel else part.id}")
    return "".join(out)


def render(message: RichMessage, ws: Workspace) -> str:
    lines: list[str] = []
    if message.header:
        lines.append(f"▌ {inline(message.header, ws)}")
    if message.text:
        lines.extend(inline(message.text, ws).splitlines())
    if message.fields:
        lines.append(" · ".join(f"{f.title}: {inline(f.value, ws)}" for f in message.fields))
    if message.buttons:
        lines.append(" ".join(f"[{b.label}]" for b in message.buttons))
    if message.context:
        lines.append(f"  {inline(message.context, ws)}")
    return "\n".join(lines)
