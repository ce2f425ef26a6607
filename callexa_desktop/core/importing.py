"""Bringing identify records in: store them, then decide who is surveyed and when.

An import runs in two passes so that a file of any size keeps memory flat:

1. *reading*: each file is streamed and its accepted records are inserted into
   ``identify_event`` in batches, one transaction per file, so a file refused
   midway (or a cancel) leaves none of its rows behind. A record whose message
   key is already stored is a duplicate: the unique index ignores it and it is
   counted. Rejected records are stored in ``rejection`` as they stream.
2. *deciding*: every undecided record -- this import's, and any left by an import
   that was interrupted between the passes -- is read back in event-time order
   and decided with ``decision.decide`` in one transaction, chunk by chunk:
   customers are created or updated, surveys scheduled, each record marked with
   its decision and survey.

A process killed during pass 1 keeps the files it finished (undecided, picked up
by the next import); one killed during pass 2 keeps nothing of that pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.decision import CustomerState, Outcome, Rules, decide
from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.models import (
    Cursor,
    Customer,
    IdentifyEvent,
    Rejection,
    Survey,
    SurveyStatus,
)
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.records import IdentifyRecord, ReadItem, ReadNotice, RecordRejected

log = logging.getLogger(__name__)

# Rows per executemany in pass 1, and records per chunk in pass 2.
READ_BATCH = 5000
DECIDE_CHUNK = 5000
# Emails per IN (...) list, below every database's limit on bound parameters.
IN_LIST_SIZE = 900
PROGRESS_INTERVAL = 0.1  # seconds between progress reports
# The lowest identify_event id that may still be undecided; keeps pass 2 off old rows.
UNDECIDED_CURSOR = "import.undecided_from"
SURVEY_REASON = "scheduled"

EVENTS = IdentifyEvent.__table__  # type: ignore[attr-defined]
CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]
SURVEYS = Survey.__table__  # type: ignore[attr-defined]
REJECTIONS = Rejection.__table__  # type: ignore[attr-defined]
CURSORS = Cursor.__table__  # type: ignore[attr-defined]

# Per-connection scratch table: the ids of the records to decide, in decision order.
_SCRATCH = MetaData()
DECISION_ORDER = Table(
    "import_decision_order",
    _SCRATCH,
    Column("seq", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)

TRAITS = ("created_at", "user_id", "anonymous_id", "first_name", "last_name", "name", "gender")


@dataclass
class ImportProgress:
    """Where an import is, for a progress bar. ``phase`` is "reading" or "deciding"."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    records_read: int
    phase: str
    records_decided: int = 0
    records_to_decide: int = 0


