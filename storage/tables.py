"""SQLModel tables. The database is the source of truth for every incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utc(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    title: str
    summary: str = ""
    severity: str
    status: str = Field(default="investigating", index=True)
    playbook: str
    impact: str | None = None
    urgency: str | None = None
    private: bool = False
    drill: bool = False
    platform: str = ""
    declared_by_id: str
    declared_by_name: str = ""
    origin_channel_id: str = ""
    channel_id: str | None = Field(default=None, unique=True)
    channel_name: str | None = None  # with channel_id NULL: the name being created
    # When a process took the job of opening the channel (declare, or recovery after a
    # crash); another process may take it over only once this lease has run out.
    setup_started_at: datetime | None = _utc(index=True)
    card_message_id: str | None = None
    announce_channel_id: str | None = None
    announce_message_id: str | None = None
    latest_update: str = ""
    last_update_at: datetime | None = _utc()
    declared_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    identified_at: datetime | None = _utc()
    monitoring_at: datetime | None = _utc()
    resolved_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("incident_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    role: str
    user_id: str
    user_name: str = ""
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Participant(SQLModel, table=True):
    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    user_id: str
    user_name: str = ""
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Task(SQLModel, table=True):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    number: int
    text: str
    owner_id: str | None = None
    owner_name: str = ""
    done: bool = False
    created_by_id: str = ""
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    done_at: datetime | None = _utc()


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"
    __table_args__ = (
        Index("ix_timeline_incident_at", "incident_id", "at"),
        Index("ix_timeline_message", "incident_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str
    actor_id: str = ""
    actor_name: str = ""
    text: str = ""
    message_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProcessedEvent(SQLModel, table=True):
    """Idempotency keys of handled inbound events: a redelivery changes nothing."""

    __tablename__ = "processed_event"

    key: str = Field(primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DueItem(SQLModel, table=True):
    """Work that falls due: an update reminder, a summary, a checklist step.

    `due_at` NULL means nothing is pending. Firing claims the item with a conditional
    UPDATE on (`id`, `due_at`), so two processes never both fire the same due time.
    """

    __tablename__ = "due_item"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    kind: str
    ref: str = ""
    due_at: datetime | None = _utc(index=True)
    fired_count: int = 0
    last_fired_at: datetime | None = _utc()
    cursor: int = 0  # summaries: the last timeline entry id already summarised


class Postmortem(SQLModel, table=True):
    """The latest postmortem draft of an incident."""

    __tablename__ = "postmortem"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    # UTF-8 bytes: a long draft is never held as one big Python string.
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    generated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revision: int = 1

    @property
    def markdown(self) -> str:
        return self.content.decode("utf-8")


class AlertRecord(SQLModel, table=True):
    """One alert (by source and dedup key) and the incident it belongs to.

    The unique (source, key) pair is what keeps two racing deliveries of a new alert
    from opening two incidents: the second insert fails and that delivery is retried,
    and then finds the first one's incident.
    """

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("source", "key"),
        Index("ix_alert_group", "source", "group_key"),
        Index("ix_alert_incident", "incident_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    key: str
    group_key: str = ""
    incident_id: int = Field(foreign_key="incident.id")
    status: str  # firing | resolved
    title: str = ""
    severity: str = ""
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # [{"label": ..., "url": ...}]: what its message shows, if it is posted later
    links: list[dict[str, str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=sql_text("'[]'")),
    )
    fire_count: int = 1
    flaps: int = 0
    first_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_change: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_posted: datetime | None = _utc()  # NULL: joined before its incident had a channel
