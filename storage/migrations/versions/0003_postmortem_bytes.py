"""postmortem drafts stored as UTF-8 bytes

A long draft (tens of thousands of timeline entries) is compiled straight to UTF-8, so
the table keeps it as bytes and never needs it as one large string.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_table = sa.table(
    "postmortem",
    sa.column("incident_id", sa.Integer()),
    sa.column("markdown", sa.Text()),
    sa.column("content", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("postmortem") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    for incident_id, markdown in bind.execute(
        sa.select(_table.c.incident_id, _table.c.markdown)
    ).all():
        bind.execute(
            _table.update()
            .where(_table.c.incident_id == incident_id)
            .values(content=(markdown or "").encode("utf-8"))
        )
    with op.batch_alter_table("postmortem") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("markdown")


def downgrade() -> None:
    with op.batch_alter_table("postmortem") as batch:
        batch.add_column(sa.Column("markdown", sa.Text(), nullable=True))
    bind = op.get_bind()
    for incident_id, content in bind.execute(
        sa.select(_table.c.incident_id, _table.c.content)
    ).all():
        bind.execute(
            _table.update()
            .where(_table.c.incident_id == incident_id)
            .values(markdown=bytes(content).decode("utf-8"))
        )
    with op.batch_alter_table("postmortem") as batch:
        batch.alter_column("markdown", existing_type=sa.Text(), nullable=False)
        batch.drop_column("content")