@dataclass
class ImportSummary:
    """What an import did: counts, decisions per outcome, notices and refused files."""

    run_id: int
    files: list[str]
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Outcome.ALL, 0))
    notices: list[str] = field(default_factory=list)
    refused_files: list[tuple[str, str]] = field(default_factory=list)  # (file, sentence)
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (the ``import --json`` fields, without rejections)."""
        return {
            "run_id": self.run_id,
            "files": list(self.files),
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "decisions": dict(self.decisions),
            "notices": list(self.notices),
            "refused_files": [{"file": f, "message": m} for f, m in self.refused_files],
            "cancelled": self.cancelled,
        }


ProgressCallback = Callable[[ImportProgress], None]
CancelCheck = Callable[[], bool]


def import_files(
    profile: Profile,
    paths: Sequence[Path],
    *,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    kind: str = RunKind.IMPORT,
) -> ImportSummary:
    """Import identify files of any supported format and decide their records.

    A file that cannot be read at all is listed in ``refused_files`` and the
    others still import. Returns the summary; the run is in the Activity history.
    """
    from callexa_desktop.core.reading import read_identify_file

    files = [Path(p) for p in paths]
    job = _ImportJob(
        profile,
        kind=kind,
        names=[str(p) for p in files],
        source_text=", ".join(p.name for p in files),
        progress=progress,
        should_cancel=should_cancel,
        bytes_total=sum(_file_size(p) for p in files),
    )

    def opener(path: Path) -> Callable[[], Iterable[ReadItem]]:
        return lambda: read_identify_file(
            path, import_time=job.import_time, progress=job.on_file_bytes
        )

    return job.run([(str(p), opener(p)) for p in files])


def import_items(
    profile: Profile,
    items: Iterable[ReadItem],
    *,
    source: str,
    kind: str = RunKind.POLL,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> ImportSummary:
    """Import already-read items (a feed, a test) as one source named ``source``.

    ``items`` may raise ``UnreadableFile`` midway; that source is then refused
    and nothing of it is kept.
    """
    job = _ImportJob(
        profile,
        kind=kind,
        names=[source],
        source_text=source,
        progress=progress,
        should_cancel=should_cancel,
        bytes_total=0,
    )
    return job.run([(source, lambda: items)])


def iter_rejections(session: Session, run_id: int) -> Iterator[Rejection]:
    """The records an import rejected (file, line, reason, detail), in the order read."""
    query = (
        sqlmodel_select(Rejection)
        .where(Rejection.run_id == run_id)
        .order_by(col(Rejection.id))
        .execution_options(yield_per=1000)
    )
    yield from session.exec(query)


class _Cancelled(Exception):
    """Raised between batches when the operator asked to stop; rolls back the transaction."""


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _ImportJob:
    """One import: its run, its counts, its progress reports."""

    def __init__(
        self,
        profile: Profile,
        *,
        kind: str,
        names: list[str],
        source_text: str,
        progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
        bytes_total: int,
    ) -> None:
        self.profile = profile
        self.engine = profile.database.engine
        self.kind = kind
        self.names = names
        self.source_text = source_text
        self.import_time = profile.clock()
        self._progress = progress
        self._should_cancel = should_cancel
        self._last_report = 0.0
        self.files_done = 0
        self.bytes_total = bytes_total
        self.bytes_before = 0  # bytes of files already finished
        self.bytes_current = 0
        self.records_live = 0  # records read so far, including the current file's
        self.decided = 0
        self.to_decide = 0
        self.phase = "reading"
        self.summary = ImportSummary(run_id=0, files=list(names))

    # Running

    def run(self, sources: Sequence[tuple[str, Callable[[], Iterable[ReadItem]]]]) -> ImportSummary:
        clock = self.profile.clock
        run_id = start_run(self.profile.database, self.kind, source=self.source_text, clock=clock)
        self.summary.run_id = run_id
        try:
            for name, open_items in sources:
                if self.summary.cancelled:
                    break
                self._read_source(name, open_items)
                self.files_done += 1
                self.bytes_before += self.bytes_current
                self.bytes_current = 0
            if self.summary.cancelled:
                self._note_left_undecided()
            else:
                self._decide_all()
        except BaseException as error:
            finish_run(
                self.profile.database,
                run_id,
                status=RunStatus.FAILED,
                summary=self.summary.as_dict(),
                message=(
                    f"The import stopped because of an unexpected problem "
                    f"({type(error).__name__}); nothing half-decided was kept."
                ),
                clock=clock,
            )
            raise
        self._report(force=True)
        status, message = self._outcome()
        finish_run(
            self.profile.database,
            run_id,
            status=status,
            summary=self.summary.as_dict(),
            message=message,
            clock=clock,
        )
        return self.summary

    def _outcome(self) -> tuple[str, str]:
        summary = self.summary
        if summary.cancelled:
            return RunStatus.CANCELLED, "The import was cancelled."
        if summary.refused_files and len(summary.refused_files) == len(self.names):
            return RunStatus.FAILED, " ".join(sentence for _, sentence in summary.refused_files)
        scheduled = summary.decisions[Outcome.SCHEDULED]
        message = (
            f"{summary.accepted} new records, {summary.duplicates} duplicates, "
            f"{summary.rejected} rejected; {scheduled} surveys scheduled."
        )
        if summary.refused_files:
            message += f" {len(summary.refused_files)} file(s) could not be read."
        return RunStatus.OK, message

    # Pass 1: reading

    def _read_source(self, name: str, open_items: Callable[[], Iterable[ReadItem]]) -> None:
        records_before = self.records_live
        notices: list[str] = []
        try:
            with self.engine.begin() as connection:
                intake = _Intake(connection, self.summary.run_id)
                for item in open_items():
                    if isinstance(item, IdentifyRecord):
                        intake.add_record(item)
                    elif isinstance(item, RecordRejected):
                        intake.add_rejection(item)
                    elif isinstance(item, ReadNotice):
                        notices.append(item.message)
                    if intake.waiting >= READ_BATCH:
                        intake.flush()
                        self.records_live = records_before + intake.read
                        self._between_batches()
                intake.flush()
        except UnreadableFile as error:
            self._refuse(name, str(error), records_before)
            return
        except OSError as error:  # a reader should say UnreadableFile; never crash on it anyway
            reason = error.strerror or type(error).__name__
            self._refuse(name, f"The file {name} could not be read ({reason}).", records_before)
            return
        except _Cancelled:
            self.records_live = records_before
            self.summary.cancelled = True
            return
        summary = self.summary
        summary.read += intake.read
        summary.accepted += intake.accepted
        summary.duplicates += intake.duplicates
        summary.rejected += intake.rejected
        summary.notices.extend(notices)
        self.records_live = records_before + intake.read
        self._report()

    def _refuse(self, name: str, sentence: str, records_before: int) -> None:
        log.warning("Import refused %s: %s", name, sentence)
        self.summary.refused_files.append((name, sentence))
        self.records_live = records_before

    def on_file_bytes(self, done: int, total: int) -> None:
        """Reader callback: raw bytes of the current file read so far."""
        self.bytes_current = done
        self._report()

    # Pass 2: deciding

    def _decide_all(self) -> None:
        self.phase = "deciding"
        rules = Rules.from_settings(self.profile.settings())
        now = self.profile.clock()
        try:
            with self.engine.connect() as connection, connection.begin():
                start = _claim_undecided_from(connection, now)
                self.to_decide = _fill_decision_order(connection, start)
                self._report(force=True)
                decider = _Decider(connection, rules, now, self.summary.run_id)
                page = _decision_page(DECIDE_CHUNK)
                after = 0
                while True:
                    rows = connection.execute(page, {"after": after}).all()
                    if not rows:
                        break
                    decider.decide_chunk(rows)
                    after = rows[-1].seq
                    self.decided += len(rows)
                    self._between_batches()
                _advance_undecided_from(connection, start, now)
        except _Cancelled:
            self.summary.cancelled = True
            self._note_left_undecided()
            return
        for outcome, count in decider.decisions.items():
            self.summary.decisions[outcome] += count
        if decider.earlier_records:
            self.summary.notices.append(
                f"{decider.earlier_records} records left undecided by an earlier, interrupted "
                "import were decided now."
            )

    def _note_left_undecided(self) -> None:
        if self.summary.accepted:
            self.summary.notices.append(
                "The import was cancelled before its records were decided; the records already "
                "read are kept and the next import decides them."
            )

    # Progress and cancel

    def _between_batches(self) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise _Cancelled
        self._report()

    def _report(self, *, force: bool = False) -> None:
        if self._progress is None:
            return
        moment = time.monotonic()
        if not force and moment - self._last_report < PROGRESS_INTERVAL:
            return
        self._last_report = moment
        self._progress(
            ImportProgress(
                files_done=self.files_done,
                files_total=len(self.names),
                bytes_done=min(self.bytes_before + self.bytes_current, self.bytes_total),
                bytes_total=self.bytes_total,
                records_read=self.records_live,
                phase=self.phase,
                records_decided=self.decided,
                records_to_decide=self.to_decide,
            )
        )


def _insert_ignoring_duplicates(connection: Connection, table: Table) -> Insert:
    """INSERT that silently skips rows whose unique key is already stored."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB spelling


