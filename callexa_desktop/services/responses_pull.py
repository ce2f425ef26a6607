"""Pulling survey responses from Callexa, page by page, from a remembered cursor.

The cursor lives in the ``cursor`` table under ``CURSOR_NAME``. It is advanced in the same
transaction that stores the page, so a crash or a failure mid-pull never skips a page:
the next pull starts again after the last page that was stored (responses are
deduplicated, so a page seen twice does no harm).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from callexa_desktop.core.activity import RunKind, recorded_run
from callexa_desktop.core.models import Cursor
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import (
    ResponseItem,
    ResponseRejected,
    ResponseSummary,
    normalise_response,
    record_responses,
)

log = logging.getLogger(__name__)

CURSOR_NAME = "callexa.responses"
SOURCE = "callexa"


class RemoteReply(Protocol):
    """A reply as the Callexa client reports it (``services.callexa.RemoteResponse``)."""

    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def rating(self) -> int: ...
    @property
    def comment(self) -> str: ...
    @property
    def answered_at(self) -> datetime: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def survey_key(self) -> str | None: ...


class ReplyPage(Protocol):
    """One page (``services.callexa.ResponsePage``)."""

    @property
    def responses(self) -> Sequence[RemoteReply]: ...
    @property
    def next_cursor(self) -> str | None: ...
    @property
    def has_more(self) -> bool: ...
    @property
    def malformed(self) -> int: ...


class ResponseSource(Protocol):
    """What a pull needs of ``services.callexa.CallexaClient``."""

    def list_responses(self, cursor: str | None) -> Any: ...


def pull_responses(
    profile: Profile,
    client: ResponseSource,
    *,
    should_cancel: Callable[[], bool] | None = None,
    max_pages: int = 10_000,
) -> ResponseSummary:
    """Fetch every response Callexa has since the remembered cursor and record them.

    Returns the summary of the "responses" Activity run. A Callexa error (a CallexaError
    with a sentence) ends the run as failed and is raised again; pages stored before it
    stay stored and the cursor stays after the last of them.
    """
    with recorded_run(
        profile.database,
        RunKind.RESPONSES,
        source=SOURCE,
        clock=profile.clock,
        failure_message=_failure_sentence,
    ) as run:
        summary = ResponseSummary(run_id=run.run_id, files=[SOURCE])
        run.counts = lambda: _counts(summary)
        with profile.database.session() as session:
            cursor = load_cursor(session)
        for _ in range(max_pages):
            if should_cancel is not None and should_cancel():
                break
            page: ReplyPage = client.list_responses(cursor)
            summary.pages += 1
            with profile.database.session() as session:
                record_responses(
                    session,
                    _items(page),
                    source=SOURCE,
                    now=profile.clock(),
                    run_id=run.run_id,
                    summary=summary,
                )
                if page.next_cursor and page.next_cursor != cursor:
                    save_cursor(session, page.next_cursor, profile.clock())
            # Stop when Callexa says so, or if it repeats a cursor (it would loop forever).
            if not page.has_more or page.next_cursor in (None, cursor):
                break
            cursor = page.next_cursor
        run.message = summary.sentence()
    return summary


def load_cursor(session: Session) -> str | None:
    """The remembered position in Callexa's response list (None: from the start)."""
    row = session.get(Cursor, CURSOR_NAME)
    return row.value if row is not None else None


def save_cursor(session: Session, value: str, now: datetime) -> None:
    """Remember ``value``; the caller commits it together with the page it follows."""
    session.merge(Cursor(name=CURSOR_NAME, value=value, updated_at=now))


def _items(page: ReplyPage) -> list[ResponseItem]:
    items: list[ResponseItem] = [
        normalise_response(
            {
                "id": reply.id,
                "email": reply.email,
                "rating": reply.rating,
                "comment": reply.comment,
                "answered_at": reply.answered_at,
                "sent_at": reply.sent_at,
                "survey_key": reply.survey_key,
            },
            source=SOURCE,
            line=None,
        )
        for reply in page.responses
    ]
    skipped = int(getattr(page, "malformed", 0) or 0)
    detail = "Callexa sent a response without an id, email, whole-number rating or date"
    items.extend([ResponseRejected(SOURCE, None, "malformed_response", detail)] * skipped)
    return items


def _failure_sentence(error: BaseException) -> str:
    # A CallexaError already is the sentence the operator should read.
    return str(error) or "The pull stopped part-way; pages read before were kept."


def _counts(summary: ResponseSummary) -> dict[str, Any]:
    data = summary.as_dict()
    data.pop("rejections")
    return data
