"""The async database: one engine, one transaction per handled event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver

DEFAULT_URL = "sqlite+aiosqlite:///warroom.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see `_begin`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY = "warroom_read_only"


def _begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two processes sharing one file queue
    # behind busy_timeout instead of failing on a lock upgrade mid-transaction. Readers
    # take no write lock: WAL lets them run beside a writer.
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    driver = conn.connection.driver_connection
    if isinstance(driver, sqlite_driver.BufferedConnection):
        driver.begin_with_next(begin)  # sent with the first statement
    else:
        conn.exec_driver_sql(begin)


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._readers = async_sessionmaker(
            engine,
            class_=AsyncSession,
            expire_on_commit=False,
            execution_options={READ_ONLY: True},
        )

    @classmethod
    def connect(cls, url: str = DEFAULT_URL, **engine_args: Any) -> Database:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_backend_name() == "sqlite":
            # Reuse the most recently returned connection: each aiosqlite connection has
            # its own worker thread (and allocator arena), so rotating through the pool
            # spreads large reads across threads and keeps memory from being reused.
            engine_args.setdefault("pool_use_lifo", True)
        engine = create_async_engine(url, **engine_args)
        if engine.dialect.name == "sqlite":
            if engine.dialect.driver == "aiosqlite" and "async_creator" not in engine_args:
                # One worker-thread round trip per statement (see storage/sqlite_driver.py).
                event.listen(engine.sync_engine, "do_connect", sqlite_driver.do_connect)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _begin)
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core-only transaction, without the ORM session's bookkeeping.

        For the hot paths that only append rows (notes, captured chat): the same commit
        and rollback rules as `transaction`, at a fraction of the per-event cost."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reading: on SQLite it does not take the write lock."""
        async with self._readers() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
