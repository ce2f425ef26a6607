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

import json
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlmodel import Session, col

from callexa_desktop import __version__
from callexa_desktop.core.clock import iso_utc
from callexa_desktop.core.models import Customer, Response, SyncOutbox

# Fixed forever: changing it would give every already-delivered rating a new messageId.
MESSAGE_ID_NAMESPACE = uuid.UUID("5d3f0f3e-6c1b-5b57-9a43-0c9f2d8f1e61")
# Segment refuses messages over 32 KB; stay a little under so proxies' additions still fit.
MESSAGE_BUDGET_BYTES = 32 * 1024 - 768
TRUNCATION_MARK = "…"
LIBRARY = {"name": "callexa-desktop", "version": __version__}
_SQL_CHUNK = 500  # ids per IN (...) clause
_OUTBOX = SyncOutbox.__table__  # type: ignore[attr-defined]
_ATTEMPTS = _OUTBOX.c.attempts


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
    """The messageId of the identify carrying response ``dedupe_key`` for customer ``email``."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{dedupe_key}\n{email}"))


def refresh_outbox(session: Session, now: datetime) -> int:
    """Point every customer's row at their latest response; returns how many became pending.

    A customer whose latest response is already in their row is not touched (delivered stays
    delivered). The caller commits.
    """
    latest = _latest_responses()
    outbox = _OUTBOX
    rows = session.execute(
        select(
            latest.c.customer_id,
            latest.c.response_id,
            latest.c.dedupe_key,
            col(Customer.email),
            outbox.c.customer_id.label("has_row"),
        )
        .join(Customer, col(Customer.id) == latest.c.customer_id)
        .outerjoin(outbox, outbox.c.customer_id == latest.c.customer_id)
        .where(
            latest.c.rank == 1,
            or_(outbox.c.customer_id.is_(None), outbox.c.response_id != latest.c.response_id),
        )
    ).all()
    refreshed = [
        {
            "customer_id": customer_id,
            "response_id": response_id,
            "message_id": message_id_for(dedupe_key, email),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "last_error": None,
            "queued_at": now,
            "delivered_at": None,
        }
        for customer_id, response_id, dedupe_key, email, _ in rows
    ]
    new_rows = [row for row, found in zip(refreshed, rows, strict=True) if found[4] is None]
    changed_rows = [row for row, found in zip(refreshed, rows, strict=True) if found[4] is not None]
    if new_rows:
        session.execute(insert(SyncOutbox), new_rows)
    if changed_rows:
        # ORM bulk update by primary key: one executemany for every changed customer.
        session.execute(update(SyncOutbox), changed_rows)
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
    )
    for row in session.execute(query):
        yield OutboxEntry(*row)


def encode_identify(entry: OutboxEntry) -> EncodedIdentify | None:
    """The identify for ``entry`` as compact JSON bytes, at most MESSAGE_BUDGET_BYTES long.

    An over-long comment is cut at a character boundary (and marked with "…"); the rating is
    never dropped. None when even an empty comment does not fit (absurdly long ids).
    """
    comment = _clean(entry.comment)
    message = _identify(entry, comment)
    body = _dumps(message)
    if len(body) <= MESSAGE_BUDGET_BYTES:
        return EncodedIdentify(entry.message_id, entry.customer_id, body, False)
    if len(_dumps(_identify(entry, TRUNCATION_MARK))) > MESSAGE_BUDGET_BYTES:
        return None
    # Largest prefix that fits; no character needs fewer than one byte, so cap the search.
    low, high = 0, min(len(comment), MESSAGE_BUDGET_BYTES)
    while low < high:
        middle = (low + high + 1) // 2
        trial = _identify(entry, comment[:middle] + TRUNCATION_MARK)
        if len(_dumps(trial)) <= MESSAGE_BUDGET_BYTES:
            low = middle
        else:
            high = middle - 1
    cut = _character_boundary(comment, low)
    body = _dumps(_identify(entry, comment[:cut] + TRUNCATION_MARK))
    return EncodedIdentify(entry.message_id, entry.customer_id, body, True)


def mark_delivered(session: Session, message_ids: Sequence[str], now: datetime) -> int:
    """Mark the rows carrying these messageIds delivered (Segment answered 2xx). Caller commits.

    A row whose messageId changed meanwhile (a newer response) is left pending.
    """
    return _update_by_message_id(
        session,
        message_ids,
        {
            "status": OutboxStatus.DELIVERED,
            "delivered_at": now,
            "last_error": None,
            "attempts": _ATTEMPTS + 1,
        },
    )


def mark_rejected(session: Session, message_id: str, reason: str) -> int:
    """Segment refused this message itself; it is not retried until a newer response."""
    values = {
        "status": OutboxStatus.REJECTED,
        "last_error": reason[:500],
        "attempts": _ATTEMPTS + 1,
    }
    return _update_by_message_id(session, [message_id], values)


def note_failed_attempt(session: Session, message_ids: Sequence[str], error: str) -> int:
    """Record a failed try; the rows stay pending for the next run."""
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


def _latest_responses() -> Any:
    """Each customer's responses ranked newest first (rank 1 = the latest)."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(Response.customer_id),
            order_by=[col(Response.answered_at).desc(), col(Response.id).desc()],
        )
        .label("rank")
    )
    return select(
        col(Response.customer_id).label("customer_id"),
        col(Response.id).label("response_id"),
        col(Response.dedupe_key).label("dedupe_key"),
        rank,
    ).subquery("latest")


def _identify(entry: OutboxEntry, comment: str) -> dict[str, Any]:
    identity = {"userId": entry.user_id} if entry.user_id else {"anonymousId": entry.anonymous_id}
    when = iso_utc(entry.answered_at)
    return {
        "type": "identify",
        **identity,
        "traits": {"NPS_rating": int(entry.rating), "NPS_comment": comment, "NPS_date": when},
        "timestamp": when,
        "messageId": entry.message_id,
        "context": {"library": LIBRARY},
    }


def _dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


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
    session: Session, message_ids: Iterable[str], values: dict[str, Any]
) -> int:
    outbox = _OUTBOX
    changed = 0
    iterator = iter(message_ids)
    while chunk := list(islice(iterator, _SQL_CHUNK)):
        result = session.connection().execute(
            update(outbox)
            .where(and_(outbox.c.message_id.in_(chunk), outbox.c.status == OutboxStatus.PENDING))
            .values(values)
        )
        changed += result.rowcount
    return changed
