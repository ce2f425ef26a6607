"""The queue as a table: surveys from ``count_surveys``/``list_surveys``, a block at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlmodel import Session

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.paged_model import Column, PagedTableModel
from callexa_desktop.app.time_text import local_time, local_time_with_hint
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.queue import QueueRow, count_surveys, list_surveys
from callexa_desktop.core.survey_reasons import SurveyReason

DUE = "due"

# The status filter: label, and the value count_surveys/list_surveys take (None = all).
STATUS_FILTERS: tuple[tuple[str, str | None], ...] = (
    ("All surveys", None),
    ("Due now", DUE),
    ("Scheduled", SurveyStatus.SCHEDULED),
    ("Held", SurveyStatus.HELD),
    ("Sending", SurveyStatus.SENDING),
    ("Sent", SurveyStatus.SENT),
    ("Failed", SurveyStatus.FAILED),
    ("Cancelled", SurveyStatus.CANCELLED),
)

STATUS_WORDS = {
    SurveyStatus.SCHEDULED: "Scheduled",
    SurveyStatus.SENDING: "Sending",
    SurveyStatus.SENT: "Sent",
    SurveyStatus.FAILED: "Failed",
    SurveyStatus.CANCELLED: "Cancelled",
    SurveyStatus.HELD: "Held",
}

REASON_WORDS = {
    "scheduled": "New customer identified",
    SurveyReason.MONTHLY_BUDGET: "Waiting: this month's budget is used up",
    SurveyReason.HELD_BY_OPERATOR: "Held by you",
    SurveyReason.CANCELLED_BY_OPERATOR: "Cancelled by you",
    SurveyReason.RELEASED_BY_OPERATOR: "Released by you",
    SurveyReason.RESCHEDULED_BY_OPERATOR: "Rescheduled by you",
    SurveyReason.SEND_NOW_BY_OPERATOR: "Made due now by you",
    SurveyReason.REPLANNED: "Moved by a re-plan",
}


@dataclass(frozen=True)
class QueueQuery:
    """What the queue shows: a status (or "due", or None for all), a search text, an order."""

    status: str | None = None
    text: str = ""
    order_by: str = "send_at"
    descending: bool = False


class QueueModel(PagedTableModel[QueueQuery, QueueRow]):
    """Email, name, status, send at (local, with a hint), reason."""

    EMAIL, NAME, STATUS, SEND_AT, REASON = range(5)
    COLUMNS: ClassVar = (
        Column("Email", "email"),
        Column("Name", "name"),
        Column("Status", "status"),
        Column("Send at", "send_at"),
        Column("Reason"),
    )

    def __init__(self, context: AppContext, query: QueueQuery | None = None) -> None:
        super().__init__(context, query or QueueQuery())

    def count_rows(self, session: Session, query: QueueQuery) -> int:
        return count_surveys(
            session, status=query.status, text=query.text or None, now=self._context.now()
        )

    def fetch_rows(
        self, session: Session, query: QueueQuery, offset: int, limit: int, reverse: bool
    ) -> list[QueueRow]:
        return list_surveys(
            session,
            status=query.status,
            text=query.text or None,
            now=self._context.now(),
            order_by=query.order_by,
            descending=query.descending != reverse,
            offset=offset,
            limit=limit,
        )

    def display(self, row: QueueRow, column: int) -> Any:
        if column == self.EMAIL:
            return row.email
        if column == self.NAME:
            return row.name or ""
        if column == self.STATUS:
            return status_words(row, self._context.now())
        if column == self.SEND_AT:
            if row.status == SurveyStatus.SENT and row.sent_at is not None:
                return f"sent {local_time(row.sent_at)}"
            return local_time_with_hint(row.send_at, self._context.now())
        if column == self.REASON:
            return reason_words(row.reason)
        return None

    def sort_key(self, row: QueueRow, column: int) -> Any:
        if column == self.SEND_AT:
            return row.send_at
        return self.display(row, column)

    def tooltip(self, row: QueueRow, column: int) -> str | None:
        if row.last_error:
            return f"Last attempt failed: {row.last_error}"
        return None

    def apply_sort(self, order_by: str | None, descending: bool) -> None:
        super().apply_sort(order_by or "send_at", descending)


def status_words(row: QueueRow, now: Any) -> str:
    """ "Due" for a scheduled survey whose time has come, else the status in words."""
    if row.status == SurveyStatus.SCHEDULED and row.send_at <= now:
        return "Due"
    return STATUS_WORDS.get(row.status, row.status)


def reason_words(reason: str) -> str:
    """The survey's reason in plain words; unknown codes are shown without underscores."""
    if reason in REASON_WORDS:
        return REASON_WORDS[reason]
    if reason.startswith(SurveyReason.REPLAN_PREFIX):
        return "Cancelled by a re-plan: " + reason.removeprefix(SurveyReason.REPLAN_PREFIX).replace(
            "_", " "
        )
    return reason.replace("_", " ").capitalize()
