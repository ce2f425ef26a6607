"""The sync-back outbox: per customer, the identify carrying their latest rating to Segment.

One row per customer (``sync_outbox``) names the customer's latest response (by answered_at,
then by storage order) and the messageId that carries it. ``refresh_outbox`` brings the rows
up to date from the responses: a customer with a newer response gets the new response and a
new messageId and is pending again; a customer whose latest response is already in the row
is left alone, delivered or not. Only a 2xx from Segment marks a row delivered.

The messageId is a UUID derived from the response and the customer, so every retry and
every re-run (even after a crash) sends the same id and Segment can drop duplicates.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import unicodedata
import uuid
from collections.abc import Collection, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import compress, islice
from typing import Any, NamedTuple

from sqlalchemy import (
    and_,
    bindparam,
    column,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlmodel import Session, col

from callexa_desktop.core.clock import iso_utc
from callexa_desktop.core.import_storage import read_storage_time
from callexa_desktop.core.models import Customer, Response, SyncOutbox

# Fixed forever: changing it would give every already-delivered rating a new messageId.
MESSAGE_ID_NAMESPACE = uuid.UUID("5d3f0f3e-6c1b-5b57-9a43-0c9f2d8f1e61")
_NAMESPACE_BYTES = MESSAGE_ID_NAMESPACE.bytes
# Segment refuses messages over 32 KB; stay a little under so proxies' additions still fit.
MESSAGE_BUDGET_BYTES = 32 * 1024 - 768
TRUNCATION_MARK = "…"
_SQL_CHUNK = 500  # rows per IN (...) list
_PAGE_ROWS = 2000  # pending rows read per statement
_OUTBOX = SyncOutbox.__table__  # type: ignore[attr-defined]
_ATTEMPTS = _OUTBOX.c.attempts
_TYPED_RESPONSES = Response.__table__  # type: ignore[attr-defined]
# The same table without column types: bulk writes skip per-value conversion, and times are
# converted once per statement by ``_stored_time``.
_PLAIN = table("sync_outbox", *(column(c.name) for c in _OUTBOX.c))
# The columns a pending identify needs, also untyped: rows come back as the driver gives them.
_PLAIN_CUSTOMERS = table(
    Customer.__table__.name,  # type: ignore[attr-defined]
    *(column(name) for name in ("id", "email", "user_id", "anonymous_id")),
)
_PLAIN_RESPONSES = table(
    Response.__table__.name,  # type: ignore[attr-defined]
    *(column(name) for name in ("id", "rating", "comment", "answered_at")),
)
_STORED_TEXT_LENGTH = len("2026-01-01 00:00:00.000000")


class OutboxStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    REJECTED = "rejected"  # Segment refused this very message (400); a newer response retries


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A pending outbox row with what its identify needs."""

    customer_id: int
    email: str
    user_id: str | None
    anonymous_id: str | None
    message_id: str
    rating: int
    comment: str
    answered_at: datetime

    @property
    def syncable(self) -> bool:
        """Segment needs a userId or an anonymousId to know whose traits these are."""
        return bool(self.user_id or self.anonymous_id)


@dataclass(frozen=True, slots=True)
class EncodedIdentify:
    """An identify ready for the wire: compact UTF-8 JSON within the 32 KB budget."""

    message_id: str
    customer_id: int
    body: bytes
    comment_truncated: bool


class PendingIdentify(NamedTuple):
    """A pending outbox row with its identify ready for the wire.

    ``body`` is None when the customer has neither a userId nor an anonymousId
    (``syncable`` False), or when the identify cannot fit 32 KB even without its comment.
    A tuple of plain values: cheap to make, and the garbage collector stops tracking it, so
    tens of thousands of them held by a sync do not set off full collections.
    """

    customer_id: int
    email: str
    message_id: str
    syncable: bool
    body: bytes | None
    comment_truncated: bool = False


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    delivered: int
    rejected: int
    not_syncable: int


