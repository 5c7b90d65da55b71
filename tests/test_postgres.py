"""How the PostgreSQL variants find their server (tests/pg.py), and URL handling that only
PostgreSQL has."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import Database
from tests import pg


def test_without_the_variable_the_postgres_variants_skip_and_say_why(monkeypatch):
    monkeypatch.delenv(pg.ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        pg.require_server()
    assert skipped.value.msg == (
        "WARROOM_TEST_POSTGRES_URL is not set: PostgreSQL tests need a server"
    )


async def test_a_configured_server_that_is_down_fails_the_test(monkeypatch):
    # Port 1 on the loopback: nothing listens there, so the connection is refused.
    monkeypatch.setenv(pg.ENV, "postgresql+asyncpg://postgres:secret@127.0.0.1:1/test")
    with pytest.raises(pytest.fail.Exception) as failed:
        async with pg.fresh_database():
            raise AssertionError("no database can have been created")
    assert "is set but the server cannot be used" in str(failed.value)
    assert "secret" not in str(failed.value)


def test_a_url_for_another_database_is_refused(monkeypatch):
    monkeypatch.setenv(pg.ENV, "sqlite+aiosqlite:///warroom.db")
    with pytest.raises(pytest.fail.Exception, match="not a postgresql"):
        pg.require_server()


async def test_a_plain_postgresql_url_connects_with_asyncpg():
    async with pg.fresh_database() as url:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        db = Database.connect(plain)
        try:
            assert db.engine.dialect.driver == "asyncpg"
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == (
                    make_url(url).database
                )
        finally:
            await db.dispose()
