"""Follow-ups on responses: state, note and when it last changed.

Every detractor (rating 0-6) already stored becomes a follow-up to do ("open").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import callexa_desktop.core.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table copy): SQLite can add nullable or defaulted columns in place.
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follow_up", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "follow_up_note",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "follow_up_changed_at", callexa_desktop.core.models.UTCDateTime(), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_response_follow_up"), ["follow_up"], unique=False)
    op.execute("UPDATE response SET follow_up = 'open' WHERE rating <= 6")


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_follow_up"))
        batch_op.drop_column("follow_up_changed_at")
        batch_op.drop_column("follow_up_note")
        batch_op.drop_column("follow_up")
