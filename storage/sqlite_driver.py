"""aiosqlite with one worker-thread round trip per statement.

aiosqlite runs every sqlite3 call on a worker thread, and SQLAlchemy's adapter makes four
calls per statement: open a cursor, execute, fetch all rows, close the cursor. Each call is
a thread hand-off and back (~90 µs on a small VM), which dwarfs SQLite's own work for the
one-row statements a chat command runs. Here a statement's cursor is opened, executed,
drained and closed in ONE call on the worker, and its rows, description, rowcount and
lastrowid are handed back buffered — what SQLAlchemy's adapter does anyway right after
executing (it fetches all rows of a non-streaming result at once).

`begin_with_next` lets `Database`'s BEGIN IMMEDIATE ride along with the transaction's first
statement instead of taking a round trip of its own: SQLAlchemy emits the BEGIN right
before that statement anyway, so nothing can happen in between, and a BEGIN that fails
(busy_timeout expired) fails that statement, inside the transaction, as before.

COMMIT / ROLLBACK outside a transaction are no-ops in sqlite3 itself; they skip the hand-off
when the connection is known to be outside one (as reported by the worker after the last
statement). That spares the pool's reset-on-return ROLLBACK after every committed
transaction. Whenever the state is not known for sure (an operation is in flight or was
cancelled, or ran through another path), the call goes to the worker as before.

Used through `Database.connect` for `sqlite+aiosqlite` URLs; the URL, pool, pragmas and
transaction handling are unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

_Description = tuple[tuple[Any, ...], ...] | None
# (description, rows, rowcount, lastrowid, in_transaction)
_Outcome = tuple[_Description, list[Any], int, int | None, bool]


def _statement(
    conn: sqlite3.Connection, sql: str, parameters: Any, *, many: bool, begin: str | None
) -> _Outcome:
    cursor = conn.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


def _end(conn: sqlite3.Connection, *, commit: bool) -> bool:
    if commit:
        conn.commit()
    else:
        conn.rollback()
    return conn.in_transaction


class BufferedCursor:
    """The subset of aiosqlite's Cursor that SQLAlchemy's adapter uses, buffered."""

    def __init__(self, connection: BufferedConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self._next = 0
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> BufferedCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> BufferedCursor:
        return await self._run(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Any) -> BufferedCursor:
        return await self._run(sql, parameters, many=True)

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> BufferedCursor:
        outcome = await self._connection._statement(sql, parameters, many=many)
        self.description, self._rows, self.rowcount, self.lastrowid, _ = outcome
        self._next = 0
        return self

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        row = self._rows[self._next]
        self._next += 1
        return row

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows = self._rows[self._next : self._next + count]
        self._next += len(rows)
        return rows

    async def fetchall(self) -> list[Any]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    async def close(self) -> None:
        self._rows, self._next = [], 0


class BufferedConnection(aiosqlite.Connection):
    # True / False: known (in / not in a transaction); None: unknown, ask the worker.
    _in_transaction: bool | None = None
    # A BEGIN to run just before the next statement, in the same round trip.
    _begin: str | None = None

    def begin_with_next(self, sql: str) -> None:
        self._begin = sql

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._in_transaction = None
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def _statement(self, sql: str, parameters: Any, *, many: bool) -> _Outcome:
        begin, self._begin = self._begin, None
        outcome: _Outcome = await self._execute(
            partial(_statement, self._conn, sql, parameters, many=many, begin=begin)
        )
        self._in_transaction = outcome[4]
        return outcome

    async def _finish(self, *, commit: bool) -> None:
        # A BEGIN still waiting for a statement never ran: drop it; nothing began.
        self._begin = None
        if self._in_transaction is False:
            return  # sqlite3 would do nothing either
        self._in_transaction = await self._execute(partial(_end, self._conn, commit=commit))

    def cursor(self) -> BufferedCursor:  # type: ignore[override]
        return BufferedCursor(self)

    async def commit(self) -> None:
        await self._finish(commit=True)

    async def rollback(self) -> None:
        await self._finish(commit=False)


def connect(
    database: str | bytes | Path, *, iter_chunk_size: int = 64, **kwargs: Any
) -> BufferedConnection:
    """`aiosqlite.connect`, returning a `BufferedConnection` (awaitable, as there)."""

    def connector() -> sqlite3.Connection:
        location = database.decode("utf-8") if isinstance(database, bytes) else str(database)
        conn: sqlite3.Connection = sqlite3.connect(location, **kwargs)
        return conn

    connection = BufferedConnection(connector, iter_chunk_size)
    connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does
    return connection


def do_connect(_dialect: Any, _record: Any, cargs: Sequence[Any], cparams: dict[str, Any]) -> Any:
    """A `do_connect` listener: the dialect's own connect, on a `BufferedConnection`."""
    return _dialect.dbapi.connect(*cargs, async_creator_fn=connect, **cparams)
