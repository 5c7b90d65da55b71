"""Read-only answers: the list of open incidents (a page at a time) and help."""

from __future__ import annotations

import dataclasses

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import SPECS, help_spec
from bot.limits import shorten
from bot.paging import LIST_PAGE, ROW_TEXT, page
from bot.service.base import Deps, Result
from bot.views import build_view
from storage import repository as repo


async def list_incidents(tx: AsyncSession, deps: Deps, *, number: int = 1) -> Result:
    """Page `number` of the open incidents, `LIST_PAGE` to a page, by incident number."""
    total = await repo.count_open_incidents(tx)
    command = f"/{deps.options.command_name} list"
    shown = page(number, size=LIST_PAGE, total=total, what="open incidents", command=command)
    rows = await repo.open_incidents(tx, limit=shown.size, offset=shown.offset)
    views = [
        dataclasses.replace(
            build_view(r, playbook=deps.playbook_for(r), roles={}),
            title=shorten(r.title, ROW_TEXT),
        )
        for r in rows
    ]
    return Result(reply=deps.renderer.message("list", incidents=views, page=shown, command=command))


def show_help(deps: Deps, topic: str) -> Result:
    command = deps.options.command_name
    if topic:
        return Result(
            reply=deps.renderer.message("help_command", spec=help_spec(topic), command=command)
        )
    return Result(reply=deps.renderer.message("help", specs=list(SPECS.values()), command=command))
