"""The database tables. Every datetime column holds timezone-aware UTC.

Schema changes go through an Alembic migration in ``core/migrations/versions``;
``tests/core/test_migrations.py`` checks the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, TypeDecorator, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without an offset (SQLite has no zone type) and gives back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw text written by a bulk path
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class SurveyStatus:
    """Survey states. ``due`` is derived: scheduled and send_at <= now."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"

    ALL = (SCHEDULED, SENDING, SENT, FAILED, CANCELLED, HELD)
    # A customer with a survey in one of these states has one "pending".
    PENDING = (SCHEDULED, SENDING, HELD)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    user_id: str | None = None
    anonymous_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    gender: str | None = None
    created_at: datetime | None = utc_column()
    first_seen_at: datetime | None = utc_column()
    last_identified_at: datetime | None = utc_column()
    last_decision: str | None = None
    # Denormalised from surveys and responses so the customers list stays fast.
    last_surveyed_at: datetime | None = utc_column()
    nps_rating: int | None = None
    nps_comment: str | None = None
    nps_date: datetime | None = utc_column()


class IdentifyEvent(SQLModel, table=True):
    """One accepted identify record: the intake log and each customer's history."""

    __tablename__ = "identify_event"

    id: int | None = Field(default=None, primary_key=True)
    # messageId, or "sha256:<hex>" of the canonical record when there is none.
    message_key: str = Field(unique=True)
    email: str = Field(index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    event_at: datetime = utc_column(nullable=False)
    created_at: datetime | None = utc_column()
    user_id: str | None = None
    anonymous_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    gender: str | None = None
    source: str = ""
    line: int | None = None
    run_id: int | None = Field(default=None, foreign_key="activity_run.id")
    decision: str | None = None
    survey_id: int | None = None


class Survey(SQLModel, table=True):
    __table_args__ = (Index("ix_survey_status_send_at", "status", "send_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Stable per survey; the idempotency key of every send attempt derives from it.
    key: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    status: str = SurveyStatus.SCHEDULED
    send_at: datetime = utc_column(nullable=False, index=True)
    reason: str = ""
    planned_at: datetime = utc_column(nullable=False)
    identify_id: int | None = Field(default=None, foreign_key="identify_event.id")
    sent_at: datetime | None = utc_column()
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    last_error: str | None = None
    callexa_id: str | None = None


class Response(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Callexa's response id, or a hash of (email, rating, answered_at) for file imports.
    dedupe_key: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    survey_id: int | None = Field(default=None, foreign_key="survey.id")
    rating: int
    comment: str = ""
    answered_at: datetime = utc_column(nullable=False, index=True)
    sent_at: datetime | None = utc_column()
    source: str = ""
    received_at: datetime = utc_column(nullable=False)
    # The operator's follow-up: None (nothing to do), "open" (to do) or "done"; see core/review.
    follow_up: str | None = Field(default=None, index=True)
    follow_up_note: str = Field(default="", sa_column_kwargs={"server_default": ""})
    follow_up_changed_at: datetime | None = utc_column()


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class ActivityRun(SQLModel, table=True):
    """One import, send, sync or responses run, for the Activity history."""

    __tablename__ = "activity_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # import | send | sync | responses | poll
    started_at: datetime = utc_column(nullable=False, index=True)
    finished_at: datetime | None = utc_column()
    status: str = "running"  # running | ok | failed | cancelled
    source: str = ""
    summary: str = "{}"  # JSON object of counts
    message: str = ""


class Rejection(SQLModel, table=True):
    """A record an import refused, with where it was and why."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="activity_run.id", index=True)
    source: str
    line: int | None = None
    reason: str
    detail: str = ""


class Cursor(SQLModel, table=True):
    """A remembered position: responses pull cursor, poll ETag, a watched file's size."""

    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = utc_column(nullable=False)


class SyncOutbox(SQLModel, table=True):
    """Per customer, the latest response still to be delivered to Segment (or delivered)."""

    __tablename__ = "sync_outbox"
    # Only pending rows are indexed (a sync reads them by customer): marking a row delivered
    # then removes it from a small index instead of moving it within one over every row.
    __table_args__ = (
        Index(
            "ix_sync_outbox_pending",
            "customer_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    response_id: int = Field(foreign_key="response.id")
    # Deterministic per (customer, response): every retry and re-run carries the same one.
    message_id: str = Field(unique=True)
    status: str = Field(default="pending")  # pending | delivered | rejected
    attempts: int = 0
    last_error: str | None = None
    queued_at: datetime = utc_column(nullable=False)
    delivered_at: datetime | None = utc_column()
