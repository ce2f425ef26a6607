"""Reviewing survey responses offline: score, distribution, trend, listing, follow-ups, export.

Pure queries over the stored responses, for the window's Responses tab and the command line.
Counts are SQL aggregates (no response is loaded for a summary or a trend); lists are read a
page at a time. Every time that goes in or comes out is aware UTC; only the trend's periods
follow the operator's time zone, which the caller passes in.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from callexa_desktop.core.clock import as_utc, iso_utc
from callexa_desktop.core.errors import ActionRefused, ExportCancelled, ExportFailed
from callexa_desktop.core.models import Customer, Response
from callexa_desktop.core.queue import customer_text_condition, display_name

MAX_RATING = 10
PAGE_SIZE = 500  # rows per query when listing everything (iter_responses, export)
_ID_CHUNK = 500  # ids per IN (...) list, well under SQLite's parameter limit


class Category:
    """The NPS category of a rating."""

    PROMOTER = "promoter"  # 9-10
    PASSIVE = "passive"  # 7-8
    DETRACTOR = "detractor"  # 0-6

    ALL = (PROMOTER, PASSIVE, DETRACTOR)


def category_of(rating: int) -> str:
    """The Category of a 0-10 rating; ValueError outside 0-10."""
    if not 0 <= rating <= MAX_RATING:
        raise ValueError(f"{rating} is not a rating from 0 to {MAX_RATING}")
    if rating >= 9:
        return Category.PROMOTER
    if rating >= 7:
        return Category.PASSIVE
    return Category.DETRACTOR


class FollowUp:
    """A response's follow-up state; None means nothing to do."""

    OPEN = "open"
    DONE = "done"

    ALL = (OPEN, DONE)


def initial_follow_up(rating: int) -> str | None:
    """The follow-up a newly recorded response starts with: open for a detractor, else none."""
    return FollowUp.OPEN if category_of(rating) == Category.DETRACTOR else None


@dataclass(frozen=True)
class ReviewFilter:
    """Which responses a review looks at. Every field left at its default keeps all."""

    since: datetime | None = None  # answered_at >= since
    until: datetime | None = None  # answered_at < until
    category: str | None = None  # Category.*
    with_comment: bool = False  # only responses with a non-blank comment
    follow_up: str | None = None  # FollowUp.* ; None = any
    text: str | None = None  # substring of email, name or comment (case-insensitive)


@dataclass(frozen=True)
class NpsSummary:
    """Counts of the filtered responses and their Net Promoter Score."""

    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # %promoters - %detractors, -100..100; None with no responses
    distribution: tuple[int, ...]  # 11 counts, index = rating 0..10
    with_comment: int
    follow_ups_open: int


@dataclass(frozen=True)
class TrendPoint:
    """One period of the trend."""

    start: datetime  # aware UTC instant of the period's start in the operator's time zone
    label: str  # "Nov 2026" (month) or "2026-W48" (week)
    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None


@dataclass(frozen=True)
class ReviewRow:
    """One response as the review lists it, with its customer's email, name and user id."""

    id: int
    customer_id: int
    email: str
    name: str | None
    user_id: str | None
    rating: int
    category: str
    comment: str
    answered_at: datetime
    sent_at: datetime | None
    source: str
    follow_up: str | None
    follow_up_note: str
    follow_up_changed_at: datetime | None


ORDER_KEYS = ("answered_at", "email", "rating", "follow_up")
PERIODS = ("month", "week")
MAX_TREND_PERIODS = 520  # ten years of weeks; each period is one CASE branch in the query
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

EXPORT_COLUMNS = (
    "answered_at",
    "email",
    "name",
    "user_id",
    "rating",
    "category",
    "comment",
    "follow_up",
    "follow_up_note",
    "sent_at",
    "source",
)


def nps_score(promoters: int, detractors: int, responses: int) -> float | None:
    """%promoters - %detractors (-100..100), or None when there are no responses."""
    if responses <= 0:
        return None
    return 100.0 * (promoters - detractors) / responses


# -- summary and trend ------------------------------------------------------------------------


def nps_summary(session: Session, flt: ReviewFilter = ReviewFilter()) -> NpsSummary:
    """Score, category counts, the 0-10 distribution and follow-up counts of the filtered
    responses, computed by one SQL aggregate query."""
    rating = col(Response.rating)
    columns: list[Any] = [func.count(), *_category_sums()]
    columns.append(func.sum(case((_has_comment(), 1), else_=0)))
    columns.append(func.sum(case((col(Response.follow_up) == FollowUp.OPEN, 1), else_=0)))
    columns.extend(func.sum(case((rating == value, 1), else_=0)) for value in range(11))
    query = _from_responses(select_columns(*columns), flt).where(*_conditions(session, flt))
    row = session.exec(query).one()
    total, promoters, passives, detractors, commented, open_ = (int(v or 0) for v in row[:6])
    return NpsSummary(
        responses=total,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        score=nps_score(promoters, detractors, total),
        distribution=tuple(int(v or 0) for v in row[6:]),
        with_comment=commented,
        follow_ups_open=open_,
    )


