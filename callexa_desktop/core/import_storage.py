"""The database side of an import: the intake of pass 1 and the decisions of pass 2.

``core/importing.py`` drives an import (runs, transactions, progress, cancel);
this module holds what it writes and reads. Statements are SQLAlchemy Core,
compiled once per import for the connection's database, then executed in bulk
with values the driver takes as they are: SQLAlchemy's per-row parameter and
result processing would cost more than the database work itself at hundreds of
thousands of rows (see ``docs/performance.md``, "Import").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
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
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

from callexa_desktop.core.decision import CustomerState, Outcome, Rules, decide
from callexa_desktop.core.models import (
    Cursor,
    Customer,
    IdentifyEvent,
    Rejection,
    Survey,
    SurveyStatus,
)
from callexa_desktop.core.records import IdentifyRecord, RecordRejected

# Emails (or survey keys) per IN (...) list, below every database's bound-parameter limit.
IN_LIST_SIZE = 500
# The lowest identify_event id that may still be undecided; keeps pass 2 off old rows.
UNDECIDED_CURSOR = "import.undecided_from"
SURVEY_REASON = "scheduled"
# SQLite page cache of an importing connection, in KiB (memory, counted in the peak RSS).
IMPORT_PAGE_CACHE_KIB = 32 * 1024

EVENTS: Table = IdentifyEvent.__table__  # type: ignore[attr-defined]
CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]
SURVEYS: Table = Survey.__table__  # type: ignore[attr-defined]
REJECTIONS: Table = Rejection.__table__  # type: ignore[attr-defined]
CURSORS: Table = Cursor.__table__  # type: ignore[attr-defined]

# Per-connection scratch table: the ids of the records to decide, in decision order.
_SCRATCH = MetaData()
DECISION_ORDER = Table(
    "import_decision_order",
    _SCRATCH,
    Column("seq", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)

EVENT_COLUMNS = (
    "message_key",
    "email",
    "event_at",
    "created_at",
    "user_id",
    "anonymous_id",
    "first_name",
    "last_name",
    "name",
    "gender",
    "source",
    "line",
    "run_id",
)
REJECTION_COLUMNS = ("run_id", "source", "line", "reason", "detail")
# What a customer takes from identify records. Statements list their columns in table
# order, so keeping that order here lets rows go to the driver without reordering.
CUSTOMER_FIELDS = (
    "user_id",
    "anonymous_id",
    "first_name",
    "last_name",
    "name",
    "gender",
    "created_at",
    "first_seen_at",
    "last_identified_at",
    "last_decision",
)
SURVEY_COLUMNS = (
    "key",
    "customer_id",
    "status",
    "send_at",
    "reason",
    "planned_at",
    "identify_id",
    "attempts",
)


# -- values the driver takes as they are -------------------------------------------------------


def storage_time_writer(dialect: Dialect) -> Callable[[datetime | None], Any]:
    """Aware UTC datetime -> what the column holds, exactly as ``models.UTCDateTime`` writes it."""
    if dialect.name == "sqlite":
        return _sqlite_text

    def to_naive_utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)

    return to_naive_utc


def _sqlite_text(moment: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME text, microseconds always written: the same form keeps
    # comparisons and sorting right next to values that SQLAlchemy binds.
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    text = moment.isoformat(" ")  # ends in "+00:00"; cheaper than replace() + timespec
    return text[:-6] if moment.microsecond else text[:-6] + ".000000"


def read_storage_time(value: Any) -> datetime | None:
    """A stored time (SQLite text or a driver's naive datetime) as aware UTC."""
    if value is None:
        return None
    if type(value) is str:
        if len(value) == _STORED_TEXT_LENGTH:  # our own form: parse with the zone in one go
            try:
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:
                pass  # the same length, another form: the general way below
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_STORED_TEXT_LENGTH = len("2026-01-01 00:00:00.000000")


class DriverStatement:
    """A Core statement compiled once for a connection's database, run with ready values.

    ``keys`` names the statement's parameters in the order the caller's tuples
    hold them; they are reordered (or made into dicts) for the driver's style.
    Parameters that are not in ``keys`` (a LIMIT, a constant) keep their value.
    """

    def __init__(self, connection: Connection, statement: ClauseElement, keys: Sequence[str]):
        compiled = cast(SQLCompiler, statement.compile(dialect=connection.dialect))
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("expanding parameters cannot run at the driver level")
        self.keys = tuple(keys)
        constants = compiled.params
        positions = compiled.positiontup
        names = list(constants) if positions is None else list(positions)
        # Per parameter of the SQL: the index in a caller's row, or -1 for a constant.
        self.slots = tuple(self.keys.index(n) if n in self.keys else -1 for n in names)
        self.names = names
        self.constants = constants
        self.named = positions is None
        self.as_given = not self.named and self.slots == tuple(range(len(self.keys)))

    def params(self, row: Sequence[Any]) -> Any:
        if self.as_given:
            return tuple(row)
        values = [
            row[slot] if slot >= 0 else self.constants[name]
            for slot, name in zip(self.slots, self.names, strict=True)
        ]
        return dict(zip(self.names, values, strict=True)) if self.named else tuple(values)

    def run_many(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Execute once per row (one executemany); returns the rows changed."""
        if not rows:
            return 0
        params = rows if self.as_given else [self.params(row) for row in rows]
        return int(connection.exec_driver_sql(self.sql, params).rowcount)

    def fetch(self, connection: Connection, row: Sequence[Any]) -> list[Any]:
        """Execute once and return every result row as a plain tuple."""
        return list(connection.exec_driver_sql(self.sql, self.params(row)).all())


def _insert_ignoring_duplicates(dialect: Dialect, table: Table) -> Insert:
    """INSERT that silently skips rows whose unique key is already stored."""
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB spelling


def _values(table: Table, keys: Sequence[str]) -> dict[str, Any]:
    return {name: bindparam(name, type_=table.c[name].type) for name in keys}


@contextmanager
def larger_page_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a larger page cache for this connection while an import runs, then the old one.

    The default (2 MB) is far smaller than the indexes a large import inserts
    into at random (message keys, emails), and every miss is a system call.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KIB}")
    connection.commit()  # ends the transaction SQLAlchemy began; the caller begins its own
    try:
        yield
    finally:
        connection.rollback()  # nothing of the caller's is left open by now
        connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")
        connection.commit()


# -- pass 1: the intake ---------------------------------------------------------------------


class Intake:
    """Pass 1 for one file: batches of accepted records and rejections, written together."""

    def __init__(self, connection: Connection, run_id: int) -> None:
        self.connection = connection
        self.run_id = run_id
        dialect = connection.dialect
        self.time = storage_time_writer(dialect)
        insert_events = _insert_ignoring_duplicates(dialect, EVENTS).values(
            _values(EVENTS, EVENT_COLUMNS)
        )
        self.insert_events = DriverStatement(connection, insert_events, EVENT_COLUMNS)
        insert_rejections = insert(REJECTIONS).values(_values(REJECTIONS, REJECTION_COLUMNS))
        self.insert_rejections = DriverStatement(connection, insert_rejections, REJECTION_COLUMNS)
        self.events: list[tuple[Any, ...]] = []
        self.rejections: list[tuple[Any, ...]] = []
        self.read = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0

    @property
    def waiting(self) -> int:
        return len(self.events) + len(self.rejections)

    def add_record(self, record: IdentifyRecord) -> None:
        time = self.time
        self.events.append(
            (
                record.message_key,
                record.email,
                time(record.event_at),
                time(record.created_at),
                record.user_id,
                record.anonymous_id,
                record.first_name,
                record.last_name,
                record.name,
                record.gender,
                record.source,
                record.line,
                self.run_id,
            )
        )

    def add_rejection(self, rejection: RecordRejected) -> None:
        self.rejections.append(
            (self.run_id, rejection.source, rejection.line, rejection.reason, rejection.detail)
        )

    def flush(self) -> None:
        """Write what is waiting; a record whose message key is already stored is a duplicate."""
        if self.events:
            inserted = self.insert_events.run_many(self.connection, self.events)
            self.read += len(self.events)
            self.accepted += inserted
            self.duplicates += len(self.events) - inserted
            self.events = []
        if self.rejections:
            self.insert_rejections.run_many(self.connection, self.rejections)
            self.read += len(self.rejections)
            self.rejected += len(self.rejections)
            self.rejections = []


# -- pass 2: the decisions ------------------------------------------------------------------


def upsert_cursor(connection: Connection, name: str, value: str, now: datetime) -> None:
    """Store a named position (insert or replace)."""
    row = {"name": name, "value": value, "updated_at": now}
    change = {"value": value, "updated_at": now}
    statement: Insert
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(CURSORS).values(row)
        statement = statement.on_conflict_do_update(index_elements=["name"], set_=change)
    else:
        statement = sqlite.insert(CURSORS).values(row)
        statement = statement.on_conflict_do_update(index_elements=["name"], set_=change)
    connection.execute(statement)


def _undecided_from(connection: Connection) -> int:
    stored = connection.scalar(select(CURSORS.c.value).where(CURSORS.c.name == UNDECIDED_CURSOR))
    return int(stored) if stored and stored.isdigit() else 0


def any_undecided(connection: Connection) -> bool:
    """Whether any identify record waits for its decision (reads only)."""
    start = _undecided_from(connection)
    waiting = select(EVENTS.c.id).where(EVENTS.c.id >= start, EVENTS.c.decision.is_(None))
    return connection.scalar(waiting.limit(1)) is not None


def claim_undecided_from(connection: Connection, now: datetime) -> int:
    """Read the undecided-from cursor and rewrite it, which takes the write lock first.

    Two imports deciding at once would otherwise both see the same undecided rows.
    """
    start = _undecided_from(connection)
    upsert_cursor(connection, UNDECIDED_CURSOR, str(start), now)
    return start


def advance_undecided_from(connection: Connection, start: int, now: datetime) -> None:
    """Move the cursor to the lowest id still undecided (or past the last one)."""
    lowest = connection.scalar(
        select(func.min(EVENTS.c.id)).where(EVENTS.c.id >= start, EVENTS.c.decision.is_(None))
    )
    if lowest is None:
        highest = connection.scalar(select(func.max(EVENTS.c.id)))
        lowest = (highest or start - 1) + 1
    upsert_cursor(connection, UNDECIDED_CURSOR, str(lowest), now)


def fill_decision_order(connection: Connection, start: int) -> int:
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


# Columns of a record read back in pass 2, by position.
_SEQ, _ID, _EMAIL, _EVENT_AT, _RUN_ID, _CREATED_AT = range(6)
_RECORD_TRAITS = ("user_id", "anonymous_id", "first_name", "last_name", "name", "gender")


class Decider:
    """Pass 2: reads the numbered records chunk by chunk, decides them in order, writes in bulk.

    Customers seen recently stay in a bounded cache (least recently seen leave
    first), so a customer identified many times is read and written once per
    stay in the cache rather than once per chunk. Call ``finish`` at the end.
    """

    def __init__(
        self,
        connection: Connection,
        rules: Rules,
        now: datetime,
        run_id: int,
        *,
        chunk: int,
        cached_customers: int,
    ) -> None:
        self.connection = connection
        self.rules = rules
        self.run_id = run_id
        self.decisions = dict.fromkeys(Outcome.ALL, 0)
        self.earlier_records = 0  # left undecided by an interrupted import
        self.after = 0  # the last sequence number decided
        self.cache: OrderedDict[str, _CustomerDraft] = OrderedDict()
        self.cache_size = max(cached_customers, chunk)
        time = storage_time_writer(connection.dialect)
        self.time = time
        self.planned_at = time(now)
        page = (
            select(
                DECISION_ORDER.c.seq,
                EVENTS.c.id,
                EVENTS.c.email,
                EVENTS.c.event_at,
                EVENTS.c.run_id,
                EVENTS.c.created_at,
                *(EVENTS.c[name] for name in _RECORD_TRAITS),
            )
            .join(EVENTS, EVENTS.c.id == DECISION_ORDER.c.event_id)
            .where(DECISION_ORDER.c.seq > bindparam("after"))
            .order_by(DECISION_ORDER.c.seq)
            .limit(chunk)
        )
        self.page = DriverStatement(connection, page, ["after"])
        in_keys = [f"k{n}" for n in range(IN_LIST_SIZE)]
        pending_statuses = [
            bindparam(f"p{n}", status, type_=String())
            for n, status in enumerate(SurveyStatus.PENDING)
        ]
        pending = (
            exists()
            .where(SURVEYS.c.customer_id == CUSTOMERS.c.id)
            .where(SURVEYS.c.status.in_(pending_statuses))
        )
        state = select(
            CUSTOMERS.c.id,
            CUSTOMERS.c.email,
            CUSTOMERS.c.last_surveyed_at,
            pending.label("pending"),
            *(CUSTOMERS.c[name] for name in CUSTOMER_FIELDS),
        ).where(CUSTOMERS.c.email.in_([bindparam(k) for k in in_keys]))
        self.load_state = DriverStatement(connection, state, in_keys)
        self.customer_ids = DriverStatement(
            connection,
            select(CUSTOMERS.c.email, CUSTOMERS.c.id).where(
                CUSTOMERS.c.email.in_([bindparam(k) for k in in_keys])
            ),
            in_keys,
        )
        self.survey_ids = DriverStatement(
            connection,
            select(SURVEYS.c.key, SURVEYS.c.id).where(
                SURVEYS.c.key.in_([bindparam(k) for k in in_keys])
            ),
            in_keys,
        )
        customer_keys = ("email", *CUSTOMER_FIELDS)
        self.insert_customers = DriverStatement(
            connection, insert(CUSTOMERS).values(_values(CUSTOMERS, customer_keys)), customer_keys
        )
        self.update_customers = DriverStatement(
            connection,
            update(CUSTOMERS)
            .where(CUSTOMERS.c.id == bindparam("b_id"))
            .values(_values(CUSTOMERS, CUSTOMER_FIELDS)),
            (*CUSTOMER_FIELDS, "b_id"),
        )
        self.insert_surveys = DriverStatement(
            connection, insert(SURVEYS).values(_values(SURVEYS, SURVEY_COLUMNS)), SURVEY_COLUMNS
        )
        mark = (
            update(EVENTS)
            .where(EVENTS.c.id == bindparam("b_id"))
            .values(
                customer_id=bindparam("b_customer_id"),
                decision=bindparam("b_decision"),
                survey_id=bindparam("b_survey_id"),
            )
        )
        self.mark_events = DriverStatement(
            connection, mark, ("b_customer_id", "b_decision", "b_survey_id", "b_id")
        )

    def decide_next_chunk(self) -> int:
        """Decide the next chunk of records; returns how many (0 when all are decided)."""
        rows = self.page.fetch(self.connection, (self.after,))
        if not rows:
            return 0
        self.after = rows[-1][_SEQ]
        customers = self._customers_of(rows)
        surveys: list[list[Any]] = []
        survey_owners: list[_CustomerDraft] = []
        marks: list[tuple[int, _CustomerDraft, str, str | None]] = []  # survey key or None
        rules = self.rules
        counts = self.decisions
        run_id = self.run_id
        time = self.time
        planned_at = self.planned_at
        read_time = read_storage_time
        for row in rows:
            customer = customers[row[_EMAIL]]
            event_at = read_time(row[_EVENT_AT])
            assert event_at is not None
            created_raw = row[_CREATED_AT]
            created_at = None if created_raw is None else read_time(created_raw)
            decision = decide(rules, customer.state, event_at, created_at)
            outcome = decision.outcome
            key = None
            if decision.send_at is not None:
                key = uuid4().hex
                # customer_id (None here) is known once new customers are stored.
                send_at = time(decision.send_at)
                surveys.append(
                    [key, None, SCHEDULED, send_at, SURVEY_REASON, planned_at, row[_ID], 0]
                )
                survey_owners.append(customer)
                customer.now_pending()
            customer.absorb(row, event_at, outcome)
            marks.append((row[_ID], customer, outcome, key))
            counts[outcome] += 1
            if row[_RUN_ID] != run_id:
                self.earlier_records += 1
        self._write(customers, surveys, survey_owners, marks)
        self._trim_cache()
        return len(rows)

    def finish(self) -> None:
        """Write the customers still waiting in the cache."""
        self._update_customers(list(self.cache.values()))
        self.cache.clear()

    def _customers_of(self, rows: Sequence[Any]) -> dict[str, _CustomerDraft]:
        """The chunk's customers: from the cache, else the database, else new ones."""
        cache = self.cache
        chunk: dict[str, _CustomerDraft] = {}
        missing: list[str] = []
        for row in rows:
            email = row[_EMAIL]
            if email in chunk:
                continue
            draft = cache.get(email)
            if draft is None:
                missing.append(email)
                chunk[email] = _NOT_LOADED
            else:
                cache.move_to_end(email)
                chunk[email] = draft
        if missing:
            for piece in _pieces(missing):
                for found in self.load_state.fetch(self.connection, piece):
                    draft = _CustomerDraft.from_row(found)
                    chunk[draft.email] = cache[draft.email] = draft
            for email in missing:
                if chunk[email] is _NOT_LOADED:
                    chunk[email] = cache[email] = _CustomerDraft(email)
        return chunk

    def _trim_cache(self) -> None:
        cache = self.cache
        if len(cache) <= self.cache_size:
            return
        leaving = [cache.popitem(last=False)[1] for _ in range(len(cache) - self.cache_size)]
        self._update_customers(leaving)

    def _update_customers(self, drafts: Iterable[_CustomerDraft]) -> None:
        changed = [draft for draft in drafts if draft.changed]
        self.update_customers.run_many(self.connection, [(*c.values(), c.id) for c in changed])
        for draft in changed:
            draft.changed = False

    def _lookup(self, statement: DriverStatement, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for piece in _pieces(keys):
            found.update(statement.fetch(self.connection, piece))
        return found

    def _write(
        self,
        customers: dict[str, _CustomerDraft],
        surveys: list[list[Any]],
        survey_owners: list[_CustomerDraft],
        marks: list[tuple[int, _CustomerDraft, str, str | None]],
    ) -> None:
        connection = self.connection
        new = [c for c in customers.values() if c.id is None]
        if new:
            self.insert_customers.run_many(connection, [(c.email, *c.values()) for c in new])
            ids = self._lookup(self.customer_ids, [c.email for c in new])
            for customer in new:
                customer.id = ids[customer.email]
                customer.changed = False
        survey_ids: dict[str, int] = {}
        if surveys:
            rows = []
            for survey, owner in zip(surveys, survey_owners, strict=True):
                survey[1] = owner.id
                rows.append(tuple(survey))
            self.insert_surveys.run_many(connection, rows)
            survey_ids = self._lookup(self.survey_ids, [survey[0] for survey in surveys])
        self.mark_events.run_many(
            connection,
            [
                (customer.id, outcome, None if key is None else survey_ids[key], event_id)
                for event_id, customer, outcome, key in marks
            ],
        )


SCHEDULED = SurveyStatus.SCHEDULED


def _pieces(keys: Sequence[str]) -> Iterable[tuple[str | None, ...]]:
    """``keys`` cut to IN-list size, the last piece padded with NULLs (which match nothing)."""
    for start in range(0, len(keys), IN_LIST_SIZE):
        piece: list[str | None] = list(keys[start : start + IN_LIST_SIZE])
        piece.extend([None] * (IN_LIST_SIZE - len(piece)))
        yield tuple(piece)


class _CustomerDraft:
    """A customer as pass 2 sees it. Times are kept parsed (to compare) and as stored (to write)."""

    __slots__ = (
        "anonymous_id",
        "changed",
        "created_raw",
        "email",
        "first_name",
        "first_seen_at",
        "first_seen_raw",
        "gender",
        "id",
        "last_decision",
        "last_identified_at",
        "last_identified_raw",
        "last_name",
        "name",
        "state",
        "user_id",
    )

    def __init__(self, email: str) -> None:
        self.id: int | None = None
        self.email = email
        self.state = _NEW_CUSTOMER
        self.changed = False
        self.first_seen_at: datetime | None = None
        self.first_seen_raw: Any = None
        self.last_identified_at: datetime | None = None
        self.last_identified_raw: Any = None
        self.last_decision: str | None = None
        self.created_raw: Any = None
        self.user_id: str | None = None
        self.anonymous_id: str | None = None
        self.first_name: str | None = None
        self.last_name: str | None = None
        self.name: str | None = None
        self.gender: str | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> _CustomerDraft:
        """From (id, email, last_surveyed_at, pending, *CUSTOMER_FIELDS)."""
        draft = cls(row[1])
        draft.id = row[0]
        last_surveyed_at = read_storage_time(row[2])
        if row[3] or last_surveyed_at is not None:
            draft.state = CustomerState(bool(row[3]), last_surveyed_at)
        (
            draft.user_id,
            draft.anonymous_id,
            draft.first_name,
            draft.last_name,
            draft.name,
            draft.gender,
            draft.created_raw,
            draft.first_seen_raw,
            draft.last_identified_raw,
            draft.last_decision,
        ) = row[4:]
        draft.first_seen_at = read_storage_time(draft.first_seen_raw)
        draft.last_identified_at = read_storage_time(draft.last_identified_raw)
        return draft

    def now_pending(self) -> None:
        self.state = CustomerState(True, self.state.last_surveyed_at)

    def absorb(self, row: Sequence[Any], event_at: datetime, outcome: str) -> None:
        """Take what an identify record says; only a record at least as new changes traits."""
        if self.first_seen_at is None or event_at < self.first_seen_at:
            self.first_seen_at = event_at
            self.first_seen_raw = row[_EVENT_AT]
            self.changed = True
        if self.last_identified_at is not None and event_at < self.last_identified_at:
            return
        self.last_identified_at = event_at
        self.last_identified_raw = row[_EVENT_AT]
        self.last_decision = outcome
        self.changed = True
        # Segment identify semantics: traits merge; a missing trait keeps the old value.
        created_raw, user_id, anonymous_id, first_name, last_name, name, gender = row[_CREATED_AT:]
        if created_raw is not None:
            self.created_raw = created_raw
        if user_id:
            self.user_id = user_id
        if anonymous_id:
            self.anonymous_id = anonymous_id
        if first_name:
            self.first_name = first_name
        if last_name:
            self.last_name = last_name
        if name:
            self.name = name
        if gender:
            self.gender = gender

    def values(self) -> tuple[Any, ...]:
        """The CUSTOMER_FIELDS as stored."""
        return (
            self.user_id,
            self.anonymous_id,
            self.first_name,
            self.last_name,
            self.name,
            self.gender,
            self.created_raw,
            self.first_seen_raw,
            self.last_identified_raw,
            self.last_decision,
        )


_NEW_CUSTOMER = CustomerState()
_NOT_LOADED = _CustomerDraft("")
