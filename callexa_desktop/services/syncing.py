"""The sync run: push every customer's latest rating to Segment as identify traits.

A run checks the outbox against the responses, encodes the pending identifies, and hands
them to ``SegmentClient``. A row is marked delivered only once Segment answered 2xx to a
request carrying it; that commit runs on the client's recording thread while the next
requests travel, and every one is done before the run returns. A run killed at any point
loses nothing: the next run sends whatever was not yet committed as delivered (a batch
acknowledged just before the kill too) with the same messageIds, which Segment deduplicates.
It is recorded as a "sync" Activity run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import Session

from callexa_desktop.core.activity import RunKind, RunStatus, recorded_run
from callexa_desktop.core.errors import SyncRefused
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.sync_outbox import (
    IdentifyPage,
    PendingIdentify,
    mark_delivered,
    mark_rejected,
    note_failed_attempt,
    pending_counts,
    pending_identify_pages,
    refresh_outbox,
)
from callexa_desktop.services.segment import Message, RetryPolicy, SegmentClient

log = logging.getLogger(__name__)

TOO_LARGE = "the identify would be over Segment's 32 KB limit even without the comment"


@dataclass
class SyncSummary:
    """What a sync did (or, for a dry run, would do)."""

    run_id: int | None = None
    dry_run: bool = False
    endpoint: str = ""
    to_send: int = 0  # syncable identifies pending at the start
    delivered: int = 0
    failed: int = 0  # refused by Segment (or too large); retried only after a newer response
    pending: int = 0  # syncable, still undelivered after the run: the next run sends them
    not_syncable: list[str] = field(default_factory=list)  # emails without userId/anonymousId
    rejected: list[dict[str, str]] = field(default_factory=list)  # email, message_id, reason
    comments_truncated: int = 0
    requests: int = 0
    retries: int = 0
    stopped: str = ""  # a sentence when the run stopped early (bad key, Segment unreachable)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """True when the run did its job (refused messages are reported, not a failure)."""
        return not self.stopped

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (``sync --json`` and the Activity history)."""
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "endpoint": self.endpoint,
            "to_send": self.to_send,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
            "not_syncable": list(self.not_syncable),
            "rejected": list(self.rejected),
            "comments_truncated": self.comments_truncated,
            "requests": self.requests,
            "retries": self.retries,
            "stopped": self.stopped,
            "cancelled": self.cancelled,
        }

    def sentence(self) -> str:
        """One line for the operator."""
        if self.dry_run:
            text = f"Would send {self.to_send} rating{_s(self.to_send)} to Segment"
        else:
            text = f"Delivered {self.delivered} of {self.to_send} rating{_s(self.to_send)}"
        extras = []
        if self.failed:
            extras.append(f"{self.failed} refused by Segment")
        if self.pending and not self.dry_run:
            extras.append(f"{self.pending} left for the next sync")
        if self.not_syncable:
            count = len(self.not_syncable)
            extras.append(f"{count} customer{_s(count)} without userId or anonymousId")
        text += f" ({'; '.join(extras)})." if extras else "."
        if self.cancelled:
            text += " The sync was cancelled."
        if self.stopped:
            text += " " + self.stopped
        return text


