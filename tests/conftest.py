"""Shared fixtures: a real database (a SQLite file, or PostgreSQL) and the console platform.

`db_url` runs a test on both databases (ids `sqlite` and `postgres`). A module opts in
with `pytestmark = pytest.mark.usefixtures("db_url")`; then `console`, and every
`make_settings(tmp_path)` in that test, use the database of the variant. The PostgreSQL
variant gets a new empty database per test (see tests/pg.py) and skips when
WARROOM_TEST_POSTGRES_URL is not set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from bot.app import App
from bot.clock import ManualClock
from bot.config import Settings
from tests import fuzz_profiles, pg

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"


def pytest_configure(config: pytest.Config) -> None:
    fuzz_profiles.register()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in fuzz_profiles.summary_lines():
        terminalreporter.write_line(line)


# The database chosen by a test's `db_url` variant, by the test's tmp_path.
_DATABASES: dict[Path, str] = {}


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": _DATABASES.get(tmp_path) or sqlite_url(tmp_path),
        "playbooks_dir": PLAYBOOKS,
        "postmortem_dir": tmp_path / "postmortems",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for this test: a SQLite file, or a new PostgreSQL database."""
    async with AsyncExitStack() as stack:
        if request.param == "postgres":
            url = await stack.enter_async_context(pg.fresh_database())
        else:
            url = sqlite_url(tmp_path)
        _DATABASES[tmp_path] = url
        try:
            yield url
        finally:
            del _DATABASES[tmp_path]


@dataclass
class Console:
    app: App
    session: ConsoleSession
    clock: ManualClock
    settings: Settings


@pytest.fixture
async def console(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Console]:
    """The console platform wired to a fresh database, on a manual clock.

    SQLite unless the test runs under `db_url`, which then picks the database."""
    if "db_url" in request.fixturenames:
        request.getfixturevalue("db_url")
    clock = ManualClock()
    settings = make_settings(tmp_path)
    app, session = await build_console(settings, clock=clock)
    try:
        yield Console(app=app, session=session, clock=clock, settings=settings)
    finally:
        await app.stop()