def message_id_for(dedupe_key: str, email: str) -> str:
    """The messageId of the identify carrying response ``dedupe_key`` for customer ``email``.

    A UUID version 5 (SHA-1, RFC 4122) of the two within MESSAGE_ID_NAMESPACE, equal to
    ``uuid.uuid5``'s but computed with hashlib directly (about three times faster).
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{dedupe_key}\n{email}".encode()).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest[:16].hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def refresh_outbox(
    session: Session, now: datetime, customer_ids: Collection[int] | None = None
) -> int:
    """Point each customer's row at their latest response; returns how many became pending.

    ``customer_ids`` limits the work to those customers (recording responses passes the ones
    it touched); None checks everyone — one pass over the responses, cheap when nothing
    changed. A customer whose latest response is already in their row is not touched
    (delivered stays delivered). The caller commits.
    """
    if customer_ids is None:
        customer_ids = _stale_customers(session)
        if len(customer_ids) > _SQL_CHUNK:
            return _refresh(session, now, None)  # many (a first fill): one ranking of everyone
    ids = sorted(customer_ids)
    return sum(
        _refresh(session, now, ids[start : start + _SQL_CHUNK])
        for start in range(0, len(ids), _SQL_CHUNK)
    )


def _stale_customers(session: Session) -> set[int]:
    """Every customer whose row does not name their latest response, or who has no row.

    One pass over the responses: a customer is stale when one of their responses is newer
    (by answered_at, then id) than the one in their row, or the row is missing or names
    a response that is gone or not theirs. That is exactly when the latest response differs
    from the row's; ``_refresh`` then re-checks these few with the ranking itself.
    """
    candidate = _TYPED_RESPONSES.alias("candidate")
    held = _TYPED_RESPONSES.alias("held")
    outbox = _OUTBOX
    query = (
        select(candidate.c.customer_id)
        .select_from(candidate)
        .outerjoin(outbox, outbox.c.customer_id == candidate.c.customer_id)
        .outerjoin(held, held.c.id == outbox.c.response_id)
        .where(
            or_(
                outbox.c.customer_id.is_(None),
                held.c.id.is_(None),
                held.c.customer_id != outbox.c.customer_id,
                candidate.c.answered_at > held.c.answered_at,
                and_(
                    candidate.c.answered_at == held.c.answered_at,
                    candidate.c.id > held.c.id,
                ),
            )
        )
    )
    return set(session.execute(query).scalars())


def _refresh(session: Session, now: datetime, customer_ids: Sequence[int] | None) -> int:
    latest = _latest_responses(customer_ids)
    outbox = _OUTBOX
    rows = session.execute(
        select(
            latest.c.customer_id,
            latest.c.response_id,
            latest.c.dedupe_key,
            col(Customer.email),
            outbox.c.customer_id.label("row_customer"),
        )
        .join(Customer, col(Customer.id) == latest.c.customer_id)
        .outerjoin(outbox, outbox.c.customer_id == latest.c.customer_id)
        .where(
            latest.c.rank == 1,
            or_(outbox.c.customer_id.is_(None), outbox.c.response_id != latest.c.response_id),
        )
    ).all()
    if not rows:
        return 0
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for customer_id, response_id, dedupe_key, email, row_customer in rows:
        target = new_rows if row_customer is None else changed_rows
        target.append({"c": customer_id, "r": response_id, "m": message_id_for(dedupe_key, email)})
    queued_at = _stored_time(session, now)
    if new_rows:
        session.connection().execute(
            insert(_PLAIN).values(
                customer_id=bindparam("c"),
                response_id=bindparam("r"),
                message_id=bindparam("m"),
                status=OutboxStatus.PENDING,
                attempts=0,
                queued_at=queued_at,
            ),
            new_rows,
        )
    if changed_rows:
        session.connection().execute(
            update(_PLAIN)
            .where(_PLAIN.c.customer_id == bindparam("c"))
            .values(
                response_id=bindparam("r"),
                message_id=bindparam("m"),
                status=OutboxStatus.PENDING,
                attempts=0,
                last_error=None,
                queued_at=queued_at,
                delivered_at=None,
            ),
            changed_rows,
        )
    return len(rows)


def pending_entries(session: Session) -> Iterator[OutboxEntry]:
    """Every pending row (syncable or not) with the customer's ids and the rating."""
    for (
        customer_id,
        email,
        user_id,
        anonymous_id,
        message_id,
        rating,
        comment,
        answered,
    ) in _pending_rows(session):
        answered_at = read_storage_time(answered)
        assert answered_at is not None  # the column is NOT NULL
        yield OutboxEntry(
            customer_id, email, user_id, anonymous_id, message_id, rating, comment, answered_at
        )