def nps_trend(
    session: Session,
    flt: ReviewFilter,
    *,
    tz: tzinfo,
    period: str = "month",
    now: datetime,
    periods: int = 12,
) -> list[TrendPoint]:
    """The score per period for the last ``periods`` months or ISO weeks (Monday start) in the
    time zone ``tz``, ending with the one holding ``now``; oldest first, empty periods
    included with score None. The filter's since/until apply as well."""
    if period not in PERIODS:
        raise ValueError(f"cannot group a trend by {period!r}; use one of {PERIODS}")
    if periods <= 0:
        return []
    if periods > MAX_TREND_PERIODS:
        raise ValueError(f"a trend covers at most {MAX_TREND_PERIODS} periods, not {periods}")
    starts = _period_starts(as_utc(now).astimezone(tz), period, periods)
    bounds = [as_utc(start) for start in starts]
    answered = col(Response.answered_at)
    # Each response falls in the last period whose start it is not before; one pass, in SQL.
    whens = [(answered >= bounds[i], i) for i in range(len(bounds) - 2, 0, -1)]
    bucket = (case(*whens, else_=0) if whens else literal(0)).label("bucket")
    query = _from_responses(select_columns(bucket, func.count(), *_category_sums()), flt)
    query = query.where(
        *_conditions(session, flt), answered >= bounds[0], answered < bounds[-1]
    ).group_by(bucket)
    counts = {int(row[0]): tuple(int(v or 0) for v in row[1:]) for row in session.exec(query)}
    points = []
    for index, start in enumerate(starts[:-1]):
        total, promoters, passives, detractors = counts.get(index, (0, 0, 0, 0))
        points.append(
            TrendPoint(
                start=bounds[index],
                label=_period_label(start, period),
                responses=total,
                promoters=promoters,
                passives=passives,
                detractors=detractors,
                score=nps_score(promoters, detractors, total),
            )
        )
    return points


def _period_starts(local_now: datetime, period: str, periods: int) -> list[datetime]:
    """Local (aware) starts of the ``periods`` periods ending with the one holding
    ``local_now``, plus the start of the next one (the end bound)."""
    zone = local_now.tzinfo
    if period == "month":
        month_index = local_now.year * 12 + local_now.month - 1
        return [
            datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)
            for index in range(month_index - periods + 1, month_index + 2)
        ]
    monday = local_now.date() - timedelta(days=local_now.weekday())
    first = monday - timedelta(weeks=periods - 1)
    # Built from dates, not by adding timedeltas, so a DST change keeps local midnights.
    return [
        datetime.combine(first + timedelta(weeks=i), datetime.min.time(), tzinfo=zone)
        for i in range(periods + 1)
    ]