def _upsert_cursor(connection: Connection, name: str, value: str, now: datetime) -> None:
    row = {"name": name, "value": value, "updated_at": now}
    change = {"value": value, "updated_at": now}
    dialect = connection.dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(CURSORS).values(row)
        statement = statement.on_conflict_do_update(index_elements=["name"], set_=change)
    else:
        statement = sqlite.insert(CURSORS).values(row)
        statement = statement.on_conflict_do_update(index_elements=["name"], set_=change)
    connection.execute(statement)


class _Intake:
    """Pass 1 for one file: batches of accepted records and rejections, written together."""

    def __init__(self, connection: Connection, run_id: int) -> None:
        self.connection = connection
        self.run_id = run_id
        self.insert_events = _insert_ignoring_duplicates(connection, EVENTS)
        self.events: list[dict[str, Any]] = []
        self.rejections: list[dict[str, Any]] = []
        self.read = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0

    @property
    def waiting(self) -> int:
        return len(self.events) + len(self.rejections)

    def add_record(self, record: IdentifyRecord) -> None:
        self.events.append(
            {
                "message_key": record.message_key,
                "email": record.email,
                "event_at": record.event_at,
                "created_at": record.created_at,
                "user_id": record.user_id,
                "anonymous_id": record.anonymous_id,
                "first_name": record.first_name,
                "last_name": record.last_name,
                "name": record.name,
                "gender": record.gender,
                "source": record.source,
                "line": record.line,
                "run_id": self.run_id,
            }
        )

    def add_rejection(self, rejection: RecordRejected) -> None:
        self.rejections.append(
            {
                "run_id": self.run_id,
                "source": rejection.source,
                "line": rejection.line,
                "reason": rejection.reason,
                "detail": rejection.detail,
            }
        )

    def flush(self) -> None:
        if self.events:
            inserted = self.connection.execute(self.insert_events, self.events).rowcount
            self.read += len(self.events)
            self.accepted += inserted
            self.duplicates += len(self.events) - inserted
            self.events = []
        if self.rejections:
            self.connection.execute(insert(REJECTIONS), self.rejections)
            self.read += len(self.rejections)
            self.rejected += len(self.rejections)
            self.rejections = []


