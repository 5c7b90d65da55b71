"""Schema upgrades on SQLite and PostgreSQL: from an empty database through every revision
with data written at each step, concurrent upgrades, and refusing a newer schema.

The rows are written with table shapes of their own revision (not the ORM models, which
describe head), exactly as an older warroom would have stored them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import col, select

from storage import migrate
from storage import repository as repo
from storage.database import Database
from storage.tables import AlertRecord, DueItem, Postmortem
from storage.types import UTCDateTime
from tests.conftest import PLAYBOOKS, REPO

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
DRAFT = "# INC-1 — Checkout errors\n\nRésumé: ✅ fixed by rolling back `cart@4.2`.\n"
REVISIONS = ["0001", "0002", "0003", "0004", "0005", "0006"]  # later ones get no rows here


NO_ID = {"processed_event", "postmortem"}  # keyed by another column


def column_type(name: str, value: Any) -> Any:
    """The type an older warroom bound the value with (UTC times as UTC, JSON as JSON)."""
    if name.endswith("_at") or name in (
        "at",
        "first_seen",
        "last_seen",
        "last_change",
        "last_posted",
    ):
        return UTCDateTime()
    if name in ("data", "labels"):
        return sa.JSON()
    kinds = {bool: sa.Boolean(), int: sa.Integer(), bytes: sa.LargeBinary(), str: sa.Text()}
    return kinds[type(value)]


async def insert(db: Database, table: str, **values: Any) -> int:
    """One row, written the way the revision's own code wrote it. Returns its id (or 0)."""
    columns = [sa.column(name, column_type(name, v)) for name, v in values.items()]
    shape = sa.table(table, *columns, *([] if table in NO_ID else [sa.column("id", sa.Integer())]))
    statement = shape.insert().values(**values)
    async with db.engine.begin() as conn:
        if table in NO_ID:
            await conn.execute(statement)
            return 0
        return int((await conn.execute(statement.returning(shape.c.id))).scalar_one())


def incident(number: int, title: str) -> dict[str, Any]:
    return {
        "number": number,
        "title": title,
        "summary": "",
        "severity": "SEV2",
        "status": "investigating",
        "playbook": "default",
        "private": False,
        "drill": False,
        "platform": "console",
        "declared_by_id": "UALICE",
        "declared_by_name": "alice",
        "origin_channel_id": "C001",
        "channel_id": f"C10{number}",
        "channel_name": f"inc-{number}",
        "latest_update": "",
        "declared_at": T0 + timedelta(hours=number),
        "updated_at": T0 + timedelta(hours=number),
    }


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(db_url)
    try:
        yield database
    finally:
        await database.dispose()


async def write_0001(db: Database) -> int:
    """The initial tables: an incident with roles, a participant, a task, a timeline."""
    first = await insert(db, "incident", **incident(1, "Checkout"))
    for role, user in (("commander", "alice"), ("comms", "bob")):
        await insert(
            db,
            "role_assignment",
            incident_id=first,
            role=role,
            user_id=f"U{user.upper()}",
            user_name=user,
            assigned_at=T0,
        )
    await insert(
        db, "participant", incident_id=first, user_id="UBOB", user_name="bob", joined_at=T0
    )
    task = {"number": 1, "text": "Roll back cart", "owner_name": "", "done": True}
    await insert(db, "task", incident_id=first, **task, created_by_id="UALICE", created_at=T0)
    for minute, kind, words, data in TIMELINE:
        await insert(
            db,
            "timeline_entry",
            incident_id=first,
            at=T0 + timedelta(minutes=minute),
            kind=kind,
            actor_id="UALICE",
            actor_name="alice",
            text=words,
            message_id=f"M{minute}",
            data=data,
        )
    await insert(db, "processed_event", key="slack:Ev1", at=T0)
    return first


TIMELINE = [
    (0, "declared", "Checkout", {"severity": "SEV2", "private": False, "impact": None}),
    (5, "chat", "Carts are empty — rolling back ✅", {"thread": ["a", 1, {"x": 1.5}]}),
]
LONG_DRAFT = ("# INC-2\n\n" + "ü" * 5000).encode()


async def write_0002(db: Database, first: int) -> int:
    """Due items, a postmortem as Markdown text, and incident.last_update_at."""
    last_update = T0 + timedelta(hours=3)
    second = await insert(db, "incident", **incident(2, "Login down"), last_update_at=last_update)
    due = {"due_at": T0 + timedelta(minutes=30), "fired_count": 2, "cursor": 0}
    await insert(db, "due_item", incident_id=first, kind="update", ref="", **due)
    await insert(
        db, "due_item", incident_id=second, kind="checklist", ref="1", fired_count=1, cursor=7
    )
    await insert(db, "postmortem", incident_id=first, markdown=DRAFT, generated_at=T0, revision=3)
    return second


async def write_0003(db: Database, second: int) -> None:
    """A postmortem stored as bytes."""
    await insert(
        db, "postmortem", incident_id=second, content=LONG_DRAFT, generated_at=T0, revision=1
    )


async def write_0004(db: Database, second: int) -> None:
    """An alert, as the alert table was before it had links (0006)."""
    await insert(
        db,
        "alert",
        source="alertmanager",
        key="fp-old",
        group_key="g",
        incident_id=second,
        status="firing",
        title="Login down",
        severity="critical",
        labels={"alertname": "LoginDown"},
        fire_count=3,
        flaps=0,
        first_seen=T0,
        last_seen=T0,
        last_change=T0,
        last_posted=T0,
    )


