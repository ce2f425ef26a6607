"""Survey responses: checked, deduplicated and kept, from Callexa pulls and export files.

A response is (email, rating 0–10, comment, answered_at, optional sent_at). Ratings must be
whole numbers from 0 to 10; anything else is rejected with a reason and where it was. A
response is stored once: it is recognised by Callexa's response id, else by a hash of
(email, rating, answered_at). A response for an email without a customer creates the
customer. Every response is survey history for the interval rule (the customer's
``last_surveyed_at`` becomes at least its sent_at, else its answered_at), and the customer's
``nps_rating``/``nps_comment``/``nps_date`` follow the latest response by answered_at, in
whatever order the responses arrive, and the customer's sync-back outbox row is brought up to
date in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from callexa_desktop.core.activity import RunKind, recorded_run
from callexa_desktop.core.clock import as_utc, iso_utc
from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.models import Customer, Rejection, Response, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.response_files import iter_rows
from callexa_desktop.core.review import initial_follow_up
from callexa_desktop.core.sync_outbox import refresh_outbox

log = logging.getLogger(__name__)

MAX_RATING = 10
CHUNK_SIZE = 500  # responses per database round trip
KEPT_REJECTIONS = 1000  # rejections listed in a summary; all are in the Rejection table

# Column and field names seen in exports, compared without case, spaces, "_" or "-".
_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "recipient"),
    "rating": ("rating", "score", "nps", "npsrating", "npsscore"),
    "comment": ("comment", "comments", "feedback", "npscomment", "text"),
    "answered_at": ("answeredat", "respondedat", "repliedat", "npsdate", "date", "timestamp"),
    "sent_at": ("sentat", "surveyedat", "surveysentat"),
    "id": ("id", "responseid"),
    "survey_key": ("surveykey", "idempotencykey"),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_WHOLE_NUMBER = re.compile(r"\s*\+?\d+\s*")


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One valid response. Times are aware UTC; the email trimmed and lower-cased."""

    email: str
    rating: int
    comment: str
    answered_at: datetime
    source: str
    line: int | None = None
    sent_at: datetime | None = None
    response_id: str | None = None  # Callexa's id, when known
    survey_key: str | None = None  # the survey it answers, when Callexa says so

    @property
    def dedupe_key(self) -> str:
        """Callexa's id, else a hash of (email, rating, answered_at)."""
        if self.response_id:
            return f"callexa:{self.response_id}"
        canonical = f"{self.email}\n{self.rating}\n{iso_utc(self.answered_at)}"
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ResponseRejected:
    """A response that could not be taken, where it was, and why."""

    source: str
    line: int | None
    reason: str  # missing_email, invalid_email, missing_rating, invalid_rating, ...
    detail: str = ""


ResponseItem = ResponseRecord | ResponseRejected


@dataclass
class ResponseSummary:
    """What a pull or an import did. ``rejections`` lists at most KEPT_REJECTIONS of them."""

    run_id: int | None = None
    files: list[str] = field(default_factory=list)
    read: int = 0
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    customers_created: int = 0
    refused_files: list[tuple[str, str]] = field(default_factory=list)
    rejections: list[ResponseRejected] = field(default_factory=list)
    pages: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (for ``--json`` and the Activity history)."""
        return {
            "run_id": self.run_id,
            "files": list(self.files),
            "read": self.read,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "customers_created": self.customers_created,
            "pages": self.pages,
            "refused_files": [{"file": f, "reason": r} for f, r in self.refused_files],
            "rejections": [asdict(r) for r in self.rejections],
        }

    def sentence(self) -> str:
        """One line for the operator."""
        text = f"Recorded {self.recorded} new response{'s' if self.recorded != 1 else ''}"
        extras = []
        if self.duplicates:
            extras.append(f"{self.duplicates} already known")
        if self.rejected:
            extras.append(f"{self.rejected} rejected")
        if self.customers_created:
            count = self.customers_created
            extras.append(f"{count} new customer{'s' if count != 1 else ''}")
        if self.refused_files:
            count = len(self.refused_files)
            extras.append(f"{count} file{'s' if count != 1 else ''} could not be read")
        return text + (f" ({', '.join(extras)})." if extras else ".")


def normalise_response(
    fields: Mapping[str, Any], *, source: str, line: int | None
) -> ResponseRecord | ResponseRejected:
    """Check one response given as named fields (a CSV row, a JSON object, a pulled reply).

    Returns the ResponseRecord, or a ResponseRejected saying why and where.
    """
    values = _by_meaning(fields)

    def rejected(reason: str, detail: str = "") -> ResponseRejected:
        return ResponseRejected(source, line, reason, detail)

    email = _text(values.get("email")).lower()
    if not email:
        return rejected("missing_email", "the response has no email address")
    if not _EMAIL.fullmatch(email):
        return rejected("invalid_email", f"{email!r} is not an email address")
    rating = parse_rating(values.get("rating"))
    if isinstance(rating, str):
        return rejected(*rating.split(":", 1))
    answered_at = parse_moment(values.get("answered_at"))
    if answered_at is None:
        if _text(values.get("answered_at")):
            return rejected("invalid_answered_at", f"{values['answered_at']!r} is not a date")
        return rejected("missing_answered_at", "the response has no time of reply (answered_at)")
    sent_at = parse_moment(values.get("sent_at"))
    if sent_at is None and _text(values.get("sent_at")):
        return rejected("invalid_sent_at", f"{values['sent_at']!r} is not a date")
    return ResponseRecord(
        email=email,
        rating=rating,
        comment=_text(values.get("comment")),
        answered_at=answered_at,
        sent_at=sent_at,
        source=source,
        line=line,
        response_id=_text(values.get("id")) or None,
        survey_key=_text(values.get("survey_key")) or None,
    )


def parse_rating(value: Any) -> int | str:
    """The rating as an int 0–10, or "reason:detail" when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing_rating:the response has no rating"
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return f"invalid_rating:{value!r} is not a whole number from 0 to {MAX_RATING}"
    if not 0 <= number <= MAX_RATING:
        return f"rating_out_of_range:{number} is not between 0 and {MAX_RATING}"
    return number


