"""Sync outbox: index only the pending rows, by customer.

The index over every row's status made marking rows delivered move each one within a big
index; a partial index over the pending rows only loses them (20,000 rows marked delivered in
chunks of 2,500: 89 ms before, 67 ms after, medians of 3 on a shared machine), and still
serves a sync's reads of the pending rows by customer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out as in the model, so the index is the same whichever way it was created.
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # An index alone is dropped and created in place; batch mode copies no table for it.
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_status")
        batch_op.create_index(
            "ix_sync_outbox_pending",
            ["customer_id"],
            unique=False,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_pending")
        batch_op.create_index("ix_sync_outbox_status", ["status"], unique=False)