def _period_label(start: datetime, period: str) -> str:
    if period == "month":
        # Not strftime("%b"): the window sets a locale, and labels should not change with it.
        return f"{_MONTHS[start.month - 1]} {start.year}"
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def local_time_zone() -> tzinfo:
    """The computer's time zone with its daylight-saving rules when they can be found (the TZ
    variable, else /etc/localtime's zone name), else today's fixed UTC offset.

    A fixed offset would put replies near midnight in the wrong month half the year, so the
    named zone is preferred for the trend's periods.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:  # TZ, when set, is what the C library follows; else the system's link
        with contextlib.suppress(OSError):
            name = str(Path("/etc/localtime").resolve()).partition("zoneinfo/")[2]
    if name:
        with contextlib.suppress(ValueError, OSError, ZoneInfoNotFoundError):
            return ZoneInfo(name)
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


# -- listing ----------------------------------------------------------------------------------


def count_responses(session: Session, flt: ReviewFilter = ReviewFilter()) -> int:
    """How many responses the filter keeps."""
    query = _from_responses(select_columns(func.count()), flt).where(*_conditions(session, flt))
    return int(session.exec(query).one()[0])


def list_responses(
    session: Session,
    flt: ReviewFilter = ReviewFilter(),
    *,
    order_by: str = "answered_at",
    descending: bool = True,
    offset: int = 0,
    limit: int | None = None,
) -> list[ReviewRow]:
    """One page of the filtered responses in ``order_by`` order (one of ORDER_KEYS; ties by
    id, in the same direction). ValueError for another ``order_by``."""
    key = _order_key(order_by)
    if limit is not None and limit <= 0:
        return []
    query = _row_query().where(*_conditions(session, flt))
    query = query.order_by(*_ordering(key, descending))
    if offset > 0:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_review_row(row) for row in session.exec(query)]


def iter_responses(
    session: Session,
    flt: ReviewFilter = ReviewFilter(),
    *,
    order_by: str = "answered_at",
    descending: bool = True,
    page_size: int = PAGE_SIZE,
) -> Iterator[ReviewRow]:
    """Every filtered response in ``order_by`` order, fetched ``page_size`` rows at a time.

    One query whose rows are read a page at a time from the open cursor: the database sorts
    once (paging with a query per page re-sorts the rest for every page when the sort key has
    no index, minutes at 200,000 responses) and memory holds one page. Changes pending in the
    session are flushed first so they show.
    """
    key = _order_key(order_by)
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    query = _row_query().where(*_conditions(session, flt)).order_by(*_ordering(key, descending))
    session.flush()
    result = session.connection().execute(query.execution_options(yield_per=page_size))
    for row in result:
        yield _review_row(row)


# -- follow-ups -------------------------------------------------------------------------------


def set_follow_up(
    session: Session,
    response_ids: Sequence[int],
    state: str | None,
    *,
    now: datetime,
    note: str | None = None,
) -> int:
    """Set the follow-up of the given responses to ``state`` (FollowUp.OPEN, FollowUp.DONE, or
    None to clear it) and, unless ``note`` is None, replace their note.

    Returns how many responses changed (one already in that state with that note is left as
    it is, its changed time too). Raises ActionRefused, changing nothing, when an id names no
    response or the state is unknown. The caller commits.
    """
    if state is not None and state not in FollowUp.ALL:
        raise ActionRefused(
            f"{state!r} is not a follow-up state; use {FollowUp.OPEN!r}, {FollowUp.DONE!r} "
            "or clear it."
        )
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    known: set[int] = set()
    for chunk in _chunks(ids):
        query = select(Response.id).where(col(Response.id).in_(chunk))
        known.update(i for i in session.exec(query) if i is not None)
    missing = [i for i in ids if i not in known]
    if missing:
        shown = ", ".join(str(i) for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        plural = "s" if len(missing) > 1 else ""
        raise ActionRefused(
            f"No response with the id{plural} {shown} exists; no follow-up was changed."
        )
    values: dict[str, Any] = {"follow_up": state, "follow_up_changed_at": as_utc(now)}
    differs = col(Response.follow_up).is_distinct_from(state)
    if note is not None:
        values["follow_up_note"] = note
        differs = or_(differs, col(Response.follow_up_note) != note)
    changed = 0
    for chunk in _chunks(ids):
        statement = update(Response).where(col(Response.id).in_(chunk), differs).values(**values)
        result = session.connection().execute(statement)
        changed += int(result.rowcount or 0)
    # The bulk UPDATE bypassed the identity map; reload any loaded Response objects.
    session.expire_all()
    return changed


# -- export -----------------------------------------------------------------------------------


def export_responses(
    session: Session,
    flt: ReviewFilter,
    out: TextIO,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write the filtered responses (newest first) to ``out`` as CSV: a header of
    EXPORT_COLUMNS, ISO-8601 UTC times, text cells that a spreadsheet would run as a formula
    prefixed with "'". Streamed a page at a time; ``progress(written, total)`` after each page.

    Returns the rows written. Raises ExportCancelled when ``should_cancel()`` turns true
    (checked before each page); what was written to ``out`` until then stays there.
    """
    total = count_responses(session, flt)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    if progress is not None:
        progress(0, total)
    rows = iter_responses(session, flt, page_size=page_size)
    while True:
        if should_cancel is not None and should_cancel():
            raise ExportCancelled("The export was cancelled; nothing was saved.")
        page = [_export_cells(row) for _, row in zip(range(page_size), rows, strict=False)]
        writer.writerows(page)
        written += len(page)
        if progress is not None and page:
            progress(written, max(total, written))
        if len(page) < page_size:
            return written


