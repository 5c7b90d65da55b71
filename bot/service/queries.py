"""Read-only answers: the list of open incidents and help."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import SPECS, help_spec
from bot.service.base import Deps, Result
from bot.views import build_view
from storage import repository as repo


async def list_incidents(tx: AsyncSession, deps: Deps) -> Result:
    rows = await repo.open_incidents(tx)
    views = [build_view(r, playbook=deps.playbook_for(r), roles={}) for r in rows]
    return Result(reply=deps.renderer.message("list", incidents=views))


def show_help(deps: Deps, topic: str) -> Result:
    command = deps.options.command_name
    if topic:
        return Result(
            reply=deps.renderer.message("help_command", spec=help_spec(topic), command=command)
        )
    return Result(reply=deps.renderer.message("help", specs=list(SPECS.values()), command=command))