def sync_ratings(
    profile: Profile,
    write_key: str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 15.0,
    retry: RetryPolicy | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> SyncSummary:
    """Deliver every customer's latest undelivered rating to the ``segment_endpoint`` setting.

    ``progress(delivered, to_send)`` is called after each acknowledged batch is committed,
    from the run's recording thread; ``should_cancel`` is asked before each request, from a
    sender thread (both one call at a time). When this returns, every acknowledged batch
    is committed. A dry run changes nothing and sends nothing, and needs no key. Raises
    SyncRefused when ``write_key`` is empty or malformed; every other problem ends up in the
    summary (``stopped``), and the Activity run is marked failed.
    """
    endpoint = profile.settings().segment_endpoint
    if dry_run:
        return _dry_run(profile, endpoint)
    if not write_key:
        raise SyncRefused(
            "No Segment write key is set; store it with `callexa-desktop keys set segment` "
            "(it is read from standard input) or set SEGMENT_WRITE_KEY."
        )
    client = SegmentClient(
        endpoint,
        write_key,
        transport=transport,
        timeout=timeout,
        retry=retry,
        sleep=sleep,
        monotonic=monotonic,
    )
    with recorded_run(
        profile.database,
        RunKind.SYNC,
        source=endpoint,
        clock=profile.clock,
        failure_message="The sync stopped part-way; acknowledged ratings were kept as delivered.",
    ) as run:
        summary = SyncSummary(run_id=run.run_id, endpoint=endpoint)
        run.counts = lambda: _counts(summary)
        with client:
            _sync(profile, client, summary, progress, should_cancel)
        if summary.stopped:
            run.status = RunStatus.FAILED
        elif summary.cancelled:
            run.status = RunStatus.CANCELLED
        run.message = summary.sentence()
    return summary


def _sync(
    profile: Profile,
    client: SegmentClient,
    summary: SyncSummary,
    progress: Callable[[int, int], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> None:
    with profile.database.session() as session:
        refresh_outbox(session, profile.clock())  # a safety net: recording keeps it current
    plan = _Plan(summary)

    def acknowledged(message_ids: list[str]) -> None:
        # On the recording thread, one batch at a time, after Segment's 2xx for it.
        with profile.database.session() as session:
            pairs = [(plan.customer_ids[m], m) for m in message_ids]
            mark_delivered(session, pairs, profile.clock())
        summary.delivered += len(message_ids)
        if progress is not None:
            progress(summary.delivered, summary.to_send)

    # Rows are read and encoded while batches already travel (WAL lets this reader and the
    # recording thread's commits work side by side).
    with profile.database.session() as reading:
        pending, not_syncable = pending_counts(reading)
        summary.to_send = pending - not_syncable
        if progress is not None:
            progress(0, summary.to_send)
        report = client.deliver_pages(
            plan.messages(pending_identify_pages(reading, read_ahead=True)),
            on_acknowledged=acknowledged,
            should_cancel=should_cancel,
        )
    summary.requests, summary.retries = report.requests, report.retries
    summary.stopped, summary.cancelled = report.stopped, report.cancelled
    with profile.database.session() as session:
        plan.record_too_large(session)
        for message_id, reason in report.rejected:
            mark_rejected(session, message_id, reason)
            email = plan.emails[message_id]
            summary.rejected.append({"email": email, "message_id": message_id, "reason": reason})
        if report.undelivered and report.last_error:
            note_failed_attempt(session, report.undelivered, report.last_error)
    summary.to_send -= len(plan.too_large)
    summary.failed = len(summary.rejected)
    summary.pending = len(report.undelivered)


class _Plan:
    """Turns pending identifies into wire messages, noting what cannot be sent."""

    def __init__(self, summary: SyncSummary) -> None:
        self.summary = summary
        # By messageId, for the acknowledgements and refusals; plain values only, so the
        # garbage collector has nothing to follow in them.
        self.customer_ids: dict[str, int] = {}
        self.emails: dict[str, str] = {}
        self.too_large: list[PendingIdentify] = []

    def messages(self, pages: Iterable[IdentifyPage]) -> Iterator[list[Message]]:
        """The pages' messages for the wire, a page at a time (tens of thousands of rows go
        through here in a sync); the rows set aside are looked at one by one."""
        customer_ids, emails = self.customer_ids, self.emails
        for page in pages:
            message_ids = [message_id for message_id, _ in page.messages]
            customer_ids.update(zip(message_ids, page.customer_ids, strict=True))
            emails.update(zip(message_ids, page.emails, strict=True))
            yield page.messages
            if page.set_aside:
                yield list(self._one_by_one(page.set_aside))

    def _one_by_one(self, identifies: Iterable[PendingIdentify]) -> Iterator[Message]:
        for customer_id, email, message_id, syncable, body, comment_truncated in identifies:
            if body is None:
                if syncable:
                    self.too_large.append(
                        PendingIdentify(customer_id, email, message_id, True, None)
                    )
                else:
                    self.summary.not_syncable.append(email)
                continue
            if comment_truncated:
                self.summary.comments_truncated += 1
            self.customer_ids[message_id] = customer_id
            self.emails[message_id] = email
            yield (message_id, body)

    def record_too_large(self, session: Session) -> None:
        for identify in self.too_large:
            mark_rejected(session, identify.message_id, TOO_LARGE)
            self.summary.rejected.append(
                {"email": identify.email, "message_id": identify.message_id, "reason": TOO_LARGE}
            )


def _dry_run(profile: Profile, endpoint: str) -> SyncSummary:
    summary = SyncSummary(dry_run=True, endpoint=endpoint)
    plan = _Plan(summary)
    # Work on a session that is rolled back: a dry run leaves the database as it was.
    with Session(profile.database.engine) as session:
        try:
            refresh_outbox(session, profile.clock())
            summary.to_send = sum(map(len, plan.messages(pending_identify_pages(session))))
            plan.record_too_large(session)
            summary.pending = summary.to_send
            summary.failed = len(summary.rejected)
        finally:
            session.rollback()
    return summary


def _counts(summary: SyncSummary) -> dict[str, Any]:
    data = summary.as_dict()
    data["not_syncable"] = len(summary.not_syncable)
    data["rejected"] = len(summary.rejected)
    return data


def _s(count: int) -> str:
    return "" if count == 1 else "s"
