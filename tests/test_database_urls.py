"""WARROOM_DATABASE_URL in the forms people paste, and one line when it cannot be used.

The URL forms map to the async drivers; the commands that open the database are run as
real subprocesses against real SQLite files, the real PostgreSQL server (when
WARROOM_TEST_POSTGRES_URL is set), a closed loopback port and a listener that never
answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.urls import ASYNC_DRIVERS, BadDatabaseUrl, async_url, describe
from tests import pg
from tests.cli_support import closed_port, one_line, silent_listener, warroom


@pytest.mark.parametrize(
    ("pasted", "driver", "database"),
    [
        ("sqlite:///warroom.db", "sqlite+aiosqlite", "warroom.db"),
        ("sqlite:////var/lib/warroom/w.db", "sqlite+aiosqlite", "/var/lib/warroom/w.db"),
        ("sqlite+aiosqlite:///data/w.db", "sqlite+aiosqlite", "data/w.db"),
        ("sqlite+pysqlite:///w.db", "sqlite+aiosqlite", "w.db"),
        ("sqlite://", "sqlite+aiosqlite", None),
        ("postgresql://u:p@db.example:5433/warroom", "postgresql+asyncpg", "warroom"),
        ("postgres://u:p@db.example/warroom", "postgresql+asyncpg", "warroom"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/test", "postgresql+asyncpg", "test"),
        ("postgresql+psycopg2://u@h/warroom", "postgresql+asyncpg", "warroom"),
        ("  postgres://u@h/warroom\n", "postgresql+asyncpg", "warroom"),
    ],
)
def test_pasted_forms_get_the_async_driver(pasted: str, driver: str, database: str | None):
    url = async_url(pasted)
    assert (url.drivername, url.database) == (driver, database)


def test_libpq_sslmode_becomes_asyncpgs_ssl():
    url = async_url("postgres://u:p@h/db?sslmode=require&application_name=warroom")
    assert dict(url.query) == {"ssl": "require", "application_name": "warroom"}


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ("warroom.db", "not a database URL"),
        ("", "not a database URL"),
        ("mysql://u:p@h/db", "mysql:// is not a database warroom runs on"),
        ("sqlite://host:5432/file.db", "names a file, not a host"),
    ],
)
def test_unusable_urls_are_refused(pasted: str, said: str):
    with pytest.raises(BadDatabaseUrl, match=said):
        async_url(pasted)


@given(st.text(max_size=80))
def test_any_text_is_an_async_url_or_a_refusal(text: str):
    try:
        url = async_url(text)
    except BadDatabaseUrl as exc:
        assert "\n" not in str(exc)
        return
    assert url.drivername in ASYNC_DRIVERS.values()


def test_descriptions_name_the_place_never_the_password(tmp_path: Path):
    assert describe(async_url("postgres://u:hunter2@db.test/x")) == "PostgreSQL at db.test:5432"
    assert describe(async_url("postgresql://u:hunter2@db:6000/x")) == "PostgreSQL at db:6000"
    assert describe(async_url(f"sqlite:///{tmp_path}/w.db")) == f"SQLite file {tmp_path}/w.db"


@pytest.mark.parametrize(
    "form", ["sqlite:///{rel}", "sqlite:///{abs}", "sqlite+aiosqlite:///{abs}"]
)
def test_sqlite_forms_open_the_file_they_name(tmp_path: Path, form: str):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    target = cwd / "data" / "warroom.db" if "{rel}" in form else tmp_path / "abs" / "w.db"
    url = form.format(rel="data/warroom.db", abs=target)
    out = warroom(tmp_path, "db", "upgrade", cwd=cwd, WARROOM_DATABASE_URL=url)
    assert out.returncode == 0, out.stderr
    assert target.is_file()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
async def test_postgres_forms_connect_to_the_real_server(tmp_path: Path, scheme: str):
    async with pg.fresh_database() as fresh:
        url = fresh.replace("postgresql+asyncpg", scheme, 1) + "?sslmode=disable"
        out = warroom(tmp_path, "db", "upgrade", WARROOM_DATABASE_URL=url)
        assert out.returncode == 0, out.stderr
        listed = warroom(tmp_path, "incidents", "list", WARROOM_DATABASE_URL=url)
        assert (listed.returncode, listed.stdout.strip()) == (0, "no open incidents")


COMMANDS = [("run",), ("db", "upgrade"), ("incidents", "list")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_closed_port_is_one_line_naming_the_setting_and_address(
    tmp_path: Path, command: tuple[str, ...]
):
    port = closed_port()
    url = f"postgres://warroom:hunter2@127.0.0.1:{port}/warroom"
    out = warroom(tmp_path, *command, WARROOM_DATABASE_URL=url)
    line = one_line(out.stderr)
    assert out.returncode == 1
    assert line == (
        "warroom: setting WARROOM_DATABASE_URL: cannot connect to PostgreSQL at "
        f"127.0.0.1:{port}: Connection refused"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_silent_database_times_out_in_one_line_stating_the_wait(
    tmp_path: Path, command: tuple[str, ...]
):
    with silent_listener() as port:
        url = f"postgresql://warroom:hunter2@127.0.0.1:{port}/warroom"
        out = warroom(tmp_path, *command, WARROOM_DATABASE_URL=url, WARROOM_CONNECT_TIMEOUT="1")
    assert out.returncode == 1
    assert one_line(out.stderr) == (
        "warroom: setting WARROOM_DATABASE_URL: no answer from PostgreSQL at "
        f"127.0.0.1:{port} within 1 s"
    )


def test_a_bad_url_is_one_line_and_hides_the_password(tmp_path: Path):
    out = warroom(tmp_path, "run", WARROOM_DATABASE_URL="mysql://root:hunter2@db/warroom")
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert line.startswith("warroom: setting WARROOM_DATABASE_URL: mysql:// is not a database")
    assert "hunter2" not in out.stderr + out.stdout


def test_check_reports_the_database_like_the_other_commands(tmp_path: Path):
    port = closed_port()
    refused = warroom(
        tmp_path, "check", WARROOM_DATABASE_URL=f"postgres://u:hunter2@127.0.0.1:{port}/w"
    )
    assert refused.returncode == 1
    assert (
        "problem: setting WARROOM_DATABASE_URL: cannot connect to PostgreSQL at "
        f"127.0.0.1:{port}: Connection refused\n"
    ) in refused.stderr
    assert "hunter2" not in refused.stdout + refused.stderr


def test_check_does_not_create_the_sqlite_file(tmp_path: Path):
    out = warroom(tmp_path, "check")
    assert out.returncode == 0, out.stderr
    assert (
        f"ok: database: SQLite file {tmp_path / 'warroom.db'} does not exist yet; "
        "`warroom run` creates it"
    ) in out.stdout
    assert not (tmp_path / "warroom.db").exists()
    assert warroom(tmp_path, "db", "upgrade").returncode == 0
    again = warroom(tmp_path, "check")
    assert f"ok: database: SQLite file {tmp_path / 'warroom.db'}, schema up to date" in again.stdout


async def test_check_connects_to_the_real_postgres(tmp_path: Path):
    async with pg.fresh_database() as fresh:
        url = fresh.replace("postgresql+asyncpg", "postgresql", 1)
        out = warroom(tmp_path, "check", WARROOM_DATABASE_URL=url)
    assert out.returncode == 0, out.stderr
    assert (
        "ok: database: PostgreSQL at 127.0.0.1:5432, empty; `warroom run` creates the tables"
        in out.stdout
    )


def test_check_says_local_problems_before_waiting_on_a_silent_database(tmp_path: Path):
    with silent_listener() as port:
        out = warroom(
            tmp_path,
            "check",
            WARROOM_DATABASE_URL=f"postgresql://u@127.0.0.1:{port}/w",
            WARROOM_CONNECT_TIMEOUT="1",
            WARROOM_SLACK_BOT_TOKEN="xapp-1-A-2-b",
            WARROOM_SLACK_APP_TOKEN="xapp-1-A-2-b",
        )
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    token = lines.index(
        "problem: Slack: WARROOM_SLACK_BOT_TOKEN must be a bot token (xoxb-…), this one is an "
        "app-level token; copy it from the app's OAuth & Permissions page"
    )
    database = lines.index(
        "problem: setting WARROOM_DATABASE_URL: no answer from PostgreSQL at "
        f"127.0.0.1:{port} within 1 s"
    )
    assert token < database
    assert lines[-1] == "warroom check: 2 problems"
