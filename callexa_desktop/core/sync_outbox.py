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
import unicodedata
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, column, func, insert, or_, select, table, update
from sqlmodel import Session, col

from callexa_desktop import __version__
from callexa_desktop.core.clock import iso_utc
from callexa_desktop.core.models import Customer, Response, SyncOutbox

# Fixed forever: changing it would give every already-delivered rating a new messageId.
MESSAGE_ID_NAMESPACE = uuid.UUID("5d3f0f3e-6c1b-5b57-9a43-0c9f2d8f1e61")
_NAMESPACE_BYTES = MESSAGE_ID_NAMESPACE.bytes
# Segment refuses messages over 32 KB; stay a little under so proxies' additions still fit.
MESSAGE_BUDGET_BYTES = 32 * 1024 - 768
TRUNCATION_MARK = "…"
LIBRARY = {"name": "callexa-desktop", "version": __version__}
_SQL_CHUNK = 500  # rows per IN (...) list
_OUTBOX = SyncOutbox.__table__  # type: ignore[attr-defined]
_ATTEMPTS = _OUTBOX.c.attempts
# The same table without column types: bulk writes skip per-value conversion, and times are
# converted once per statement by ``_stored_time``.
_PLAIN = table("sync_outbox", *(column(c.name) for c in _OUTBOX.c))


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
    it touched); None checks everyone, which is cheap when nothing changed. A customer whose
    latest response is already in their row is not touched (delivered stays delivered).
    The caller commits.
    """
    if customer_ids is None:
        return _refresh(session, now, None)
    ids = sorted(customer_ids)
    return sum(
        _refresh(session, now, ids[start : start + _SQL_CHUNK])
        for start in range(0, len(ids), _SQL_CHUNK)
    )


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
    outbox = _OUTBOX
    query = (
        select(
            outbox.c.customer_id,
            col(Customer.email),
            col(Customer.user_id),
            col(Customer.anonymous_id),
            outbox.c.message_id,
            col(Response.rating),
            col(Response.comment),
            col(Response.answered_at),
        )
        .join(Customer, col(Customer.id) == outbox.c.customer_id)
        .join(Response, col(Response.id) == outbox.c.response_id)
        .where(outbox.c.status == OutboxStatus.PENDING)
        .order_by(outbox.c.customer_id)
        .execution_options(yield_per=2000)
    )
    for row in session.execute(query):
        yield OutboxEntry(*row)


def encode_identify(entry: OutboxEntry) -> EncodedIdentify | None:
    """The identify for ``entry`` as compact JSON bytes, at most MESSAGE_BUDGET_BYTES long.

    An over-long comment is cut at a character boundary (and marked with "…"); the rating is
    never dropped. None when even an empty comment does not fit (absurdly long ids).
    """
    comment = _clean(entry.comment)
    body = _identify_json(entry, comment)
    if len(body) <= MESSAGE_BUDGET_BYTES:
        return EncodedIdentify(entry.message_id, entry.customer_id, body, False)
    if len(_identify_json(entry, TRUNCATION_MARK)) > MESSAGE_BUDGET_BYTES:
        return None
    # Largest prefix that fits; no character needs fewer than one byte, so cap the search.
    low, high = 0, min(len(comment), MESSAGE_BUDGET_BYTES)
    while low < high:
        middle = (low + high + 1) // 2
        trial = _identify_json(entry, comment[:middle] + TRUNCATION_MARK)
        if len(trial) <= MESSAGE_BUDGET_BYTES:
            low = middle
        else:
            high = middle - 1
    cut = _character_boundary(comment, low)
    body = _identify_json(entry, comment[:cut] + TRUNCATION_MARK)
    return EncodedIdentify(entry.message_id, entry.customer_id, body, True)


def mark_delivered(session: Session, deliveries: Sequence[tuple[int, str]], now: datetime) -> int:
    """Mark delivered the rows of these (customer_id, messageId) pairs (Segment answered 2xx).

    A row whose messageId changed meanwhile (a newer response) is left pending. The caller
    commits.
    """
    delivered_at = _stored_time(session, now)
    statement = (
        update(_PLAIN)
        .where(
            _PLAIN.c.customer_id.in_(bindparam("customers", expanding=True)),
            _PLAIN.c.message_id.in_(bindparam("messages", expanding=True)),
            _PLAIN.c.status == OutboxStatus.PENDING,
        )
        .values(
            status=OutboxStatus.DELIVERED,
            delivered_at=delivered_at,
            last_error=None,
            attempts=_PLAIN.c.attempts + 1,
        )
    )
    changed = 0
    for start in range(0, len(deliveries), _SQL_CHUNK):
        chunk = deliveries[start : start + _SQL_CHUNK]
        # Both lists: the customer ids find the rows, the messageIds check they are unchanged.
        result = session.connection().execute(
            statement, {"customers": [c for c, _ in chunk], "messages": [m for _, m in chunk]}
        )
        changed += result.rowcount
    return changed


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
    not_syncable = session.execute(
        select(func.count())
        .select_from(outbox)
        .join(Customer, col(Customer.id) == outbox.c.customer_id)
        .where(
            outbox.c.status == OutboxStatus.PENDING,
            func.coalesce(col(Customer.user_id), "") == "",
            func.coalesce(col(Customer.anonymous_id), "") == "",
        )
    ).scalar_one()
    return OutboxCounts(
        pending=int(by_status.get(OutboxStatus.PENDING, 0)),
        delivered=int(by_status.get(OutboxStatus.DELIVERED, 0)),
        rejected=int(by_status.get(OutboxStatus.REJECTED, 0)),
        not_syncable=int(not_syncable),
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
    """The Segment identify for ``entry`` as a dict (``comment`` replaces the stored one)."""
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
        "context": {"library": LIBRARY},
    }


def _identify_json(entry: OutboxEntry, comment: str) -> bytes:
    # The same compact JSON as dumping identify_message(), written out directly because
    # building and dumping 20,000 dicts is the bulk of a large sync's own work.
    if entry.user_id:
        identity = '"userId":' + _json_text(entry.user_id)
    else:
        identity = '"anonymousId":' + _json_text(entry.anonymous_id or "")
    when = _iso(entry.answered_at)
    return (
        f'{{"type":"identify",{identity},"traits":{{"NPS_rating":{int(entry.rating)},'
        f'"NPS_comment":{_json_text(comment)},"NPS_date":"{when}"}},"timestamp":"{when}",'
        f'"messageId":{_json_text(entry.message_id)},"context":{_CONTEXT_JSON}}}'
    ).encode()


def _iso(moment: datetime) -> str:
    # iso_utc, minus its conversions for the common case of a UTC time read from the database.
    if moment.tzinfo is UTC:
        text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
        return text[:-6] + "Z"
    return iso_utc(moment) or ""


_json_text = json.encoder.encode_basestring
_CONTEXT_JSON = json.dumps({"library": LIBRARY}, ensure_ascii=False, separators=(",", ":"))


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
