"""The state side of sending surveys: which are due, the monthly budget, and every
transition ``scheduled → sending → sent | failed`` — database only, no HTTP.

``services/sending.py`` drives these functions around the Callexa calls. Each
function changes rows in the session it is given; the caller commits (the sender
commits ``sending`` before it makes the HTTP call, so a crash leaves a trace that
``plan_run`` recovers at the next start).

The monthly budget counts surveys with status ``sent`` whose ``sent_at`` lies in the
current calendar month in UTC (from the 1st, 00:00 UTC). ``monthly_budget`` 0 means
no limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, or_, select

from callexa_desktop.core.clock import as_utc
from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.settings import Settings
from callexa_desktop.core.survey_reasons import SurveyReason

# Reasons the sender writes into Survey.reason.
BUDGET_RENEWED = "budget_renewed"  # released from a monthly_budget hold
ALREADY_SURVEYED = "already_surveyed"  # Callexa answered 409; counted as sent
INVALID_RECIPIENT = "invalid_recipient"  # Callexa answered 422

# A survey that failed transiently waits this long before the next run retries it,
# doubling per failed run up to the cap.
FIRST_RETRY_DELAY = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=6)

_CHUNK = 500  # ids per IN (...) clause; SQLite allows far more, but keep statements small


@dataclass(frozen=True)
class SurveyToSend:
    """What the sender needs to send one survey."""

    id: int
    key: str
    customer_id: int
    email: str
    name: str | None
    first_name: str | None
    last_name: str | None
    user_id: str | None
    send_at: datetime
    attempts: int


@dataclass
class RunPlan:
    """What a send run at ``now`` will do before any HTTP call.

    ``send_ids``: due surveys within the budget and ready to try, oldest first.
    ``hold_ids``: due surveys beyond the budget, to become held (``monthly_budget``).
    ``recover_ids``: surveys left in ``sending`` by an interrupted run.
    ``release_ids``: budget holds going back to ``scheduled`` (budget left again).
    ``waiting``: due, within the budget, but waiting for ``next_attempt_at``.
    """

    now: datetime
    budget: int | None
    sent_this_month: int
    send_ids: list[int] = field(default_factory=list)
    hold_ids: list[int] = field(default_factory=list)
    recover_ids: list[int] = field(default_factory=list)
    release_ids: list[int] = field(default_factory=list)
    waiting: int = 0

    @property
    def budget_remaining(self) -> int | None:
        """Surveys that may still be sent this month before this run (None = no limit)."""
        if self.budget is None:
            return None
        return max(0, self.budget - self.sent_this_month)


# -- the budget -----------------------------------------------------------------------------


def month_start(now: datetime) -> datetime:
    """The first moment of ``now``'s calendar month, in UTC."""
    return as_utc(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def sent_this_month(session: Session, now: datetime) -> int:
    """How many surveys were sent in ``now``'s calendar month (UTC)."""
    query = (
        select(func.count())
        .select_from(Survey)
        .where(
            col(Survey.status) == SurveyStatus.SENT,
            col(Survey.sent_at) >= month_start(now),
        )
    )
    return int(session.exec(query).one())


def budget_remaining(session: Session, settings: Settings, now: datetime) -> int | None:
    """Surveys that may still be sent this month; None when there is no budget."""
    if settings.monthly_budget <= 0:
        return None
    return max(0, settings.monthly_budget - sent_this_month(session, now))


# -- planning a run -------------------------------------------------------------------------


def ready_count(session: Session, now: datetime) -> int:
    """How many surveys a send run at ``now`` would try, before the budget: due and not
    waiting for a retry time, plus any left in ``sending``. (The queue's "due" also counts
    those waiting for a retry.)"""
    now = as_utc(now)
    query = (
        select(func.count())
        .select_from(Survey)
        .where(
            or_(
                (col(Survey.status) == SurveyStatus.SCHEDULED)
                & or_(col(Survey.next_attempt_at).is_(None), col(Survey.next_attempt_at) <= now),
                col(Survey.status) == SurveyStatus.SENDING,
            ),
            col(Survey.send_at) <= now,
        )
    )
    return int(session.exec(query).one())


def plan_run(session: Session, settings: Settings, now: datetime) -> RunPlan:
    """Work out, without changing anything, what a send run at ``now`` does first.

    Candidates are the due surveys — scheduled (or left ``sending``, or held by the
    budget) with ``send_at <= now`` — oldest ``send_at`` first. The first ones up to the
    budget left stay scheduled (the ready ones are sent); the rest are held.
    """
    now = as_utc(now)
    budget = settings.monthly_budget if settings.monthly_budget > 0 else None
    plan = RunPlan(now=now, budget=budget, sent_this_month=sent_this_month(session, now))
    remaining = plan.budget_remaining
    held_by_budget = (col(Survey.status) == SurveyStatus.HELD) & (
        col(Survey.reason) == SurveyReason.MONTHLY_BUDGET
    )
    query = (
        select(Survey.id, Survey.status, Survey.next_attempt_at)
        .where(
            or_(
                col(Survey.status).in_((SurveyStatus.SCHEDULED, SurveyStatus.SENDING)),
                held_by_budget,
            ),
            col(Survey.send_at) <= now,
        )
        .order_by(col(Survey.send_at), col(Survey.id))
    )
    kept = 0
    for survey_id, status, next_attempt_at in session.exec(query):
        assert survey_id is not None
        within_budget = remaining is None or kept < remaining
        if status == SurveyStatus.SENDING:
            plan.recover_ids.append(survey_id)
        if within_budget:
            kept += 1
            if status == SurveyStatus.HELD:
                plan.release_ids.append(survey_id)
            if status == SurveyStatus.SENDING or next_attempt_at is None or next_attempt_at <= now:
                plan.send_ids.append(survey_id)
            else:
                plan.waiting += 1
        elif status != SurveyStatus.HELD:
            plan.hold_ids.append(survey_id)
    return plan


def apply_plan(session: Session, plan: RunPlan) -> None:
    """Write the plan's state changes: recover, release and hold. Caller commits."""
    _set_many(session, plan.recover_ids, status=SurveyStatus.SCHEDULED)
    _set_many(session, plan.release_ids, status=SurveyStatus.SCHEDULED, reason=BUDGET_RENEWED)
    hold_for_budget(session, plan.hold_ids)


def hold_for_budget(session: Session, survey_ids: Sequence[int]) -> int:
    """Hold these surveys (those still scheduled or sending) because of the monthly budget."""
    return _set_many(
        session,
        survey_ids,
        status=SurveyStatus.HELD,
        reason=SurveyReason.MONTHLY_BUDGET,
        only_from=(SurveyStatus.SCHEDULED, SurveyStatus.SENDING),
    )


# -- one survey's transitions ---------------------------------------------------------------


def claim(session: Session, survey_id: int) -> SurveyToSend | None:
    """Move one scheduled survey to ``sending`` (one more attempt) and return what is needed
    to send it; None when it is no longer scheduled (changed meanwhile). Caller commits
    before sending."""
    # One conditional UPDATE: another run (or the operator) may have changed it meanwhile.
    claimed = session.exec(
        update(Survey)
        .where(col(Survey.id) == survey_id, col(Survey.status) == SurveyStatus.SCHEDULED)
        .values(status=SurveyStatus.SENDING, attempts=col(Survey.attempts) + 1)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(claimed) != 1:
        return None
    survey, customer = session.exec(
        select(Survey, Customer)
        .join(Customer, col(Customer.id) == col(Survey.customer_id))
        .where(col(Survey.id) == survey_id)
        .execution_options(populate_existing=True)
    ).one()
    assert survey.id is not None
    return SurveyToSend(
        id=survey.id,
        key=survey.key,
        customer_id=survey.customer_id,
        email=customer.email,
        name=customer.name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        user_id=customer.user_id,
        send_at=survey.send_at,
        attempts=survey.attempts,
    )


def mark_sent(
    session: Session,
    survey_id: int,
    *,
    sent_at: datetime,
    callexa_id: str | None,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    """Record a survey as sent at ``sent_at``; the customer's ``last_surveyed_at`` moves to
    it if later (the interval rule reads it). ``note`` is kept in ``last_error`` (e.g. the
    409 sentence)."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        return
    sent_at = as_utc(sent_at)
    survey.status = SurveyStatus.SENT
    survey.sent_at = sent_at
    survey.callexa_id = callexa_id
    survey.next_attempt_at = None
    survey.last_error = note
    if reason is not None:
        survey.reason = reason
    session.add(survey)
    customer = session.get(Customer, survey.customer_id)
    if customer is not None and (
        customer.last_surveyed_at is None or customer.last_surveyed_at < sent_at
    ):
        customer.last_surveyed_at = sent_at
        session.add(customer)


def mark_failed(session: Session, survey_id: int, *, reason: str, message: str) -> None:
    """Record a permanent failure: status ``failed``, never retried automatically."""
    _set_many(
        session,
        [survey_id],
        status=SurveyStatus.FAILED,
        reason=reason,
        last_error=message,
        next_attempt_at=None,
    )


def retry_later(session: Session, survey_id: int, *, now: datetime, message: str) -> datetime:
    """Put a transiently failed survey back to ``scheduled`` with ``next_attempt_at`` set
    (5 minutes, doubling per failed run, at most 6 hours); returns that time."""
    survey = session.get(Survey, survey_id)
    runs = max(1, survey.attempts if survey is not None else 1)
    delay = min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * (2 ** min(runs - 1, 16)))
    when = as_utc(now) + delay
    _set_many(
        session,
        [survey_id],
        status=SurveyStatus.SCHEDULED,
        last_error=message,
        next_attempt_at=when,
    )
    return when


def put_back(session: Session, survey_id: int, *, message: str | None = None) -> None:
    """Return a survey from ``sending`` to ``scheduled`` untouched otherwise — the attempt
    did not count (e.g. the key was refused, so nothing about this survey is known)."""
    values: dict[str, Any] = {"status": SurveyStatus.SCHEDULED}
    if message is not None:
        values["last_error"] = message
    survey = session.get(Survey, survey_id)
    if survey is not None and survey.attempts > 0:
        values["attempts"] = survey.attempts - 1
    _set_many(session, [survey_id], only_from=(SurveyStatus.SENDING,), **values)


# -- helpers --------------------------------------------------------------------------------


def _set_many(
    session: Session,
    survey_ids: Sequence[int],
    *,
    only_from: Sequence[str] | None = None,
    **values: Any,
) -> int:
    changed = 0
    ids = list(survey_ids)
    for start in range(0, len(ids), _CHUNK):
        statement = update(Survey).where(col(Survey.id).in_(ids[start : start + _CHUNK]))
        if only_from is not None:
            statement = statement.where(col(Survey.status).in_(only_from))
        statement = statement.values(**values).execution_options(synchronize_session=False)
        changed += _rowcount(session.exec(statement))
    return changed


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