def export_responses_to(
    path: Path,
    session_factory: Callable[[], AbstractContextManager[Session]],
    flt: ReviewFilter = ReviewFilter(),
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> int:
    """Export to the file ``path`` (UTF-8 CSV with a byte-order mark, see export_responses)
    and return the rows
    written. ``session_factory`` gives a session, e.g. ``profile.database.session``.

    The CSV is written to a temporary file in the same folder and renamed over ``path`` only
    when complete, so a cancelled or failed export leaves no half file (and an older file at
    ``path`` untouched). Raises ExportCancelled, or ExportFailed when the file cannot be written.
    """
    path = Path(path)
    try:
        descriptor, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
        # With a byte-order mark: a spreadsheet opened by double-click then reads the
        # comments' accents and emoji as UTF-8 instead of the system's legacy code page.
        handle = open(descriptor, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as error:
        raise ExportFailed(_write_problem(path, error)) from error
    temporary = Path(name)
    try:
        with handle, session_factory() as session:
            written = export_responses(
                session, flt, handle, progress=progress, should_cancel=should_cancel
            )
            # A cancel pressed during the last page still means "do not save".
            if should_cancel is not None and should_cancel():
                raise ExportCancelled("The export was cancelled; nothing was saved.")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ExportFailed(_write_problem(path, error)) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


def _write_problem(path: Path, error: OSError) -> str:
    reason = error.strerror or type(error).__name__
    return f"The responses could not be saved to {path} ({reason}); nothing was written."


def _export_cells(row: ReviewRow) -> list[Any]:
    return [
        iso_utc(row.answered_at),
        _safe_cell(row.email),
        _safe_cell(row.name),
        _safe_cell(row.user_id),
        row.rating,
        row.category,
        _safe_cell(row.comment),
        row.follow_up or "",
        _safe_cell(row.follow_up_note),
        iso_utc(row.sent_at) or "",
        _safe_cell(row.source),
    ]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str | None) -> str:
    """Text a spreadsheet would run as a formula gets a leading "'" (shown as text)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


# -- query building ---------------------------------------------------------------------------


def _conditions(session: Session, flt: ReviewFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    rating = col(Response.rating)
    if flt.since is not None:
        conditions.append(col(Response.answered_at) >= as_utc(flt.since))
    if flt.until is not None:
        conditions.append(col(Response.answered_at) < as_utc(flt.until))
    if flt.category is not None:
        if flt.category == Category.PROMOTER:
            conditions.append(rating >= 9)
        elif flt.category == Category.PASSIVE:
            conditions.append(and_(rating >= 7, rating <= 8))
        elif flt.category == Category.DETRACTOR:
            conditions.append(rating <= 6)
        else:
            raise ValueError(f"unknown category {flt.category!r}; use one of {Category.ALL}")
    if flt.with_comment:
        conditions.append(_has_comment())
    if flt.follow_up is not None:
        if flt.follow_up not in FollowUp.ALL:
            raise ValueError(f"unknown follow-up {flt.follow_up!r}; use one of {FollowUp.ALL}")
        conditions.append(col(Response.follow_up) == flt.follow_up)
    if flt.text is not None and flt.text.strip():
        needle = flt.text.strip().lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                customer_text_condition(session, flt.text),
                col(Response.comment).ilike(pattern, escape="\\"),
            )
        )
    return conditions


def _from_responses(query: Any, flt: ReviewFilter) -> Any:
    """``query`` over responses, joined to customers only when the text filter needs them."""
    query = query.select_from(Response)
    if flt.text is not None and flt.text.strip():
        query = query.join(Customer, col(Customer.id) == col(Response.customer_id))
    return query


def _category_sums() -> list[Any]:
    rating = col(Response.rating)
    return [
        func.sum(case((rating >= 9, 1), else_=0)),
        func.sum(case((and_(rating >= 7, rating <= 8), 1), else_=0)),
        func.sum(case((rating <= 6, 1), else_=0)),
    ]


def _has_comment() -> ColumnElement[bool]:
    return func.trim(col(Response.comment)) != ""


def _row_query() -> Any:
    columns: list[Any] = [
        Response.id,
        Response.customer_id,
        Customer.email,
        display_name(),
        Customer.user_id,
        Response.rating,
        Response.comment,
        Response.answered_at,
        Response.sent_at,
        Response.source,
        Response.follow_up,
        Response.follow_up_note,
        Response.follow_up_changed_at,
    ]
    return select_columns(*columns).join(Customer, col(Customer.id) == col(Response.customer_id))


def _review_row(row: Any) -> ReviewRow:
    (id_, customer_id, email, name, user_id, rating, comment, answered, sent, source) = row[:10]
    follow_up, note, changed = row[10:]
    return ReviewRow(
        id=id_,
        customer_id=customer_id,
        email=email,
        name=name,
        user_id=user_id,
        rating=rating,
        category=category_of(rating),
        comment=comment,
        answered_at=answered,
        sent_at=sent,
        source=source,
        follow_up=follow_up,
        follow_up_note=note or "",
        follow_up_changed_at=changed,
    )


def _order_key(order_by: str) -> Any:
    keys: dict[str, Any] = {
        "answered_at": col(Response.answered_at),
        "email": col(Customer.email),
        "rating": col(Response.rating),
        # No follow-up sorts as "" (before "done" and "open"), so paging can compare values.
        "follow_up": func.coalesce(col(Response.follow_up), ""),
    }
    if order_by not in keys:
        raise ValueError(f"cannot sort responses by {order_by!r}; use one of {ORDER_KEYS}")
    return keys[order_by]


def _ordering(key: Any, descending: bool) -> list[Any]:
    ordered = [key, col(Response.id)]
    return [k.desc() if descending else k.asc() for k in ordered]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]