def _claim_undecided_from(connection: Connection, now: datetime) -> int:
    """Read the cursor and rewrite it, which takes the write lock before anything is read.

    Two imports deciding at once would otherwise both see the same undecided rows.
    """
    stored = connection.scalar(select(CURSORS.c.value).where(CURSORS.c.name == UNDECIDED_CURSOR))
    start = int(stored) if stored and stored.isdigit() else 0
    _upsert_cursor(connection, UNDECIDED_CURSOR, str(start), now)
    return start


def _advance_undecided_from(connection: Connection, start: int, now: datetime) -> None:
    lowest = connection.scalar(
        select(func.min(EVENTS.c.id)).where(EVENTS.c.id >= start, EVENTS.c.decision.is_(None))
    )
    if lowest is None:
        highest = connection.scalar(select(func.max(EVENTS.c.id)))
        lowest = (highest or start - 1) + 1
    _upsert_cursor(connection, UNDECIDED_CURSOR, str(lowest), now)


def _fill_decision_order(connection: Connection, start: int) -> int:
    """Number the undecided records in event-time order; returns how many there are."""
    DECISION_ORDER.create(connection, checkfirst=True)
    connection.execute(delete(DECISION_ORDER))
    undecided = (
        select(EVENTS.c.id)
        .where(EVENTS.c.id >= start, EVENTS.c.decision.is_(None))
        .order_by(EVENTS.c.event_at, EVENTS.c.id)
    )
    result = connection.execute(insert(DECISION_ORDER).from_select(["event_id"], undecided))
    return int(result.rowcount)


