"""Shared fixtures: a real SQLite database file and the console platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from bot.app import App
from bot.clock import ManualClock
from bot.config import Settings

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
        "playbooks_dir": PLAYBOOKS,
        "postmortem_dir": tmp_path / "postmortems",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class Console:
    app: App
    session: ConsoleSession
    clock: ManualClock
    settings: Settings


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console platform wired to a fresh SQLite file, on a manual clock."""
    clock = ManualClock()
    settings = make_settings(tmp_path)
    app, session = await build_console(settings, clock=clock)
    try:
        yield Console(app=app, session=session, clock=clock, settings=settings)
    finally:
        await app.stop()
