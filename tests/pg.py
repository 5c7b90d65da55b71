"""PostgreSQL for the tests: one new, empty database per test, dropped afterwards.

The server comes from WARROOM_TEST_POSTGRES_URL (for example
`postgresql+asyncpg://postgres@127.0.0.1:5432/test`). Unset, the PostgreSQL variants
skip; set but unreachable, they fail: a configured server that is down is a broken
test run, not a reason to test less.

Each test gets its own database (CREATE DATABASE from template0), so every process the
test starts (a second app, `warroom` as a subprocess) reaches it by URL alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

ENV = "WARROOM_TEST_POSTGRES_URL"
SKIP_REASON = f"{ENV} is not set: PostgreSQL tests need a server"
PREFIX = "warroom_test_"


def server_url() -> str | None:
    return os.environ.get(ENV) or None


def require_server() -> URL:
    """The configured server's URL; skips the test when none is configured."""
    raw = server_url()
    if raw is None:
        pytest.skip(SKIP_REASON)
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{ENV}={raw!r} is not a postgresql+asyncpg:// URL", pytrace=False)
    return url.set(drivername="postgresql+asyncpg")


async def admin(url: URL) -> asyncpg.Connection:
    """A plain asyncpg connection to the server's own database (the one in the URL)."""
    try:
        return await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=10,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        shown = url.render_as_string(hide_password=True)
        pytest.fail(f"{ENV}={shown} is set but the server cannot be used: {exc!r}", pytrace=False)


@asynccontextmanager
async def fresh_database(url: URL | None = None) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it (even if still in use)."""
    server = url or require_server()
    name = f"{PREFIX}{uuid.uuid4().hex[:16]}"
    conn = await admin(server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
    finally:
        await conn.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await admin(server)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