def _decision_page(size: int) -> Select[Any]:
    """The next ``size`` records to decide after sequence number ``after``."""
    return (
        select(
            DECISION_ORDER.c.seq,
            EVENTS.c.id,
            EVENTS.c.email,
            EVENTS.c.event_at,
            EVENTS.c.run_id,
            *(EVENTS.c[name] for name in TRAITS),
        )
        .join(EVENTS, EVENTS.c.id == DECISION_ORDER.c.event_id)
        .where(DECISION_ORDER.c.seq > bindparam("after"))
        .order_by(DECISION_ORDER.c.seq)
        .limit(size)
    )


_PENDING = (
    exists()
    .where(SURVEYS.c.customer_id == CUSTOMERS.c.id)
    .where(SURVEYS.c.status.in_(SurveyStatus.PENDING))
)
_CUSTOMER_STATE = select(
    CUSTOMERS.c.id,
    CUSTOMERS.c.email,
    CUSTOMERS.c.first_seen_at,
    CUSTOMERS.c.last_identified_at,
    CUSTOMERS.c.last_decision,
    CUSTOMERS.c.last_surveyed_at,
    *(CUSTOMERS.c[name] for name in TRAITS),
    _PENDING.label("pending"),
).where(CUSTOMERS.c.email.in_(bindparam("emails", expanding=True)))

CUSTOMER_FIELDS = ("first_seen_at", "last_identified_at", "last_decision", *TRAITS)
_UPDATE_CUSTOMER = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in CUSTOMER_FIELDS})
)
_INSERT_CUSTOMERS = insert(CUSTOMERS).returning(CUSTOMERS.c.id, sort_by_parameter_order=True)
_INSERT_SURVEYS = insert(SURVEYS).returning(SURVEYS.c.id, sort_by_parameter_order=True)
_MARK_EVENT = (
    update(EVENTS)
    .where(EVENTS.c.id == bindparam("b_id"))
    .values(
        customer_id=bindparam("b_customer_id"),
        decision=bindparam("b_decision"),
        survey_id=bindparam("b_survey_id"),
    )
)


class _CustomerDraft:
    """A customer as pass 2 sees it while deciding one chunk."""

    __slots__ = (
        "anonymous_id",
        "changed",
        "created_at",
        "email",
        "first_name",
        "first_seen_at",
        "gender",
        "id",
        "last_decision",
        "last_identified_at",
        "last_name",
        "last_surveyed_at",
        "name",
        "pending",
        "user_id",
    )

    def __init__(self, email: str) -> None:
        self.id: int | None = None
        self.email = email
        self.pending = False
        self.changed = False
        self.first_seen_at: datetime | None = None
        self.last_identified_at: datetime | None = None
        self.last_decision: str | None = None
        self.last_surveyed_at: datetime | None = None
        self.created_at: datetime | None = None
        self.user_id: str | None = None
        self.anonymous_id: str | None = None
        self.first_name: str | None = None
        self.last_name: str | None = None
        self.name: str | None = None
        self.gender: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> _CustomerDraft:
        draft = cls(row.email)
        draft.id = row.id
        draft.pending = bool(row.pending)
        draft.first_seen_at = row.first_seen_at
        draft.last_identified_at = row.last_identified_at
        draft.last_decision = row.last_decision
        draft.last_surveyed_at = row.last_surveyed_at
        for name in TRAITS:
            setattr(draft, name, getattr(row, name))
        return draft

    def absorb(self, record: Any, outcome: str) -> None:
        """Take what an identify record says; only a record at least as new changes traits."""
        event_at: datetime = record.event_at
        if self.first_seen_at is None or event_at < self.first_seen_at:
            self.first_seen_at = event_at
            self.changed = True
        if self.last_identified_at is not None and event_at < self.last_identified_at:
            return
        self.last_identified_at = event_at
        self.last_decision = outcome
        # Segment identify semantics: traits merge, a missing trait keeps the old value.
        for name in TRAITS:
            value = getattr(record, name)
            if value is not None and value != "":
                setattr(self, name, value)
        self.changed = True

    def values(self, prefix: str = "") -> dict[str, Any]:
        return {f"{prefix}{name}": getattr(self, name) for name in CUSTOMER_FIELDS}