def parse_moment(value: Any) -> datetime | None:
    """An ISO-8601 text, epoch seconds or datetime as aware UTC; None if absent or unreadable."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = _text(value)
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def read_response_file(path: Path) -> Iterator[ResponseItem]:
    """Stream the responses of a CSV/JSON export (optionally gzip), checked one by one.

    Yields a ResponseRecord or ResponseRejected per row, with the file name and line.
    Raises UnreadableFile when the file cannot be read at all (possibly part-way through).
    """
    for row in iter_rows(path):
        if row.fields is None:
            yield ResponseRejected(path.name, row.line, "malformed_row", row.problem)
        else:
            yield normalise_response(row.fields, source=path.name, line=row.line)


def record_responses(
    session: Session,
    responses: Iterable[ResponseItem],
    *,
    source: str,
    now: datetime,
    run_id: int | None = None,
    summary: ResponseSummary | None = None,
) -> ResponseSummary:
    """Store new responses and update their customers; the caller commits.

    Rejections are counted (and stored in the Rejection table when ``run_id`` is given).
    Pass ``summary`` to add to an existing one. Returns the summary.
    """
    summary = summary if summary is not None else ResponseSummary(run_id=run_id)
    iterator = iter(responses)
    while chunk := list(islice(iterator, CHUNK_SIZE)):
        _record_chunk(session, chunk, source=source, now=now, run_id=run_id, summary=summary)
    return summary


def import_response_files(
    profile: Profile,
    paths: Sequence[Path],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ResponseSummary:
    """Import response export files into the profile, as one "responses" Activity run.

    Each chunk is committed as it is read, so an unreadable file part-way keeps what came
    before it. ``progress(files_done, files_total)`` is called after each file.
    """
    names = [path.name for path in paths]
    with recorded_run(
        profile.database,
        RunKind.RESPONSES,
        source=", ".join(names),
        clock=profile.clock,
        failure_message="The import stopped part-way; responses read before that were kept.",
    ) as run:
        summary = ResponseSummary(run_id=run.run_id, files=names)
        run.counts = lambda: _counts(summary)
        for done, path in enumerate(paths, start=1):
            _import_one(profile, path, run.run_id, summary)
            if progress is not None:
                progress(done, len(paths))
        run.message = summary.sentence()
    return summary


def _import_one(profile: Profile, path: Path, run_id: int, summary: ResponseSummary) -> None:
    items = read_response_file(path)
    try:
        while chunk := list(islice(items, CHUNK_SIZE)):
            with profile.database.session() as session:
                now = profile.clock()
                _record_chunk(
                    session, chunk, source=path.name, now=now, run_id=run_id, summary=summary
                )
    except UnreadableFile as error:
        log.warning("responses import: %s", error)
        summary.refused_files.append((path.name, str(error)))


def _counts(summary: ResponseSummary) -> dict[str, Any]:
    data = summary.as_dict()
    data.pop("rejections")
    return data


# -- storing --------------------------------------------------------------------------------


def _record_chunk(
    session: Session,
    items: Sequence[ResponseItem],
    *,
    source: str,
    now: datetime,
    run_id: int | None,
    summary: ResponseSummary,
) -> None:
    records: list[ResponseRecord] = []
    for item in items:
        summary.read += 1
        if isinstance(item, ResponseRejected):
            _reject(session, item, run_id, summary)
        else:
            records.append(item)
    if not records:
        return
    known = set(
        session.exec(
            select(Response.dedupe_key).where(
                col(Response.dedupe_key).in_({r.dedupe_key for r in records})
            )
        )
    )
    customers = _customers_for(session, {r.email for r in records}, now, summary)
    surveys = _SurveyFinder(session, [c.id for c in customers.values() if c.id is not None])
    touched: set[int] = set()
    for record in records:
        key = record.dedupe_key
        if key in known:
            summary.duplicates += 1
            continue
        known.add(key)
        customer = customers[record.email]
        assert customer.id is not None
        session.add(
            Response(
                dedupe_key=key,
                customer_id=customer.id,
                survey_id=surveys.survey_for(customer.id, record),
                rating=record.rating,
                comment=record.comment,
                answered_at=record.answered_at,
                sent_at=record.sent_at,
                source=record.source or source,
                received_at=now,
                follow_up=initial_follow_up(record.rating),
            )
        )
        _apply_to_customer(customer, record)
        touched.add(customer.id)
        summary.recorded += 1
    session.flush()
    # Same transaction: a customer's newest rating is queued for Segment as it is stored.
    refresh_outbox(session, now, touched)


def _reject(
    session: Session, item: ResponseRejected, run_id: int | None, summary: ResponseSummary
) -> None:
    summary.rejected += 1
    if len(summary.rejections) < KEPT_REJECTIONS:
        summary.rejections.append(item)
    if run_id is not None:
        session.add(
            Rejection(
                run_id=run_id,
                source=item.source,
                line=item.line,
                reason=item.reason,
                detail=item.detail,
            )
        )


def _customers_for(
    session: Session, emails: set[str], now: datetime, summary: ResponseSummary
) -> dict[str, Customer]:
    found = {
        customer.email: customer
        for customer in session.exec(select(Customer).where(col(Customer.email).in_(emails)))
    }
    for email in sorted(emails - found.keys()):
        # A reply from someone never identified: keep it; an identify may bring ids later.
        customer = Customer(email=email, first_seen_at=now)
        session.add(customer)
        found[email] = customer
        summary.customers_created += 1
    session.flush()
    return found


def _apply_to_customer(customer: Customer, record: ResponseRecord) -> None:
    surveyed_at = record.sent_at or record.answered_at
    if customer.last_surveyed_at is None or surveyed_at > customer.last_surveyed_at:
        customer.last_surveyed_at = surveyed_at
    # ">=": of two replies at the same moment, the one stored later wins, as in the outbox.
    if customer.nps_date is None or record.answered_at >= customer.nps_date:
        customer.nps_rating = record.rating
        customer.nps_comment = record.comment
        customer.nps_date = record.answered_at


class _SurveyFinder:
    """Which survey a response answers: the one Callexa names, else the latest sent before it."""

    def __init__(self, session: Session, customer_ids: list[int]) -> None:
        self._by_customer: dict[int, list[Survey]] = {}
        self._by_key: dict[str, Survey] = {}
        query = select(Survey).where(
            col(Survey.customer_id).in_(customer_ids), Survey.status == SurveyStatus.SENT
        )
        for survey in session.exec(query):
            self._by_customer.setdefault(survey.customer_id, []).append(survey)
            self._by_key[survey.key] = survey

    def survey_for(self, customer_id: int, record: ResponseRecord) -> int | None:
        if record.survey_key:
            named = self._by_key.get(record.survey_key)
            if named is not None and named.customer_id == customer_id:
                return named.id
        sent_before = [
            s
            for s in self._by_customer.get(customer_id, [])
            if s.sent_at is not None and s.sent_at <= record.answered_at
        ]
        if not sent_before:
            return None
        return max(sent_before, key=lambda s: (s.sent_at, s.id or 0)).id


def _by_meaning(fields: Mapping[str, Any]) -> dict[str, Any]:
    normalised = {re.sub(r"[\s_\-]", "", str(k)).lower(): v for k, v in fields.items()}
    values: dict[str, Any] = {}
    for meaning, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in normalised and normalised[alias] not in (None, ""):
                values[meaning] = normalised[alias]
                break
    return values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value).strip()