def pending_identifies(session: Session) -> Iterator[PendingIdentify]:
    """Every pending row (syncable or not) with its identify encoded for the wire, one by one.

    The bodies are the bytes ``encode_identify`` gives for the same row. A sync reads
    ``pending_identify_pages`` instead, which writes the same bytes a page at a time.
    """
    for row in _pending_rows(session):
        yield _identify_from_row(*row)


class IdentifyPage(NamedTuple):
    """A page of pending rows (at most _PAGE_ROWS), their identifies ready for the wire.

    ``messages`` are (messageId, body) pairs, with their customers' ids and emails at the
    same positions in ``customer_ids`` and ``emails``; ``set_aside`` holds the page's other
    rows, written one by one: no userId or anonymousId, over the 32 KB budget (cut or not
    sendable at all), or a time stored in another form than our own.
    """

    messages: list[tuple[str, bytes]]
    customer_ids: list[int]
    emails: list[str]
    set_aside: list[PendingIdentify]


def pending_identify_pages(session: Session, *, read_ahead: bool = False) -> Iterator[IdentifyPage]:
    """Every pending row, a page at a time: what ``pending_identifies`` gives, the same bytes.

    A large sync reads tens of thousands of rows, and this is where its own time goes: a page
    is written in a few list comprehensions rather than row by row through generators, and
    SQLite picks the identity field and writes the time text (``_WIRE_PAGE``). Rows within a
    page keep their order among ``messages`` and among ``set_aside``. With ``read_ahead`` the
    next page is read on a thread of its own while this one is written.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":  # no _WIRE_PAGE: every row written one by one
        one_by_one = pending_identifies(session)
        while page := list(islice(one_by_one, _PAGE_ROWS)):
            yield _page_of(page)
        return
    pages = _read_ahead(session) if read_ahead else _wire_pages(connection)
    with closing(pages):  # a caller leaving early ends the read-ahead thread at once
        for packed in pages:
            yield _written_page(session, *map(json.loads, packed))


def _wire_pages(connection: Connection) -> Generator[Sequence[str], None, None]:
    """The pending rows as _WIRE_PAGE gives them, page after page (JSON arrays, one per column)."""
    after = -1
    while True:
        count, last, *packed = connection.exec_driver_sql(
            _WIRE_PAGE, {"after": after, "rows": _PAGE_ROWS}
        ).one()
        if count:
            yield packed
        if count < _PAGE_ROWS:
            return
        after = last


_NO_MORE_PAGES: list[str] = []


def _read_ahead(session: Session) -> Generator[Sequence[str], None, None]:
    """``_wire_pages`` read on a thread of its own, a page or two ahead of the caller.

    The database reads a page without holding Python's interpreter lock, so the next page is
    read while the caller writes the identifies of this one. The thread has its own connection
    (a separate read transaction, which WAL lets run beside the sync's commits); an in-memory
    database, which another connection would not see, is read in line instead.
    """
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.url.database in (None, "", ":memory:"):
        yield from _wire_pages(session.connection())
        return
    pages: queue.Queue[Sequence[str] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        try:
            with engine.connect() as connection:
                for packed in _wire_pages(connection):
                    if stop.is_set():
                        break
                    pages.put(packed)
        except BaseException as error:  # handed to the caller
            pages.put(error)
        finally:
            pages.put(_NO_MORE_PAGES)

    reader = threading.Thread(target=read, name="sync-page-reader", daemon=True)
    reader.start()
    try:
        while (item := pages.get()) is not _NO_MORE_PAGES:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # The caller may stop early (a wrong key): let the reader finish its page and end.
        stop.set()
        while item is not _NO_MORE_PAGES:
            item = pages.get()
        reader.join()


def _written_page(
    session: Session,
    customer_ids: list[int],
    emails: list[str],
    keys: list[str | None],
    names: list[str | None],
    message_ids: list[str],
    ratings: list[int],
    comments: list[str],
    times: list[str | None],
) -> IdentifyPage:
    quote = _json_text
    # The same text as _identify_text, for a whole page (keys/names/times are None on rows
    # set aside below; their text is thrown away).
    texts = [
        f'{{"type":"identify","{key}":{quote(name or "")},"traits":{{"NPS_rating":{rating},'
        f'"NPS_comment":{quote(comment)},"NPS_date":"{when}"}},"timestamp":"{when}",'
        f'"messageId":{quote(message_id)}}}'
        for key, name, rating, comment, when, message_id in zip(
            keys, names, ratings, comments, times, message_ids, strict=True
        )
    ]
    try:
        bodies = [text.encode() for text in texts]
    except UnicodeEncodeError:  # a lone surrogate: let the row-by-row writer clean it
        return _page_of(_identifies_of(session, customer_ids))
    if None not in keys and None not in times and max(map(len, bodies)) <= MESSAGE_BUDGET_BYTES:
        return IdentifyPage(list(zip(message_ids, bodies, strict=True)), customer_ids, emails, [])
    usual = [
        key is not None and when is not None and len(body) <= MESSAGE_BUDGET_BYTES
        for key, when, body in zip(keys, times, bodies, strict=True)
    ]
    aside = [customer_id for customer_id, ok in zip(customer_ids, usual, strict=True) if not ok]
    return IdentifyPage(
        list(compress(zip(message_ids, bodies, strict=True), usual)),
        list(compress(customer_ids, usual)),
        list(compress(emails, usual)),
        _identifies_of(session, aside),
    )


def _identifies_of(session: Session, customer_ids: Sequence[int]) -> list[PendingIdentify]:
    """These customers' pending rows, written one by one, in customer order."""
    return [
        _identify_from_row(*row)
        for start in range(0, len(customer_ids), _SQL_CHUNK)
        for row in _pending_rows(session, customer_ids[start : start + _SQL_CHUNK])
    ]


def _page_of(identifies: list[PendingIdentify]) -> IdentifyPage:
    return IdentifyPage([], [], [], identifies)


# A page of pending rows after customer :after, as one row: how many, the last customer id,
# then one JSON array per column, every array listing the rows in the same order: customer
# id, email, the identity field ("userId", else "anonymousId", else null: not syncable) and
# its value, messageId, rating, comment, and answered_at as the identify's time text (null
# unless stored in our own form: "2026-11-01 08:00:00.123456" becomes
# "2026-11-01T08:00:00.123Z", or "...:00Z" when the fraction is zero, as _wire_time does).
_WIRE_PAGE = """
SELECT count(*), max(customer_id),
       json_group_array(customer_id), json_group_array(email), json_group_array(who_key),
       json_group_array(who), json_group_array(message_id), json_group_array(rating),
       json_group_array(comment), json_group_array(wire_time)
FROM (
  SELECT o.customer_id AS customer_id, c.email AS email, o.message_id AS message_id,
         CAST(r.rating AS INTEGER) AS rating, coalesce(r.comment, '') AS comment,
         CASE WHEN coalesce(c.user_id, '') != '' THEN 'userId'
              WHEN coalesce(c.anonymous_id, '') != '' THEN 'anonymousId' END AS who_key,
         CASE WHEN coalesce(c.user_id, '') != '' THEN c.user_id ELSE c.anonymous_id END AS who,
         CASE WHEN length(r.answered_at) != 26 OR substr(r.answered_at, 11, 1) != ' '
                   OR substr(r.answered_at, 20, 1) != '.'
                   OR substr(r.answered_at, 21) GLOB '*[^0-9]*' THEN NULL
              WHEN substr(r.answered_at, 21) = '000000'
                   THEN substr(r.answered_at, 1, 10) || 'T' || substr(r.answered_at, 12, 8) || 'Z'
              ELSE substr(r.answered_at, 1, 10) || 'T' || substr(r.answered_at, 12, 12) || 'Z'
         END AS wire_time
  FROM sync_outbox AS o
  JOIN customer AS c ON c.id = o.customer_id
  JOIN response AS r ON r.id = o.response_id
  WHERE o.status = 'pending' AND o.customer_id > :after
  ORDER BY o.customer_id
  LIMIT :rows
)
"""


def _identify_from_row(
    customer_id: int,
    email: str,
    user_id: str | None,
    anonymous_id: str | None,
    message_id: str,
    rating: int,
    comment: str | None,
    answered: Any,
) -> PendingIdentify:
    """A pending row as stored (see ``_pending_rows``) with its identify, written alone."""
    if not (user_id or anonymous_id):
        return _pending(customer_id, email, message_id, False, None, False)
    encoded = _encode(user_id, anonymous_id, message_id, rating, comment, _wire_time(answered))
    if encoded is None:
        return _pending(customer_id, email, message_id, True, None, False)
    return _pending(customer_id, email, message_id, True, *encoded)


def _pending(*values: Any) -> PendingIdentify:
    # The tuple type's own constructor: a NamedTuple's __new__ is Python code, 4x slower.
    return tuple.__new__(PendingIdentify, values)


def encode_identify(entry: OutboxEntry) -> EncodedIdentify | None:
    """The identify for ``entry`` as compact JSON bytes, at most MESSAGE_BUDGET_BYTES long.

    An over-long comment is cut at a character boundary (and marked with "…"); the rating is
    never dropped. None when even an empty comment does not fit (absurdly long ids).
    """
    encoded = _encode(
        entry.user_id,
        entry.anonymous_id,
        entry.message_id,
        entry.rating,
        entry.comment,
        _iso(entry.answered_at),
    )
    if encoded is None:
        return None
    return EncodedIdentify(entry.message_id, entry.customer_id, *encoded)


def mark_delivered(session: Session, deliveries: Sequence[tuple[int, str]], now: datetime) -> int:
    """Mark delivered the rows of these (customer_id, messageId) pairs (Segment answered 2xx).

    A row whose messageId changed meanwhile (a newer response) is left pending. The caller
    commits.
    """
    connection = session.connection()
    delivered_at = _stored_time(session, now)
    changed = 0
    for start in range(0, len(deliveries), _SQL_CHUNK):
        chunk = deliveries[start : start + _SQL_CHUNK]
        sql, named = _delivered_statement(connection.dialect, len(chunk))
        customers = [customer_id for customer_id, _ in chunk]
        messages = [message_id for _, message_id in chunk]
        params: Any = (delivered_at, *customers, *messages)
        if named:
            params = {
                "delivered_at": delivered_at,
                **{f"c{n}": value for n, value in enumerate(customers)},
                **{f"m{n}": value for n, value in enumerate(messages)},
            }
        changed += connection.exec_driver_sql(sql, params).rowcount
    return changed


@lru_cache(maxsize=16)
def _delivered_statement(dialect: Dialect, size: int) -> tuple[str, bool]:
    """The UPDATE marking ``size`` rows delivered as SQL text, and whether its parameters are
    named (else they go in order: delivered_at, the customer ids, the messageIds).

    One statement per chunk, not an executemany: the driver releases the interpreter lock
    once per statement, and a sync commits on a thread of its own while the next batch is
    read and sent. Compiled once per chunk size, as the IN lists cost more to render than
    to run.
    """
    customers = [f"c{n}" for n in range(size)]
    messages = [f"m{n}" for n in range(size)]
    statement = (
        update(_PLAIN)
        .where(
            # The customer ids find the rows, the messageIds check they are unchanged.
            _PLAIN.c.customer_id.in_([bindparam(name) for name in customers]),
            _PLAIN.c.message_id.in_([bindparam(name) for name in messages]),
            _PLAIN.c.status == literal_column(f"'{OutboxStatus.PENDING}'"),
        )
        .values(
            status=literal_column(f"'{OutboxStatus.DELIVERED}'"),
            delivered_at=bindparam("delivered_at"),
            last_error=null(),
            attempts=_PLAIN.c.attempts + literal_column("1"),
        )
    )
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    if order is not None and list(order) != ["delivered_at", *customers, *messages]:
        raise RuntimeError(f"unexpected parameter order for {dialect.name}")
    return str(compiled), order is None


def mark_rejected(session: Session, message_id: str, reason: str) -> int:
    """Segment refused this message itself; it is not retried until a newer response."""
    values = {
        "status": OutboxStatus.REJECTED,
        "last_error": reason[:500],
        "attempts": _ATTEMPTS + 1,
    }
    return _update_by_message_id(session, [message_id], values)


def note_failed_attempt(session: Session, message_ids: Sequence[str], error: str) -> int:
    """Note the run's last error on the ratings it left undelivered; they stay pending."""
    values: dict[str, Any] = {"last_error": error[:500], "attempts": _ATTEMPTS + 1}
    return _update_by_message_id(session, message_ids, values)


def outbox_counts(session: Session) -> OutboxCounts:
    """How many rows are pending, delivered, rejected, and pending but not syncable."""
    outbox = _OUTBOX
    by_status = dict(
        session.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    )
    return OutboxCounts(
        pending=int(by_status.get(OutboxStatus.PENDING, 0)),
        delivered=int(by_status.get(OutboxStatus.DELIVERED, 0)),
        rejected=int(by_status.get(OutboxStatus.REJECTED, 0)),
        not_syncable=_not_syncable(session),
    )


def pending_counts(session: Session) -> tuple[int, int]:
    """(pending rows, of which not syncable): what a sync needs, read from the small index
    of pending rows rather than by counting every row's status."""
    pending = session.execute(
        select(func.count())
        .select_from(_OUTBOX)
        .where(_OUTBOX.c.status == literal_column(f"'{OutboxStatus.PENDING}'"))
    ).scalar_one()
    return int(pending), _not_syncable(session)


def _not_syncable(session: Session) -> int:
    outbox = _OUTBOX
    return int(
        session.execute(
            select(func.count())
            .select_from(outbox)
            .join(Customer, col(Customer.id) == outbox.c.customer_id)
            .where(
                outbox.c.status == literal_column(f"'{OutboxStatus.PENDING}'"),
                func.coalesce(col(Customer.user_id), "") == "",
                func.coalesce(col(Customer.anonymous_id), "") == "",
            )
        ).scalar_one()
    )


# -- helpers ----------------------------------------------------------------------------------


def _stored_time(session: Session, moment: datetime) -> Any:
    """``moment`` as the database stores a UTC time column (see ``models.UTCDateTime``)."""
    processor = _OUTBOX.c.queued_at.type.bind_processor(session.get_bind().dialect)
    return processor(moment) if processor is not None else moment


def _latest_responses(customer_ids: Sequence[int] | None) -> Any:
    """Each customer's responses ranked newest first (rank 1 = the latest)."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(Response.customer_id),
            order_by=[col(Response.answered_at).desc(), col(Response.id).desc()],
        )
        .label("rank")
    )
    query = select(
        col(Response.customer_id).label("customer_id"),
        col(Response.id).label("response_id"),
        col(Response.dedupe_key).label("dedupe_key"),
        rank,
    )
    if customer_ids is not None:
        query = query.where(col(Response.customer_id).in_(customer_ids))
    return query.subquery("latest")


def identify_message(entry: OutboxEntry, comment: str | None = None) -> dict[str, Any]:
    """The Segment identify for ``entry`` as a dict (``comment`` replaces the stored one).

    The library's name and version travel once per request, in the batch's ``context``
    (``services.segment.encode_batch``), which Segment applies to every message in it.
    """
    identity = {"userId": entry.user_id} if entry.user_id else {"anonymousId": entry.anonymous_id}
    when = iso_utc(entry.answered_at)
    return {
        "type": "identify",
        **identity,
        "traits": {
            "NPS_rating": int(entry.rating),
            "NPS_comment": _clean(entry.comment) if comment is None else comment,
            "NPS_date": when,
        },
        "timestamp": when,
        "messageId": entry.message_id,
    }


def _encode(
    user_id: str | None,
    anonymous_id: str | None,
    message_id: str,
    rating: int,
    comment: str | None,
    when: str,
) -> tuple[bytes, bool] | None:
    """(identify bytes within the budget, whether the comment was cut), or None if none fit."""
    identity = (
        '"userId":' + _json_text(user_id)
        if user_id
        else '"anonymousId":' + _json_text(anonymous_id or "")
    )
    comment = comment or ""
    try:
        body = _identify_text(identity, rating, _json_text(comment), when, message_id).encode()
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud83d" cannot go out as UTF-8
        comment = _clean(comment)
        body = _identify_text(identity, rating, _json_text(comment), when, message_id).encode()
    if len(body) <= MESSAGE_BUDGET_BYTES:
        return body, False

    def with_comment(kept: str) -> bytes:
        return _identify_text(identity, rating, _json_text(kept), when, message_id).encode()

    if len(with_comment(TRUNCATION_MARK)) > MESSAGE_BUDGET_BYTES:
        return None
    # Largest prefix that fits; no character needs fewer than one byte, so cap the search.
    low, high = 0, min(len(comment), MESSAGE_BUDGET_BYTES)
    while low < high:
        middle = (low + high + 1) // 2
        if len(with_comment(comment[:middle] + TRUNCATION_MARK)) <= MESSAGE_BUDGET_BYTES:
            low = middle
        else:
            high = middle - 1
    cut = _character_boundary(comment, low)
    return with_comment(comment[:cut] + TRUNCATION_MARK), True


def _identify_text(
    identity: str, rating: int, comment_json: str, when: str, message_id: str
) -> str:
    # The same compact JSON as dumping identify_message(), written out directly because
    # building and dumping 20,000 dicts is the bulk of a large sync's own work.
    return (
        f'{{"type":"identify",{identity},"traits":{{"NPS_rating":{int(rating)},'
        f'"NPS_comment":{comment_json},"NPS_date":"{when}"}},"timestamp":"{when}",'
        f'"messageId":{_json_text(message_id)}}}'
    )


def _pending_rows(
    session: Session, customer_ids: Sequence[int] | None = None
) -> Iterator[Sequence[Any]]:
    """The pending rows as stored: ids, rating, comment and answered_at, by customer id
    (only these customers' rows when ``customer_ids`` is given: at most _SQL_CHUNK)."""
    query = (
        select(
            _PLAIN.c.customer_id,
            _PLAIN_CUSTOMERS.c.email,
            _PLAIN_CUSTOMERS.c.user_id,
            _PLAIN_CUSTOMERS.c.anonymous_id,
            _PLAIN.c.message_id,
            _PLAIN_RESPONSES.c.rating,
            _PLAIN_RESPONSES.c.comment,
            _PLAIN_RESPONSES.c.answered_at,
        )
        .join(_PLAIN_CUSTOMERS, _PLAIN_CUSTOMERS.c.id == _PLAIN.c.customer_id)
        .join(_PLAIN_RESPONSES, _PLAIN_RESPONSES.c.id == _PLAIN.c.response_id)
        .where(_PLAIN.c.status == OutboxStatus.PENDING)
        .order_by(_PLAIN.c.customer_id)
    )
    if customer_ids is not None:
        query = query.where(_PLAIN.c.customer_id.in_(customer_ids))
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield from connection.execute(query)
        return
    # SQLite's driver lets go of the interpreter lock for every row it steps to, and gets it
    # back only when the sender or recorder thread of a sync yields it: a thread switch per
    # row (measured: 50 ms for 20,000 rows alone, 8x that during a sync). So a page of rows
    # comes back as one row of JSON arrays, one array per column (plain values, no list per
    # row for the garbage collector to track); every array lists the rows in the same order.
    after: int | None = None
    while True:
        page = query.limit(_PAGE_ROWS)
        if after is not None:
            page = page.where(_PLAIN.c.customer_id > after)
        columns = page.subquery().c
        packed = connection.execute(select(*(func.json_group_array(c) for c in columns))).one()
        values = [json.loads(text) for text in packed]
        customer_ids = values[0]
        yield from zip(*values, strict=True)
        if len(customer_ids) < _PAGE_ROWS:
            return
        after = max(customer_ids)


def _wire_time(stored: Any) -> str:
    """A stored answered_at as the identify's ISO text: ``_iso(read_storage_time(stored))``."""
    # Our stored form, "2026-11-01 08:00:00.123456" (naive UTC), is rewritten as text; the
    # datetime round trip costs more than the rest of the identify.
    if (
        type(stored) is str
        and len(stored) == _STORED_TEXT_LENGTH
        and stored[10] == " "
        and stored[19] == "."
        and stored[20:].isdigit()
    ):
        if stored.endswith("000000"):
            return f"{stored[:10]}T{stored[11:19]}Z"
        return f"{stored[:10]}T{stored[11:23]}Z"  # milliseconds, truncated as isoformat does
    moment = read_storage_time(stored)
    assert moment is not None  # the column is NOT NULL
    return _iso(moment)


def _iso(moment: datetime) -> str:
    # iso_utc, minus its conversions for the common case of a UTC time read from the database.
    if moment.tzinfo is UTC:
        text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
        return text[:-6] + "Z"
    return iso_utc(moment) or ""


_json_text = json.encoder.encode_basestring


def _clean(comment: str | None) -> str:
    if not comment:
        return ""
    try:
        comment.encode()
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud83d" cannot go out as UTF-8
        return comment.encode("utf-8", "replace").decode()
    return comment


def _character_boundary(text: str, cut: int) -> int:
    """Move ``cut`` back so it does not split a base letter from its accents or an emoji."""
    while 0 < cut < len(text) and _joins_previous(text[cut]):
        cut -= 1
    while cut > 0 and text[cut - 1] == "\u200d":  # never end on a zero-width joiner
        cut -= 1
    return cut


def _joins_previous(char: str) -> bool:
    return (
        unicodedata.combining(char) != 0
        or char in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin-tone modifiers
        or unicodedata.category(char) == "Me"
    )


def _update_by_message_id(
    session: Session, message_ids: Sequence[str], values: dict[str, Any]
) -> int:
    if not message_ids:
        return 0
    statement = (
        update(_OUTBOX)
        .where(
            _OUTBOX.c.message_id == bindparam("row_message"),
            _OUTBOX.c.status == OutboxStatus.PENDING,
        )
        .values(values)
    )
    result = session.connection().execute(statement, [{"row_message": m} for m in message_ids])
    return int(result.rowcount)