async def test_every_revision_in_order_keeps_the_data_written_before_it(db):
    scripts = ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()
    revisions = [s.revision for s in reversed(list(scripts))]
    assert revisions[: len(REVISIONS)] == REVISIONS
    first = second = 0
    for revision in revisions:  # one at a time, writing rows where the schema changed them
        assert await migrate.upgrade(db, revision) == revision
        if revision == "0001":
            first = await write_0001(db)
        elif revision == "0002":
            second = await write_0002(db, first)
        elif revision == "0003":
            await write_0003(db, second)
        elif revision == "0004":
            await write_0004(db, second)
    assert revisions[-1] == migrate.head_revision() == await migrate.upgrade(db)

    async with db.reader() as tx:
        incidents = await repo.all_incidents(tx)
        assert [(i.number, i.title) for i in incidents] == [(1, "Checkout"), (2, "Login down")]
        one, two = incidents
        assert one.declared_at == T0 + timedelta(hours=1) and one.declared_at.tzinfo == UTC
        assert one.last_update_at is None and two.last_update_at == T0 + timedelta(hours=3)
        roles = await repo.roles(tx, incident_id=first)
        assert {k: r.user_name for k, r in roles.items()} == {"commander": "alice", "comms": "bob"}
        assert [p.user_name for p in await repo.participants(tx, incident_id=first)] == ["bob"]
        [task] = await repo.tasks(tx, incident_id=first)
        assert (task.number, task.text, task.done, task.created_at) == (
            1,
            "Roll back cart",
            True,
            T0,
        )
        entries = await repo.timeline(tx, incident_id=first)
        assert [(e.kind, e.text, e.data) for e in entries] == [
            ("declared", "Checkout", {"severity": "SEV2", "private": False, "impact": None}),
            ("chat", "Carts are empty — rolling back ✅", {"thread": ["a", 1, {"x": 1.5}]}),
        ]
        assert entries[1].at == T0 + timedelta(minutes=5)
        items = {(d.incident_id, d.kind): d for d in (await tx.exec(select(DueItem))).all()}
        assert items[(first, "update")].due_at == T0 + timedelta(minutes=30)
        assert (items[(first, "update")].fired_count, items[(second, "checklist")].cursor) == (2, 7)
        drafts = {p.incident_id: p for p in (await tx.exec(select(Postmortem))).all()}
        assert drafts[first].markdown == DRAFT and drafts[first].revision == 3
        assert drafts[second].content == LONG_DRAFT
        assert await repo.claim_and_locate(tx, key="slack:Ev1", at=T0, channel_id="C101") == (
            False,
            None,
        )

    # Head works on the migrated rows: new rows get fresh ids and numbers after them.
    async with db.transaction() as tx:
        assert await repo.next_incident_number(tx) == 3
        repo.add_timeline(tx, incident_id=second, at=T0, kind="note", data={"k": "v"})
        tx.add(
            AlertRecord(
                source="am",
                key="fp",
                incident_id=second,
                status="firing",
                first_seen=T0,
                last_seen=T0,
                last_change=T0,
                labels={"alertname": "LoginDown"},
            )
        )
    async with db.reader() as tx:
        old, alert = (await tx.exec(select(AlertRecord).order_by(col(AlertRecord.id)))).all()
        assert (old.key, old.labels, old.fire_count) == ("fp-old", {"alertname": "LoginDown"}, 3)
        assert old.links == [] and old.last_posted == T0  # 0006: no links, already posted
        assert alert.labels == {"alertname": "LoginDown"} and alert.links == []
        assert [e.kind for e in await repo.timeline(tx, incident_id=second)] == ["note"]


# --- the command line -------------------------------------------------------------------


async def warroom(tmp_path: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    """`warroom ARGS` as a subprocess on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(
        WARROOM_DATABASE_URL=db_url,
        WARROOM_PLAYBOOKS_DIR=str(PLAYBOOKS),
        WARROOM_POSTMORTEM_DIR=str(tmp_path / "postmortems"),
        WARROOM_LOG_LEVEL="WARNING",
        PYTHONIOENCODING="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_two_upgrades_started_together_both_end_at_head(db, db_url, tmp_path):
    """Replicas starting at once: one upgrades, the other waits for it and has nothing to do."""
    results = await asyncio.gather(*(warroom(tmp_path, db_url, "db", "upgrade") for _ in range(2)))
    for code, out, err in results:
        assert (code, out.strip()) == (0, f"database at revision {migrate.head_revision()}"), err
    async with db.engine.connect() as conn:
        stamps = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert stamps == [(migrate.head_revision(),)]


async def newer_schema(db: Database) -> None:
    await migrate.upgrade(db)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))


REFUSAL = (
    "the database is at schema revision 9999_from_the_future, which this warroom does not "
    "know; upgrade warroom before starting it"
)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"]], ids=["db-upgrade", "run"])
async def test_a_newer_schema_is_refused_and_left_alone(db, db_url, tmp_path, command):
    await newer_schema(db)
    code, _out, err = await warroom(tmp_path, db_url, *command)
    assert code == 1, err
    assert REFUSAL in err
    assert await migrate.current_revision(db) == "9999_from_the_future"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["db", "upgrade"], id="db-upgrade"),
        pytest.param(["run"], id="run"),
    ],
)
async def test_the_refusal_is_one_line_without_a_traceback(db, db_url, tmp_path, command):
    await newer_schema(db)
    code, _out, err = await warroom(tmp_path, db_url, *command)
    assert code == 1
    assert err.strip() == f"warroom: {REFUSAL}"
