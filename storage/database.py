"""The async database: one engine, one transaction per handled event."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, bindparam, event, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver
from storage.urls import DatabaseUnavailable, async_url, describe

DEFAULT_URL = "sqlite+aiosqlite:///warroom.db"
# How long opening a connection may take before it counts as "no answer" (PostgreSQL:
# asyncpg's connect timeout; the first connection of every command: `Database.ping`).
CONNECT_TIMEOUT = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see `_begin`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The timeout first: switching a new file to WAL takes a lock that another process
    # opening the same file at the same moment must wait for, not fail on.
    cursor.execute("PRAGMA busy_timeout=10000")
    _wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Switch the file to WAL, once. Two processes creating the same new file can both
    try at once, and SQLite may refuse the switch ("database is locked") without calling
    the busy handler: then wait briefly and look again (the other one has usually done
    it). This runs only while a connection is being opened."""
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, wrapped by the adapter
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)


READ_ONLY = "warroom_read_only"

# PostgreSQL: a few connections per process (every handled event holds one for a single
# short transaction), checked before use so that a server restart or a failover costs
# one failed ping, not a failed command, and replaced before idle-connection timeouts
# in proxies and load balancers drop them.
POSTGRES_POOL: dict[str, Any] = {
    "pool_size": 10,
    "max_overflow": 10,
    "pool_timeout": 30,
    "pool_pre_ping": True,
    "pool_recycle": 1800,
}


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


# Incident and task numbers are max + 1, so two transactions computing one at once
# would pick the same number. SQLite never lets them: BEGIN IMMEDIATE serialises
# writers. PostgreSQL (READ COMMITTED) does, so there the transaction first takes an
# advisory lock, held until it commits or rolls back. The number is read after the lock
# is granted, in a fresh snapshot, and so sees the number the previous holder
# committed. A sequence would not do: a declare that is rolled back gives its number
# back.
INCIDENT_NUMBERS = 0x57524D01  # "WRM" 1: the first key of the incident-number lock
TASK_NUMBERS = 0x57524D02  # "WRM" 2: task numbers, with the incident id as second key
SCHEMA_UPGRADES = 0x57524D03  # "WRM" 3: schema upgrades (storage/migrate.py)
ALERT_TARGETS = 0x57524D04  # "WRM" 4: choosing an alert's incident, per group or playbook


async def serialise(conn: AsyncConnection, *, lock: int, on: int = 0) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock (lock, on).

    PostgreSQL only (`pg_advisory_xact_lock`); a no-op on SQLite, where a write
    transaction already holds the database's one write lock."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_lock_statement(), {"lock": lock, "on": on})


@cache
def _lock_statement() -> Any:
    return select(
        func.pg_advisory_xact_lock(
            bindparam("lock", type_=Integer()), bindparam("on", type_=Integer())
        )
    )


# Set while this task (or the task that spawned it) holds the in-process write queue.
_writing: ContextVar[bool] = ContextVar("warroom_writing", default=False)


class Database:
    def __init__(self, engine: AsyncEngine, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.engine = engine
        self.connect_timeout = connect_timeout
        # SQLite has one write lock per file. Writers of this process queue here, in
        # order, instead of inside SQLite's busy handler, which polls with sleeps of up
        # to 100 ms: under load that made the slowest writes wait ~50x the median.
        # Other processes still wait on the file lock (busy_timeout).
        self._write_queue = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._readers = async_sessionmaker(
            engine,
            class_=AsyncSession,
            expire_on_commit=False,
            execution_options={READ_ONLY: True},
        )

    @classmethod
    def connect(
        cls, url: str = DEFAULT_URL, *, connect_timeout: float = CONNECT_TIMEOUT, **engine_args: Any
    ) -> Database:
        """An engine for `url` (any form `storage.urls.async_url` takes); nothing connects
        yet. Raises `DatabaseUnavailable` for a URL warroom cannot use."""
        parsed = async_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create the folder of {describe(parsed)}: {exc.strerror or exc}"
                ) from None
        if backend == "sqlite":
            # Reuse the most recently returned connection: each aiosqlite connection has
            # its own worker thread (and allocator arena), so rotating through the pool
            # spreads large reads across threads and keeps memory from being reused.
            engine_args.setdefault("pool_use_lifo", True)
        else:
            if "timeout" not in parsed.query:
                connect_args = dict(engine_args.get("connect_args") or {})
                connect_args.setdefault("timeout", connect_timeout)
                engine_args["connect_args"] = connect_args
            if "poolclass" not in engine_args:
                for key, value in POSTGRES_POOL.items():
                    engine_args.setdefault(key, value)
        engine = create_async_engine(parsed, **engine_args)
        if engine.dialect.name == "sqlite":
            if engine.dialect.driver == "aiosqlite" and "async_creator" not in engine_args:
                # One worker-thread round trip per statement (see storage/sqlite_driver.py).
                event.listen(engine.sync_engine, "do_connect", sqlite_driver.do_connect)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _begin)
        return cls(engine, connect_timeout=connect_timeout)

    async def ping(self) -> None:
        """Open a connection and run `SELECT 1`, within `connect_timeout` seconds.

        Raises `DatabaseUnavailable` with one line naming the file or host:port and what
        went wrong (or how long it waited), instead of the driver's traceback."""
        where = describe(self.engine.url)
        try:
            async with asyncio.timeout(self.connect_timeout):
                async with self.engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
        except TimeoutError:
            raise DatabaseUnavailable(
                f"no answer from {where} within {self.connect_timeout:g} s"
            ) from None
        except (OSError, SQLAlchemyError) as exc:
            raise DatabaseUnavailable(f"cannot connect to {where}: {_reason(exc)}") from None
        except TypeError as exc:  # asyncpg.connect() refusing a URL query parameter
            if "unexpected keyword argument" not in str(exc):
                raise
            name = str(exc).rsplit(" ", 1)[-1].strip("'")
            raise DatabaseUnavailable(
                f"cannot connect to {where}: the URL parameter `{name}` is not one the "
                "PostgreSQL driver (asyncpg) takes"
            ) from None

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self._write_queue is None or _writing.get():
            yield  # PostgreSQL, or already queued by this task: no second wait
            return
        async with self._write_queue:
            token = _writing.set(True)
            try:
                yield
            finally:
                _writing.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self._writer(), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core-only transaction, without the ORM session's bookkeeping.

        For the hot paths that only append rows (notes, captured chat): the same commit
        and rollback rules as `transaction`, at a fraction of the per-event cost."""
        async with self._writer(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reading: on SQLite it does not take the write lock."""
        async with self._readers() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _reason(exc: BaseException) -> str:
    """The driver's own words, on one line, without SQLAlchemy's wrapping."""
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if isinstance(cause, socket.gaierror) and cause.strerror:
        return cause.strerror  # the host name did not resolve
    if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
        return os.strerror(cause.errno)  # "Connection refused", not asyncio's wording
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__
