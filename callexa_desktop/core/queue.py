"""The survey queue: what is waiting, filtered and sorted, and what the operator may do to it.

Listing is built for a lazily-fetching table over a million surveys: a page is
found by walking an index for survey ids only, then just that page is read
with its customer. Operator actions are single conditional UPDATEs, so a
survey the sender has just picked up (``sending``) is never changed under it.
Re-planning after a settings change lives in ``core/replan.py`` and is
re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import Session, col, select

from callexa_desktop.core.clock import as_utc
from callexa_desktop.core.errors import ActionRefused
from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.replan import ReplanChange, ReplanPlan, apply_replan, plan_replan
from callexa_desktop.core.survey_reasons import SurveyReason

DUE = "due"
# Everything a status filter accepts: the stored states plus the derived "due".
STATUS_FILTERS = (*SurveyStatus.ALL, DUE)
SORT_KEYS = ("send_at", "email", "status", "name")

# Surveys changed per UPDATE statement; keeps far below every database's parameter limit.
_ID_CHUNK = 500
# Rows read per round trip when streaming.
_STREAM_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One survey as the queue shows it. Times are aware UTC."""

    id: int
    email: str
    name: str | None
    user_id: str | None
    status: str
    send_at: datetime
    reason: str
    customer_id: int
    sent_at: datetime | None
    last_error: str | None

    def is_due(self, now: datetime) -> bool:
        """Scheduled and its time has come."""
        return self.status == SurveyStatus.SCHEDULED and self.send_at <= now


# ---------------------------------------------------------------------------------------------
# Listing


def count_surveys(
    session: Session,
    *,
    status: str | None = None,
    text: str | None = None,
    now: datetime | None = None,
) -> int:
    """How many surveys match ``status`` (a SurveyStatus or ``"due"``, which needs ``now``)
    and ``text`` (part of the customer's email or name, any case)."""
    query = select(func.count()).select_from(Survey)
    for condition in _conditions(session, status, text, now):
        query = query.where(condition)
    return int(session.exec(query).one())


def due_count(session: Session, now: datetime) -> int:
    """How many surveys are due at ``now``: scheduled with send_at <= now."""
    return count_surveys(session, status=DUE, now=now)


def list_surveys(
    session: Session,
    *,
    status: str | None = None,
    text: str | None = None,
    now: datetime | None = None,
    order_by: str = "send_at",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[QueueRow]:
    """One page of the queue: rows ``offset`` to ``offset + limit`` (all after ``offset``
    when ``limit`` is None) of the surveys matching the filters, in ``order_by`` order
    (one of SORT_KEYS; ties broken by survey id so pages never overlap)."""
    ids = _page_ids(session, status, text, now, order_by, descending, max(offset, 0), limit)
    return surveys_by_id(session, ids)


def iter_surveys(
    session: Session,
    *,
    status: str | None = None,
    text: str | None = None,
    now: datetime | None = None,
    order_by: str = "send_at",
    descending: bool = False,
) -> Iterator[QueueRow]:
    """Every matching survey in order, read in chunks so memory stays flat (for the CLI)."""
    query = _row_query().order_by(*_ordering(order_by, descending))
    for condition in _conditions(session, status, text, now):
        query = query.where(condition)
    yield from map(_queue_row, stream_rows(session, query))


def stream_rows(session: Session, query: Any) -> Iterator[Any]:
    """The rows of a column ``query`` in chunks, through the session's connection.

    Plain column rows need none of the ORM's per-row work, which would triple the
    time of a million-row listing; pending changes are flushed first so they show.
    """
    session.flush()
    result = session.connection().execute(query.execution_options(yield_per=_STREAM_CHUNK))
    yield from result


def display_name() -> ColumnElement[Any]:
    """The customer's name as shown: ``name``, else "first last", else NULL (SQL expression)."""
    joined = func.trim(
        func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, "")
    )
    return func.coalesce(Customer.name, func.nullif(joined, ""))


def customer_text_condition(session: Session, text: str) -> ColumnElement[bool]:
    """Customers whose email or shown name contains ``text``, ignoring case.

    A substring cannot be looked up in an index, so this is one pass over the customers
    (about half a second at 800,000 of them); the status and time filters still use theirs.
    """
    needle = text.strip().lower()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # Emails are stored lower-cased, so a plain LIKE on them is already case-blind.
    email_match = col(Customer.email).like(pattern, escape="\\")
    name = display_name()
    # SQLite's LIKE already ignores case (ASCII, as lower() does there); lower() only costs time.
    if session.get_bind().dialect.name == "sqlite":
        name_match = name.like(pattern, escape="\\")
    else:
        name_match = name.ilike(pattern, escape="\\")
    return or_(email_match, name_match)


