"""Database URLs as people paste them, mapped to the async driver warroom runs on.

`sqlite:///path`, `sqlite+aiosqlite:///path`, `postgresql://…`, `postgres://…` (the form
hosted platforms hand out) and `postgresql+asyncpg://…` all work: SQLite goes through
aiosqlite, PostgreSQL through asyncpg, whatever driver the URL named. Nothing here
connects; messages never show the password.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

EXAMPLES = "sqlite:///warroom.db or postgresql://user:password@host:5432/warroom"
ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
# libpq's `sslmode` (in the URLs hosted platforms hand out) is asyncpg's `ssl`, with the
# same values (disable, prefer, require, verify-ca, verify-full).
ASYNCPG_RENAMES = {"sslmode": "ssl"}
POSTGRES_PORT = 5432


class DatabaseUnavailable(Exception):
    """The database cannot be used: the message is one line for a person, naming the
    file or host:port, never the password."""


class BadDatabaseUrl(DatabaseUnavailable):
    """The URL itself is wrong: it does not parse, or names a database warroom does not run on."""


def async_url(url: str | URL) -> URL:
    """The URL with warroom's async driver for its database."""
    try:
        parsed = make_url(url.strip() if isinstance(url, str) else url)
    except ArgumentError:
        raise BadDatabaseUrl(f"not a database URL; use {EXAMPLES}") from None
    backend = parsed.drivername.partition("+")[0].lower()
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise BadDatabaseUrl(
            f"{backend}:// is not a database warroom runs on; use SQLite or PostgreSQL, "
            f"like {EXAMPLES}"
        )
    parsed = parsed.set(drivername=driver)
    if driver == "postgresql+asyncpg":
        query = {ASYNCPG_RENAMES.get(k, k): v for k, v in parsed.query.items()}
        parsed = parsed.set(query=query)
    elif parsed.host or parsed.port:
        raise BadDatabaseUrl(
            "a SQLite URL names a file, not a host: use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    return parsed


def describe(url: URL) -> str:
    """What the URL points at, for messages: `SQLite file /abs/path` or
    `PostgreSQL at host:port`."""
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database in (None, "", ":memory:"):
            return "SQLite in memory"
        return f"SQLite file {os.path.abspath(database)}"
    host = url.host or str(url.query.get("host") or "") or "localhost"
    return f"PostgreSQL at {host}:{url.port or POSTGRES_PORT}"
