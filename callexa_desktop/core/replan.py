"""Re-plan: recompute waiting surveys after the delay rules changed.

Each scheduled survey (and each one held only by the monthly budget) is decided
again from the identify record that created it and the customer's last survey,
as if it were not queued yet: it keeps its time, moves to a new one, or is
cancelled because the new rules would skip it. Surveys the operator held,
rescheduled or sent now are left alone, and so is anything being sent.

``plan_replan`` only reads and returns a preview; ``apply_replan`` writes it,
changing a survey only if it is still exactly as the preview saw it. Surveys are
streamed and the preview is stored compactly, so a million surveys fit in tens
of megabytes.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from sqlalchemy import and_, bindparam, func, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from callexa_desktop.core.decision import CustomerState, Outcome, Rules, decide
from callexa_desktop.core.models import Customer, IdentifyEvent, Survey, SurveyStatus
from callexa_desktop.core.settings import Settings
from callexa_desktop.core.survey_reasons import SurveyReason

# The states a re-plan looks at; held ones only when the budget (not the operator) held them.
_REPLANNED_STATES = (SurveyStatus.SCHEDULED, SurveyStatus.HELD)
_STREAM_CHUNK = 2000
_WRITE_CHUNK = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_TIME = -(2**63)  # stands for "no new time" (the survey is cancelled)


@dataclass(frozen=True, slots=True)
class ReplanChange:
    """What a re-plan would do to one survey."""

    survey_id: int
    email: str
    old_send_at: datetime
    new_send_at: datetime | None  # None when the survey is cancelled
    new_status: str  # scheduled or cancelled
    reason: str  # "replanned", or "replan_<outcome>" for a cancellation
    old_status: str = SurveyStatus.SCHEDULED

    @property
    def cancels(self) -> bool:
        return self.new_status == SurveyStatus.CANCELLED


class ReplanChanges(Sequence[ReplanChange]):
    """The changes of a plan, packed into arrays (about 40 bytes each, not ~300 as objects)."""

    def __init__(self) -> None:
        self._ids = array("q")
        self._old = array("q")
        self._new = array("q")
        self._old_status = bytearray()
        self._outcome = bytearray()
        self._emails = bytearray()
        self._email_ends = array("Q")

    def append(
        self,
        survey_id: int,
        email: str,
        old_send_at: datetime,
        old_status: str,
        outcome: str,
        new_send_at: datetime | None,
    ) -> None:
        self._ids.append(survey_id)
        self._old.append(_micros(old_send_at))
        self._new.append(_NO_TIME if new_send_at is None else _micros(new_send_at))
        self._old_status.append(_REPLANNED_STATES.index(old_status))
        self._outcome.append(Outcome.ALL.index(outcome))
        self._emails.extend(email.encode("utf-8"))
        self._email_ends.append(len(self._emails))

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> ReplanChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[ReplanChange]: ...

    def __getitem__(self, index: int | slice) -> ReplanChange | list[ReplanChange]:
        if isinstance(index, slice):
            return [self._change(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("re-plan change index out of range")
        return self._change(index)

    def __iter__(self) -> Iterator[ReplanChange]:
        for i in range(len(self)):
            yield self._change(i)

    def _change(self, i: int) -> ReplanChange:
        start = self._email_ends[i - 1] if i else 0
        outcome = Outcome.ALL[self._outcome[i]]
        scheduled = outcome == Outcome.SCHEDULED
        return ReplanChange(
            survey_id=self._ids[i],
            email=self._emails[start : self._email_ends[i]].decode("utf-8"),
            old_send_at=_from_micros(self._old[i]),
            new_send_at=_from_micros(self._new[i]) if scheduled else None,
            new_status=SurveyStatus.SCHEDULED if scheduled else SurveyStatus.CANCELLED,
            reason=SurveyReason.REPLANNED if scheduled else SurveyReason.REPLAN_PREFIX + outcome,
            old_status=_REPLANNED_STATES[self._old_status[i]],
        )


@dataclass
class ReplanPlan:
    """A preview of a re-plan: what would change, and how many surveys were looked at."""

    rules: Rules
    now: datetime
    checked: int = 0  # scheduled or budget-held surveys looked at
    kept: int = 0  # left alone because the operator held, rescheduled or sent them now
    unplannable: int = 0  # no identify record to decide from (left alone)
    changes: ReplanChanges = field(default_factory=ReplanChanges)
    moved: int = 0
    becoming_due: int = 0  # moved surveys whose new time is already past at ``now``
    cancelled: Counter[str] = field(default_factory=Counter)  # by decision outcome

    @property
    def unchanged(self) -> int:
        return self.checked - self.kept - self.unplannable - len(self.changes)

    def in_words(self) -> str:
        """One sentence for the operator describing the preview."""
        if not self.checked:
            return "No surveys are waiting to be sent, so there is nothing to re-plan."
        if not self.changes:
            return f"Nothing to change among the {_surveys(self.checked)} waiting to be sent."
        parts = []
        if self.moved:
            due = f" ({self.becoming_due} due at once)" if self.becoming_due else ""
            parts.append(
                f"{_surveys(self.moved)} {_verb(self.moved, 'moves', 'move')} to a new time{due}"
            )
        cancelled = sum(self.cancelled.values())
        if cancelled:
            why = {
                Outcome.SKIPPED_TOO_OLD: "the customer is now too old",
                Outcome.SKIPPED_INTERVAL: "the customer was surveyed too recently",
            }
            reasons = ", ".join(
                f"{count} because {why.get(outcome, outcome)}"
                for outcome, count in sorted(self.cancelled.items(), key=lambda item: -item[1])
            )
            parts.append(
                f"{_surveys(cancelled)} {_verb(cancelled, 'is', 'are')} cancelled ({reasons})"
            )
        if self.kept:
            parts.append(
                f"{_surveys(self.kept)} held or timed by you {_verb(self.kept, 'stays', 'stay')}"
                " as they are"
            )
        return "; ".join(parts) + "."


def plan_replan(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ReplanPlan:
    """Preview re-deciding every waiting survey under ``settings``; writes nothing.

    Changes are listed budget-held surveys first, then scheduled ones, each by send time.

    ``progress(done, total)`` is called every couple of thousand surveys.
    """
    rules = Rules.from_settings(settings)
    plan = ReplanPlan(rules=rules, now=now)
    candidates = col(Survey.status).in_(_REPLANNED_STATES)
    total = int(session.exec(select(func.count()).select_from(Survey).where(candidates)).one())
    columns: list[Any] = [
        Survey.id,
        Survey.status,
        Survey.send_at,
        Survey.reason,
        Customer.email,
        Customer.last_surveyed_at,
        IdentifyEvent.event_at,
        IdentifyEvent.created_at,
        Survey.identify_id,
    ]
    query: Any = (
        select_columns(*columns)
        .join(Customer, col(Customer.id) == col(Survey.customer_id))
        .outerjoin(IdentifyEvent, col(IdentifyEvent.id) == col(Survey.identify_id))
        .where(candidates)
        # The (status, send_at) index order: no sort of the whole queue is needed.
        .order_by(col(Survey.status), col(Survey.send_at), col(Survey.id))
    )
    session.flush()
    # Plain rows through the connection: the ORM's per-row work would double the time.
    for row in session.connection().execute(query.execution_options(yield_per=_STREAM_CHUNK)):
        survey_id, status, send_at, reason, email, last_surveyed, event_at, created_at, ident = row
        plan.checked += 1
        if progress is not None and plan.checked % _STREAM_CHUNK == 0:
            progress(plan.checked, total)
        if reason in SurveyReason.KEPT_BY_REPLAN:
            plan.kept += 1
            continue
        if ident is None or event_at is None:
            plan.unplannable += 1
            continue
        # Decided as if it were not queued yet: the survey itself is the pending one.
        state = CustomerState(has_pending_survey=False, last_surveyed_at=last_surveyed)
        decision = decide(rules, state, event_at, created_at)
        if decision.outcome == Outcome.SCHEDULED:
            if decision.send_at == send_at:
                continue
            plan.moved += 1
            assert decision.send_at is not None
            if decision.send_at <= now:
                plan.becoming_due += 1
        else:
            plan.cancelled[decision.outcome] += 1
        plan.changes.append(survey_id, email, send_at, status, decision.outcome, decision.send_at)
    if progress is not None:
        progress(plan.checked, total)
    return plan


def apply_replan(session: Session, plan: ReplanPlan) -> int:
    """Write ``plan``'s changes; returns how many surveys changed.

    A survey changed since the preview (sent, held, rescheduled, cancelled, moved) is
    skipped, so applying an old preview never undoes later work. Caller commits.
    """
    table = Survey.metadata.tables["survey"]
    still_as_seen = (
        (table.c.id == bindparam("b_id"))
        & (table.c.status == bindparam("b_old_status"))
        & (table.c.send_at == bindparam("b_old_send_at"))
        # Spelled out rather than NOT IN, which cannot be used with executemany.
        & and_(*(table.c.reason != kept for kept in SurveyReason.KEPT_BY_REPLAN))
    )
    move = (
        update(table)
        .where(still_as_seen)
        .values(
            status=SurveyStatus.SCHEDULED,
            send_at=bindparam("b_new_send_at"),
            reason=SurveyReason.REPLANNED,
            next_attempt_at=None,
        )
    )
    cancel = (
        update(table)
        .where(still_as_seen)
        .values(status=SurveyStatus.CANCELLED, reason=bindparam("b_reason"), next_attempt_at=None)
    )
    connection = session.connection()
    changed = 0
    for start in range(0, len(plan.changes), _WRITE_CHUNK):
        moves: list[dict[str, Any]] = []
        cancels: list[dict[str, Any]] = []
        for change in plan.changes[start : start + _WRITE_CHUNK]:
            seen = {
                "b_id": change.survey_id,
                "b_old_status": change.old_status,
                "b_old_send_at": change.old_send_at,
            }
            if change.cancels:
                cancels.append({**seen, "b_reason": change.reason})
            else:
                moves.append({**seen, "b_new_send_at": change.new_send_at})
        if moves:
            changed += connection.execute(move, moves).rowcount
        if cancels:
            changed += connection.execute(cancel, cancels).rowcount
    return changed


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _verb(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _surveys(count: int) -> str:
    return f"{count} survey" if count == 1 else f"{count} surveys"
