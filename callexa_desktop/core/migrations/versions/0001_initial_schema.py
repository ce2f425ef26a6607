"""Initial schema: customers, identify intake, surveys, responses, settings, activity.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import callexa_desktop.core.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activity_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_run_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_activity_run_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("anonymous_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gender", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("first_seen_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("last_identified_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("last_decision", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_surveyed_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("nps_rating", sa.Integer(), nullable=True),
        sa.Column("nps_comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("nps_date", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_email"), ["email"], unique=True)

    op.create_table(
        "setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "identify_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("event_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("anonymous_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gender", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["activity_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    with op.batch_alter_table("identify_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identify_event_email"), ["email"], unique=False)

    op.create_table(
        "rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["activity_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rejection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejection_run_id"), ["run_id"], unique=False)

    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("send_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("planned_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.Column("identify_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("callexa_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["identify_id"],
            ["identify_event.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_send_at"), ["send_at"], unique=False)
        batch_op.create_index("ix_survey_status_send_at", ["status", "send_at"], unique=False)

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answered_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", callexa_desktop.core.models.UTCDateTime(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", callexa_desktop.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_response_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_customer_id"))
        batch_op.drop_index(batch_op.f("ix_response_answered_at"))

    op.drop_table("response")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_status_send_at")
        batch_op.drop_index(batch_op.f("ix_survey_send_at"))
        batch_op.drop_index(batch_op.f("ix_survey_customer_id"))

    op.drop_table("survey")
    with op.batch_alter_table("rejection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejection_run_id"))

    op.drop_table("rejection")
    with op.batch_alter_table("identify_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identify_event_email"))

    op.drop_table("identify_event")
    op.drop_table("setting")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_email"))

    op.drop_table("customer")
    with op.batch_alter_table("activity_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_run_started_at"))
        batch_op.drop_index(batch_op.f("ix_activity_run_kind"))

    op.drop_table("activity_run")