class _Decider:
    """Pass 2: decides chunks of records in order and writes the results in bulk."""

    def __init__(self, connection: Connection, rules: Rules, now: datetime, run_id: int) -> None:
        self.connection = connection
        self.rules = rules
        self.now = now
        self.run_id = run_id
        self.decisions = dict.fromkeys(Outcome.ALL, 0)
        self.earlier_records = 0  # left undecided by an interrupted import

    def decide_chunk(self, rows: Sequence[Any]) -> None:
        customers = self._load_customers({row.email for row in rows})
        surveys: list[dict[str, Any]] = []
        survey_owner: list[_CustomerDraft] = []
        marks: list[tuple[int, _CustomerDraft, str, int | None]] = []  # survey index or None
        rules = self.rules
        counts = self.decisions
        for row in rows:
            customer = customers.get(row.email)
            if customer is None:
                customer = customers[row.email] = _CustomerDraft(row.email)
            state = CustomerState(customer.pending, customer.last_surveyed_at)
            decision = decide(rules, state, row.event_at, row.created_at)
            outcome = decision.outcome
            survey_index = None
            if decision.send_at is not None:
                survey_index = len(surveys)
                surveys.append(
                    {
                        "key": uuid4().hex,
                        "status": SurveyStatus.SCHEDULED,
                        "send_at": decision.send_at,
                        "reason": SURVEY_REASON,
                        "planned_at": self.now,
                        "identify_id": row.id,
                        "attempts": 0,
                    }
                )
                survey_owner.append(customer)
                customer.pending = True
            customer.absorb(row, outcome)
            marks.append((row.id, customer, outcome, survey_index))
            counts[outcome] += 1
            if row.run_id != self.run_id:
                self.earlier_records += 1
        self._write(customers.values(), surveys, survey_owner, marks)

    def _load_customers(self, emails: set[str]) -> dict[str, _CustomerDraft]:
        found: dict[str, _CustomerDraft] = {}
        wanted = list(emails)
        for start in range(0, len(wanted), IN_LIST_SIZE):
            part = wanted[start : start + IN_LIST_SIZE]
            for row in self.connection.execute(_CUSTOMER_STATE, {"emails": part}):
                found[row.email] = _CustomerDraft.from_row(row)
        return found

    def _write(
        self,
        customers: Iterable[_CustomerDraft],
        surveys: list[dict[str, Any]],
        survey_owner: list[_CustomerDraft],
        marks: list[tuple[int, _CustomerDraft, str, int | None]],
    ) -> None:
        connection = self.connection
        new = [c for c in customers if c.id is None]
        changed = [c for c in customers if c.id is not None and c.changed]
        if new:
            rows = [{"email": c.email, **c.values()} for c in new]
            ids = connection.execute(_INSERT_CUSTOMERS, rows).scalars().all()
            for customer, new_id in zip(new, ids, strict=True):
                customer.id = new_id
        if changed:
            connection.execute(
                _UPDATE_CUSTOMER, [{"b_id": c.id, **c.values("b_")} for c in changed]
            )
        survey_ids: list[int] = []
        if surveys:
            for survey, owner in zip(surveys, survey_owner, strict=True):
                survey["customer_id"] = owner.id
            survey_ids = list(connection.execute(_INSERT_SURVEYS, surveys).scalars().all())
        connection.execute(
            _MARK_EVENT,
            [
                {
                    "b_id": event_id,
                    "b_customer_id": customer.id,
                    "b_decision": outcome,
                    "b_survey_id": None if index is None else survey_ids[index],
                }
                for event_id, customer, outcome, index in marks
            ],
        )