def _conditions(
    session: Session, status: str | None, text: str | None, now: datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if status == DUE:
        if now is None:
            raise ValueError("the 'due' filter needs the current time")
        # Both terms are served by the (status, send_at) index.
        conditions.append(col(Survey.status) == SurveyStatus.SCHEDULED)
        conditions.append(col(Survey.send_at) <= as_utc(now))
    elif status is not None:
        if status not in SurveyStatus.ALL:
            raise ValueError(f"unknown survey status {status!r}; use one of {STATUS_FILTERS}")
        conditions.append(col(Survey.status) == status)
    if text and text.strip():
        matching = select(Customer.id).where(customer_text_condition(session, text))
        conditions.append(col(Survey.customer_id).in_(matching))
    return conditions


def _ordering(order_by: str, descending: bool) -> list[UnaryExpression[Any]]:
    if order_by == "send_at":
        keys: list[Any] = [col(Survey.send_at)]
    elif order_by == "status":
        # status, then time: exactly the (status, send_at) index, so no sort is needed.
        keys = [col(Survey.status), col(Survey.send_at)]
    elif order_by == "email":
        keys = [col(Customer.email)]
    elif order_by == "name":
        keys = [display_name()]
    else:
        raise ValueError(f"cannot sort the queue by {order_by!r}; use one of {SORT_KEYS}")
    keys.append(col(Survey.id))
    return [key.desc() if descending else key.asc() for key in keys]


def _page_ids(
    session: Session,
    status: str | None,
    text: str | None,
    now: datetime | None,
    order_by: str,
    descending: bool,
    offset: int,
    limit: int | None,
) -> list[int]:
    ordering = _ordering(order_by, descending)  # validates order_by first
    conditions = _conditions(session, status, text, now)
    if limit is not None and limit <= 0:
        return []
    # Sorting by a customer column walks the whole join; a page past the middle is cheaper
    # to find from the other end, so the last page costs what the first one does.
    if order_by in ("email", "name") and limit is not None and offset > 0 and not text:
        total = count_surveys(session, status=status, now=now)
        if offset >= total:
            return []
        if offset * 2 > total:
            end = min(offset + limit, total)
            reverse = _ordering(order_by, not descending)
            ids = _ids_query(conditions, reverse, order_by, total - end, end - offset)
            return list(reversed(session.exec(ids).all()))
    return list(session.exec(_ids_query(conditions, ordering, order_by, offset, limit)).all())


def _ids_query(
    conditions: list[ColumnElement[bool]],
    ordering: list[UnaryExpression[Any]],
    order_by: str,
    offset: int,
    limit: int | None,
) -> Any:
    # Only ids: for send_at and status orders SQLite answers from a covering index.
    query = select(Survey.id)
    if order_by in ("email", "name"):
        query = query.join(Customer, col(Customer.id) == col(Survey.customer_id))
    for condition in conditions:
        query = query.where(condition)
    query = query.order_by(*ordering)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return query


def _row_query() -> Any:
    columns: list[Any] = [
        Survey.id,
        Customer.email,
        display_name(),
        Customer.user_id,
        Survey.status,
        Survey.send_at,
        Survey.reason,
        Survey.customer_id,
        Survey.sent_at,
        Survey.last_error,
    ]
    return select_columns(*columns).join(Customer, col(Customer.id) == col(Survey.customer_id))


def surveys_by_id(session: Session, ids: Sequence[int]) -> list[QueueRow]:
    """The surveys with ``ids`` as QueueRows, in the order of ``ids`` (missing ones left out)."""
    by_id: dict[int, QueueRow] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        for row in session.exec(_row_query().where(col(Survey.id).in_(chunk))):
            queue_row = _queue_row(row)
            by_id[queue_row.id] = queue_row
    # A survey deleted between the two reads is simply left out.
    return [by_id[survey_id] for survey_id in ids if survey_id in by_id]


def _queue_row(row: Any) -> QueueRow:
    survey_id, email, name, user_id, status, send_at, reason, customer_id, sent_at, error = row
    return QueueRow(
        id=survey_id,
        email=email,
        name=name,
        user_id=user_id,
        status=status,
        send_at=send_at,
        reason=reason,
        customer_id=customer_id,
        sent_at=sent_at,
        last_error=error,
    )


# ---------------------------------------------------------------------------------------------
# Operator actions


def cancel_surveys(session: Session, ids: Sequence[int], *, now: datetime | None = None) -> int:
    """Cancel the scheduled or held surveys among ``ids``; returns how many were cancelled.

    Others are skipped; ActionRefused (one sentence) when none could be. ``now`` is
    accepted for symmetry with ``send_now``: a cancellation does not depend on the time.
    """
    return _change(
        session,
        ids,
        _CANCEL,
        {"status": SurveyStatus.CANCELLED, "reason": SurveyReason.CANCELLED_BY_OPERATOR},
    )


def hold_surveys(session: Session, ids: Sequence[int]) -> int:
    """Hold the scheduled surveys among ``ids`` until the operator releases them.

    A survey held by the monthly budget becomes held by the operator too, so the
    sender's monthly release leaves it alone. Returns how many changed.
    """
    return _change(
        session,
        ids,
        _HOLD,
        {"status": SurveyStatus.HELD, "reason": SurveyReason.HELD_BY_OPERATOR},
    )


def release_surveys(session: Session, ids: Sequence[int]) -> int:
    """Put held surveys (by the operator or by the budget) back in the queue at their time."""
    return _change(
        session,
        ids,
        _RELEASE,
        {"status": SurveyStatus.SCHEDULED, "reason": SurveyReason.RELEASED_BY_OPERATOR},
    )


def reschedule_surveys(session: Session, ids: Sequence[int], send_at: datetime) -> int:
    """Move scheduled or held surveys to ``send_at`` (scheduled again).

    A time in the past simply makes them due now. A naive ``send_at`` is taken as UTC.
    """
    return _change(
        session,
        ids,
        _RESCHEDULE,
        {
            "status": SurveyStatus.SCHEDULED,
            "send_at": as_utc(send_at),
            "reason": SurveyReason.RESCHEDULED_BY_OPERATOR,
        },
    )


def send_now(session: Session, ids: Sequence[int], *, now: datetime) -> int:
    """Make scheduled or held surveys due at ``now``; the next send picks them up first."""
    return _change(
        session,
        ids,
        _SEND_NOW,
        {
            "status": SurveyStatus.SCHEDULED,
            "send_at": as_utc(now),
            "reason": SurveyReason.SEND_NOW_BY_OPERATOR,
        },
    )


@dataclass(frozen=True)
class _Action:
    verb: str  # "cancelled": "Survey 4 cannot be cancelled: ..."
    allowed: str  # the states it applies to, in words
    condition: ColumnElement[bool]


_MOVABLE = col(Survey.status).in_((SurveyStatus.SCHEDULED, SurveyStatus.HELD))
_CANCEL = _Action("cancelled", "scheduled or held", _MOVABLE)
_HOLD = _Action(
    "held",
    "scheduled (or held by the monthly budget)",
    or_(
        col(Survey.status) == SurveyStatus.SCHEDULED,
        and_(
            col(Survey.status) == SurveyStatus.HELD,
            col(Survey.reason) != SurveyReason.HELD_BY_OPERATOR,
        ),
    ),
)
_RELEASE = _Action("released", "held", col(Survey.status) == SurveyStatus.HELD)
_RESCHEDULE = _Action("rescheduled", "scheduled or held", _MOVABLE)
_SEND_NOW = _Action("sent now", "scheduled or held", _MOVABLE)


def _change(session: Session, ids: Sequence[int], action: _Action, values: dict[str, Any]) -> int:
    wanted = sorted({int(survey_id) for survey_id in ids})
    if not wanted:
        raise ActionRefused(f"No surveys were chosen, so none were {action.verb}.")
    # A retry time left by a failed attempt would otherwise override the new plan.
    values = {**values, "next_attempt_at": None}
    changed = 0
    for start in range(0, len(wanted), _ID_CHUNK):
        chunk = wanted[start : start + _ID_CHUNK]
        # One conditional UPDATE: a survey the sender took meanwhile no longer matches.
        statement = (
            update(Survey)
            .where(col(Survey.id).in_(chunk), action.condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += session.exec(statement).rowcount
    if changed == 0:
        raise ActionRefused(_refusal(session, wanted, action))
    return changed


def _refusal(session: Session, ids: list[int], action: _Action) -> str:
    states: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        query = select(Survey.id, Survey.status, Survey.reason).where(col(Survey.id).in_(chunk))
        for survey_id, status, reason in session.exec(query):
            states[int(survey_id or 0)] = (status, reason)
    if not states:
        listed = ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
        if len(ids) == 1:
            return f"There is no survey with id {listed}."
        return f"There are no surveys with ids {listed}."
    if len(ids) == 1:
        status, reason = states[ids[0]]
        return (
            f"Survey {ids[0]} cannot be {action.verb}: it is {_state_words(status, reason)}, "
            f"and only {action.allowed} surveys can be."
        )
    seen = sorted({_state_words(status, reason) for status, reason in states.values()})
    return (
        f"None of the {len(ids)} chosen surveys can be {action.verb}: only {action.allowed} "
        f"surveys can be, and these are {', '.join(seen)}"
        + (" or missing." if len(states) < len(ids) else ".")
    )


def _state_words(status: str, reason: str) -> str:
    if status == SurveyStatus.HELD:
        if reason == SurveyReason.HELD_BY_OPERATOR:
            return "already held by the operator"
        return "held by the monthly budget" if reason == SurveyReason.MONTHLY_BUDGET else "held"
    return {
        SurveyStatus.SCHEDULED: "already scheduled",
        SurveyStatus.SENDING: "being sent right now",
        SurveyStatus.SENT: "already sent",
        SurveyStatus.FAILED: "failed",
        SurveyStatus.CANCELLED: "cancelled",
    }.get(status, status)


__all__ = [
    "DUE",
    "SORT_KEYS",
    "STATUS_FILTERS",
    "QueueRow",
    "ReplanChange",
    "ReplanPlan",
    "SurveyReason",
    "apply_replan",
    "cancel_surveys",
    "count_surveys",
    "customer_text_condition",
    "display_name",
    "due_count",
    "hold_surveys",
    "iter_surveys",
    "list_surveys",
    "plan_replan",
    "release_surveys",
    "reschedule_surveys",
    "send_now",
    "stream_rows",
    "surveys_by_id",
]
