"""Reviewing responses: NPS arithmetic, filters, local-time trend, paging, follow-ups, export."""

from __future__ import annotations

import codecs
import csv
import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, insert
from sqlmodel import Session, select

from callexa_desktop.core.errors import ActionRefused, ExportCancelled, ExportFailed
from callexa_desktop.core.models import Customer, Response
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.review import (
    EXPORT_COLUMNS,
    Category,
    FollowUp,
    ReviewFilter,
    category_of,
    count_responses,
    export_responses,
    export_responses_to,
    iter_responses,
    list_responses,
    local_time_zone,
    nps_summary,
    nps_trend,
    set_follow_up,
)

NOV_1 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Responses:
    """Adds responses (and their customers) to a session, numbering dedupe keys."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.made = 0

    def add(
        self,
        rating: int,
        *,
        at: datetime = NOV_1,
        comment: str = "",
        email: str = "ann@example.com",
        name: str | None = None,
        follow_up: str | None = None,
        note: str = "",
    ) -> int:
        customer = self.session.exec(select(Customer).where(Customer.email == email)).first()
        if customer is None:
            customer = Customer(email=email, name=name, user_id=f"u-{email}")
            self.session.add(customer)
            self.session.flush()
        assert customer.id is not None
        self.made += 1
        response = Response(
            dedupe_key=f"test:{self.made}",
            customer_id=customer.id,
            rating=rating,
            comment=comment,
            answered_at=at,
            source="test.csv",
            received_at=at,
            follow_up=follow_up,
            follow_up_note=note,
        )
        self.session.add(response)
        self.session.flush()
        assert response.id is not None
        return response.id


@pytest.fixture
def session(profile: Profile) -> Iterator[Session]:
    with profile.database.session() as opened:
        yield opened


@pytest.fixture
def responses(session: Session) -> Responses:
    return Responses(session)


class SelectCounter:
    """Counts the SELECT statements sent to the database while it is active."""

    def __init__(self, session: Session) -> None:
        self.engine = session.get_bind()
        self.selects = 0

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.selects += 1

    def __enter__(self) -> SelectCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


# -- categories and the score -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "category"),
    [
        (0, Category.DETRACTOR),
        (6, Category.DETRACTOR),
        (7, Category.PASSIVE),
        (8, Category.PASSIVE),
        (9, Category.PROMOTER),
        (10, Category.PROMOTER),
    ],
)
def test_each_rating_falls_in_its_nps_category(rating: int, category: str) -> None:
    assert category_of(rating) == category


def test_a_rating_outside_zero_to_ten_has_no_category() -> None:
    with pytest.raises(ValueError, match="11 is not a rating"):
        category_of(11)


def test_boundary_ratings_six_to_nine_are_counted_in_their_categories(
    session: Session, responses: Responses
) -> None:
    for rating in (6, 7, 8, 9):
        responses.add(rating)

    summary = nps_summary(session)

    assert (summary.detractors, summary.passives, summary.promoters) == (1, 2, 1)
    assert summary.responses == 4
    assert summary.score == 0.0


def test_score_is_percent_promoters_minus_percent_detractors(
    session: Session, responses: Responses
) -> None:
    for rating in (10, 9, 9, 8, 3):
        responses.add(rating)

    assert nps_summary(session).score == pytest.approx(100 * (3 - 1) / 5)


def test_score_reaches_plus_and_minus_one_hundred(session: Session, responses: Responses) -> None:
    responses.add(9)
    responses.add(10)
    assert nps_summary(session).score == 100.0
    assert nps_summary(session, ReviewFilter(category=Category.DETRACTOR)).score is None
    responses.add(0)
    assert nps_summary(session, ReviewFilter(category=Category.DETRACTOR)).score == -100.0


def test_no_responses_give_zero_counts_and_no_score(session: Session) -> None:
    summary = nps_summary(session)

    assert summary.responses == summary.promoters == summary.detractors == 0
    assert summary.score is None
    assert summary.distribution == (0,) * 11
    assert (summary.with_comment, summary.follow_ups_open) == (0, 0)


def test_distribution_counts_each_rating_at_its_index(
    session: Session, responses: Responses
) -> None:
    for rating in (0, 3, 3, 10, 10, 10):
        responses.add(rating)

    assert nps_summary(session).distribution == (1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3)


def test_summary_counts_non_blank_comments_and_open_follow_ups(
    session: Session, responses: Responses
) -> None:
    responses.add(2, comment="Too slow", follow_up=FollowUp.OPEN)
    responses.add(5, comment="   ", follow_up=FollowUp.DONE)
    responses.add(9, comment="Great")

    summary = nps_summary(session)

    assert (summary.with_comment, summary.follow_ups_open) == (2, 1)


def test_summary_is_one_aggregate_query(session: Session, responses: Responses) -> None:
    for rating in range(11):
        responses.add(rating)

    with SelectCounter(session) as counter:
        nps_summary(session, ReviewFilter(text="ann"))

    assert counter.selects == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ratings=st.lists(st.integers(min_value=0, max_value=10), max_size=40))
def test_summary_counts_equal_a_plain_count_of_the_ratings(
    session: Session, ratings: list[int]
) -> None:
    session.connection().execute(delete(Response))
    session.expunge_all()  # the deleted rows' objects must not clash with reused ids
    maker = Responses(session)
    for rating in ratings:
        maker.add(rating)

    summary = nps_summary(session)

    promoters = sum(1 for r in ratings if r >= 9)
    detractors = sum(1 for r in ratings if r <= 6)
    assert summary.responses == len(ratings)
    assert summary.promoters == promoters
    assert summary.detractors == detractors
    assert summary.passives == len(ratings) - promoters - detractors
    assert summary.distribution == tuple(ratings.count(r) for r in range(11))
    if ratings:
        assert summary.score == pytest.approx(100 * (promoters - detractors) / len(ratings))
    else:
        assert summary.score is None


# -- filters ----------------------------------------------------------------------------------


@pytest.fixture
def varied(responses: Responses) -> dict[str, int]:
    """Five responses differing in time, rating, comment, follow-up, customer."""
    return {
        "early_detractor": responses.add(
            2, at=NOV_1, comment="Slow delivery", follow_up=FollowUp.OPEN
        ),
        "mid_passive": responses.add(
            7, at=NOV_1 + timedelta(days=5), email="bob@example.com", name="Bob Stone"
        ),
        "mid_promoter": responses.add(
            10, at=NOV_1 + timedelta(days=10), comment="Lovely 100% service"
        ),
        "late_detractor": responses.add(
            5, at=NOV_1 + timedelta(days=20), email="cy@example.com", follow_up=FollowUp.DONE
        ),
        "late_promoter": responses.add(9, at=NOV_1 + timedelta(days=20), comment="  "),
    }


def _ids(session: Session, flt: ReviewFilter) -> set[int]:
    return {row.id for row in list_responses(session, flt)}


def test_since_keeps_responses_from_that_moment_on(
    session: Session, varied: dict[str, int]
) -> None:
    flt = ReviewFilter(since=NOV_1 + timedelta(days=10))
    assert _ids(session, flt) == {
        varied["mid_promoter"],
        varied["late_detractor"],
        varied["late_promoter"],
    }
    assert nps_summary(session, flt).responses == count_responses(session, flt) == 3


def test_until_keeps_responses_before_that_moment(session: Session, varied: dict[str, int]) -> None:
    flt = ReviewFilter(until=NOV_1 + timedelta(days=10))
    assert _ids(session, flt) == {varied["early_detractor"], varied["mid_passive"]}


@pytest.mark.parametrize(
    ("category", "names"),
    [
        (Category.PROMOTER, {"mid_promoter", "late_promoter"}),
        (Category.PASSIVE, {"mid_passive"}),
        (Category.DETRACTOR, {"early_detractor", "late_detractor"}),
    ],
)
def test_category_filter_keeps_that_category(
    session: Session, varied: dict[str, int], category: str, names: set[str]
) -> None:
    assert _ids(session, ReviewFilter(category=category)) == {varied[n] for n in names}


def test_with_comment_skips_blank_comments(session: Session, varied: dict[str, int]) -> None:
    assert _ids(session, ReviewFilter(with_comment=True)) == {
        varied["early_detractor"],
        varied["mid_promoter"],
    }


@pytest.mark.parametrize(
    ("state", "name"), [(FollowUp.OPEN, "early_detractor"), (FollowUp.DONE, "late_detractor")]
)
def test_follow_up_filter_keeps_that_state(
    session: Session, varied: dict[str, int], state: str, name: str
) -> None:
    assert _ids(session, ReviewFilter(follow_up=state)) == {varied[name]}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("CY@", {"late_detractor"}),  # email, any case
        ("stone", {"mid_passive"}),  # customer name
        ("slow", {"early_detractor"}),  # comment
        ("100%", {"mid_promoter"}),  # a % is a character, not a wildcard
    ],
)
def test_text_matches_email_name_or_comment_ignoring_case(
    session: Session, varied: dict[str, int], text: str, names: set[str]
) -> None:
    assert _ids(session, ReviewFilter(text=text)) == {varied[n] for n in names}


def test_filters_combine(session: Session, varied: dict[str, int]) -> None:
    flt = ReviewFilter(
        since=NOV_1,
        until=NOV_1 + timedelta(days=15),
        category=Category.PROMOTER,
        with_comment=True,
        text="lovely",
    )
    assert _ids(session, flt) == {varied["mid_promoter"]}
    assert _ids(session, ReviewFilter(category=Category.DETRACTOR, follow_up="done")) == {
        varied["late_detractor"]
    }
    summary = nps_summary(session, ReviewFilter(category=Category.DETRACTOR, text="example"))
    assert (summary.responses, summary.score) == (2, -100.0)


def test_an_unknown_category_is_a_programming_error(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown category 'fan'"):
        nps_summary(session, ReviewFilter(category="fan"))


# -- trend ------------------------------------------------------------------------------------


def test_trend_lists_every_month_up_to_now_including_empty_ones(
    session: Session, responses: Responses
) -> None:
    responses.add(10, at=datetime(2026, 9, 15, tzinfo=UTC))
    responses.add(0, at=datetime(2026, 11, 3, tzinfo=UTC))
    responses.add(9, at=datetime(2026, 11, 4, tzinfo=UTC))
    responses.add(9, at=datetime(2026, 12, 4, tzinfo=UTC))  # after now: not in the trend

    trend = nps_trend(session, ReviewFilter(), tz=UTC, now=NOW, periods=4)

    assert [p.label for p in trend] == ["Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]
    assert [p.start for p in trend] == [datetime(2026, m, 1, tzinfo=UTC) for m in (8, 9, 10, 11)]
    assert [p.responses for p in trend] == [0, 1, 0, 2]
    assert [p.score for p in trend] == [None, 100.0, None, 0.0]
    assert (trend[3].promoters, trend[3].passives, trend[3].detractors) == (1, 0, 1)


def test_trend_crosses_a_year_boundary(session: Session) -> None:
    trend = nps_trend(
        session, ReviewFilter(), tz=UTC, now=datetime(2027, 2, 10, tzinfo=UTC), periods=4
    )
    assert [p.label for p in trend] == ["Nov 2026", "Dec 2026", "Jan 2027", "Feb 2027"]


def test_a_reply_just_before_midnight_utc_counts_in_the_next_local_month_east_of_utc(
    session: Session, responses: Responses
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    responses.add(10, at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 Nov in Berlin

    trend = nps_trend(session, ReviewFilter(), tz=berlin, now=NOW, periods=2)

    assert [(p.label, p.responses) for p in trend] == [("Oct 2026", 0), ("Nov 2026", 1)]
    assert trend[1].start == datetime(2026, 11, 1, tzinfo=berlin).astimezone(UTC)
    assert trend[1].start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


def test_a_reply_just_after_midnight_utc_counts_in_the_previous_local_month_west_of_utc(
    session: Session, responses: Responses
) -> None:
    new_york = ZoneInfo("America/New_York")
    responses.add(0, at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC))  # 22:00 on 31 Oct in New York

    trend = nps_trend(session, ReviewFilter(), tz=new_york, now=NOW, periods=2)

    assert [(p.label, p.responses, p.score) for p in trend] == [
        ("Oct 2026", 1, -100.0),
        ("Nov 2026", 0, None),
    ]


def test_weekly_trend_uses_iso_weeks_starting_monday_local_time(
    session: Session, responses: Responses
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # Sunday 29 Nov 16:00 UTC is Monday 30 Nov 01:00 in Tokyo: the new week there.
    responses.add(9, at=datetime(2026, 11, 29, 16, 0, tzinfo=UTC))
    responses.add(3, at=datetime(2026, 11, 29, 14, 0, tzinfo=UTC))  # Sunday 23:00 in Tokyo

    trend = nps_trend(session, ReviewFilter(), tz=tokyo, period="week", now=NOW, periods=3)

    assert [p.label for p in trend] == ["2026-W47", "2026-W48", "2026-W49"]
    assert trend[2].start == datetime(2026, 11, 30, tzinfo=tokyo).astimezone(UTC)
    assert [(p.responses, p.score) for p in trend] == [(0, None), (1, -100.0), (1, 100.0)]


def test_trend_follows_the_filter(session: Session, responses: Responses) -> None:
    responses.add(10, at=datetime(2026, 11, 3, tzinfo=UTC))
    responses.add(1, at=datetime(2026, 11, 3, tzinfo=UTC), comment="Broken")

    trend = nps_trend(session, ReviewFilter(with_comment=True), tz=UTC, now=NOW, periods=1)

    assert [(p.responses, p.score) for p in trend] == [(1, -100.0)]


def test_trend_refuses_an_unknown_period(session: Session) -> None:
    with pytest.raises(ValueError, match="cannot group a trend by 'day'"):
        nps_trend(session, ReviewFilter(), tz=UTC, period="day", now=NOW)


# -- listing and paging -----------------------------------------------------------------------


def test_listing_is_newest_first_with_ties_broken_by_id(
    session: Session, responses: Responses
) -> None:
    tied = [responses.add(rating, at=NOV_1) for rating in (3, 8, 9)]
    newer = responses.add(5, at=NOV_1 + timedelta(hours=1))

    rows = list_responses(session)

    assert [r.id for r in rows] == [newer, *reversed(tied)]


def test_pages_put_together_give_the_whole_listing_in_order(
    session: Session, responses: Responses
) -> None:
    for index in range(7):
        responses.add(index % 3, at=NOV_1 + timedelta(days=index // 3))
    whole = [r.id for r in list_responses(session, order_by="rating", descending=False)]

    pages = [
        [r.id for r in list_responses(session, order_by="rating", descending=False, **page)]
        for page in ({"offset": 0, "limit": 3}, {"offset": 3, "limit": 3}, {"offset": 6})
    ]

    assert [i for page in pages for i in page] == whole
    ratings = [r.rating for r in list_responses(session, order_by="rating", descending=False)]
    assert ratings == sorted(ratings)
    assert whole[:3] == sorted(whole[:3])  # the three 0s, ties by id ascending


def test_a_listed_row_carries_customer_and_follow_up_fields(
    session: Session, responses: Responses
) -> None:
    made = responses.add(
        4, comment="Late", name="Ann Lee", follow_up=FollowUp.OPEN, note="called Tue"
    )

    (row,) = list_responses(session)

    assert (row.id, row.email, row.name, row.user_id) == (
        made,
        "ann@example.com",
        "Ann Lee",
        "u-ann@example.com",
    )
    assert (row.rating, row.category, row.comment) == (4, Category.DETRACTOR, "Late")
    assert (row.follow_up, row.follow_up_note) == (FollowUp.OPEN, "called Tue")
    assert row.answered_at == NOV_1
    assert row.answered_at.tzinfo is not None


def test_listing_refuses_an_unknown_sort_key(session: Session) -> None:
    with pytest.raises(ValueError, match="cannot sort responses by 'comment'"):
        list_responses(session, order_by="comment")


@pytest.mark.parametrize("order_by", ["answered_at", "email", "rating", "follow_up"])
@pytest.mark.parametrize("descending", [True, False])
def test_streaming_gives_the_same_order_as_the_listing(
    session: Session, responses: Responses, order_by: str, descending: bool
) -> None:
    states = [None, FollowUp.OPEN, FollowUp.DONE]
    for index in range(11):
        responses.add(
            index % 4,
            at=NOV_1 + timedelta(days=index % 3),
            email=f"c{index % 2}@example.com",
            follow_up=states[index % 3],
        )
    expected = [r.id for r in list_responses(session, order_by=order_by, descending=descending)]

    streamed = iter_responses(session, order_by=order_by, descending=descending, page_size=3)

    assert [r.id for r in streamed] == expected


def test_streaming_holds_a_page_at_a_time_not_the_whole_listing(
    session: Session, responses: Responses
) -> None:
    responses.add(9)
    customer_id = list_responses(session)[0].customer_id
    many = 3000
    session.connection().execute(
        insert(Response),
        [
            {
                "dedupe_key": f"bulk:{i}",
                "customer_id": customer_id,
                "rating": i % 11,
                "comment": f"comment number {i} " * 4,
                "answered_at": NOV_1 + timedelta(minutes=i),
                "received_at": NOV_1,
                "follow_up_note": "",
            }
            for i in range(many)
        ],
    )
    list_responses(session, limit=1)  # compile the queries before measuring

    tracemalloc.start()
    try:
        with SelectCounter(session) as counter:
            streamed = sum(1 for _row in iter_responses(session, page_size=50))
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        listed = len(list_responses(session))
        _, listed_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert streamed == listed == many + 1
    assert counter.selects == 1  # one sort, read page by page
    assert streamed_peak * 5 < listed_peak


# -- follow-ups -------------------------------------------------------------------------------


def test_marking_follow_ups_open_then_done_records_state_note_and_time(
    session: Session, responses: Responses
) -> None:
    first, second = responses.add(3), responses.add(8)

    assert set_follow_up(session, [first, second], FollowUp.OPEN, now=NOW) == 2
    later = NOW + timedelta(hours=2)
    assert set_follow_up(session, [first], FollowUp.DONE, now=later, note="Called, refunded") == 1

    rows = {r.id: r for r in list_responses(session)}
    assert (rows[first].follow_up, rows[first].follow_up_note) == ("done", "Called, refunded")
    assert rows[first].follow_up_changed_at == later
    assert (rows[second].follow_up, rows[second].follow_up_changed_at) == ("open", NOW)


def test_clearing_a_follow_up_keeps_the_note_when_none_is_given(
    session: Session, responses: Responses
) -> None:
    made = responses.add(2, follow_up=FollowUp.DONE, note="Sent a voucher")

    assert set_follow_up(session, [made], None, now=NOW) == 1

    (row,) = list_responses(session)
    assert (row.follow_up, row.follow_up_note, row.follow_up_changed_at) == (
        None,
        "Sent a voucher",
        NOW,
    )


def test_an_empty_note_replaces_the_note(session: Session, responses: Responses) -> None:
    made = responses.add(2, follow_up=FollowUp.OPEN, note="old")

    assert set_follow_up(session, [made], FollowUp.OPEN, now=NOW, note="") == 1

    assert list_responses(session)[0].follow_up_note == ""


def test_setting_the_state_a_response_already_has_changes_nothing(
    session: Session, responses: Responses
) -> None:
    made = responses.add(2, follow_up=FollowUp.OPEN, note="n")

    assert set_follow_up(session, [made, made], FollowUp.OPEN, now=NOW, note="n") == 0

    assert list_responses(session)[0].follow_up_changed_at is None


def test_unknown_response_ids_are_refused_and_nothing_changes(
    session: Session, responses: Responses
) -> None:
    made = responses.add(2)

    with pytest.raises(ActionRefused, match=r"No response with the id 999 exists"):
        set_follow_up(session, [made, 999], FollowUp.DONE, now=NOW)
    with pytest.raises(ActionRefused, match=r"ids 998, 999"):
        set_follow_up(session, [998, 999], FollowUp.DONE, now=NOW)

    assert list_responses(session)[0].follow_up is None


def test_an_unknown_follow_up_state_is_refused(session: Session, responses: Responses) -> None:
    made = responses.add(2)
    with pytest.raises(ActionRefused):
        set_follow_up(session, [made], "later", now=NOW)


def test_follow_up_change_is_seen_by_an_already_loaded_response(
    session: Session, responses: Responses
) -> None:
    made = responses.add(2)
    loaded = session.get(Response, made)
    assert loaded is not None
    assert loaded.follow_up is None

    set_follow_up(session, [made], FollowUp.DONE, now=NOW)

    assert loaded.follow_up == FollowUp.DONE


def test_newly_recorded_detractors_start_with_an_open_follow_up(session: Session) -> None:
    records = [
        ResponseRecord(
            email=f"r{rating}@example.com",
            rating=rating,
            comment="",
            answered_at=NOV_1,
            source="export.csv",
        )
        for rating in (0, 6, 7, 9)
    ]

    record_responses(session, records, source="export.csv", now=NOW)

    by_rating = {r.rating: r.follow_up for r in list_responses(session)}
    assert by_rating == {0: FollowUp.OPEN, 6: FollowUp.OPEN, 7: None, 9: None}


# -- export -----------------------------------------------------------------------------------


def _export_rows(session: Session, flt: ReviewFilter | None = None) -> list[list[str]]:
    out = io.StringIO()
    export_responses(session, flt or ReviewFilter(), out)
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_export_writes_a_header_and_one_row_per_response_with_iso_utc_times(
    session: Session, responses: Responses
) -> None:
    responses.add(9, at=datetime(2026, 11, 2, 8, 30, tzinfo=UTC), comment="Très bien, merci")
    responses.add(3, at=NOV_1, email="bob@example.com", name="Bob", follow_up="open", note="x")

    rows = _export_rows(session)

    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[1] == [
        "2026-11-02T08:30:00Z",
        "ann@example.com",
        "",
        "u-ann@example.com",
        "9",
        "promoter",
        "Très bien, merci",
        "",
        "",
        "",
        "test.csv",
    ]
    assert rows[2][:2] == ["2026-11-01T12:00:00Z", "bob@example.com"]
    assert (rows[2][5], rows[2][7], rows[2][8]) == ("detractor", "open", "x")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_export_defuses_cells_a_spreadsheet_would_run_as_formulas(
    session: Session, responses: Responses, start: str
) -> None:
    responses.add(1, comment=f'{start}HYPERLINK("http://x")', note=f"{start}1+1")

    row = _export_rows(session)[1]

    assert row[6] == f'\'{start}HYPERLINK("http://x")'
    assert row[8] == f"'{start}1+1"


def test_export_leaves_ordinary_text_alone(session: Session, responses: Responses) -> None:
    responses.add(10, comment="Good - really, 5 stars = great")
    assert _export_rows(session)[1][6] == "Good - really, 5 stars = great"


def test_export_follows_the_filter_and_reports_progress_per_page(
    session: Session, responses: Responses
) -> None:
    for index in range(5):
        responses.add(index, at=NOV_1 + timedelta(minutes=index))
    responses.add(10)
    seen: list[tuple[int, int]] = []

    written = export_responses(
        session,
        ReviewFilter(category=Category.DETRACTOR),
        io.StringIO(),
        progress=lambda done, total: seen.append((done, total)),
        page_size=2,
    )

    assert written == 5
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_export_to_a_file_writes_it_whole(profile: Profile, tmp_path: Path) -> None:
    with profile.database.session() as session:
        Responses(session).add(9, comment="=cmd")
    target = tmp_path / "responses.csv"

    assert export_responses_to(target, profile.database.session) == 1

    assert target.read_bytes().startswith(codecs.BOM_UTF8)  # spreadsheets read it as UTF-8
    rows = list(csv.reader(target.open(encoding="utf-8-sig", newline="")))
    assert [tuple(rows[0]), rows[1][6]] == [EXPORT_COLUMNS, "'=cmd"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile", "responses.csv"]


def test_a_cancelled_export_leaves_no_file_and_keeps_an_older_one(
    profile: Profile, tmp_path: Path
) -> None:
    with profile.database.session() as session:
        maker = Responses(session)
        for index in range(3):
            maker.add(index)
    target = tmp_path / "responses.csv"
    fresh = tmp_path / "fresh.csv"
    target.write_text("older export\n", encoding="utf-8")
    asked = iter([False, True])

    with pytest.raises(ExportCancelled):
        export_responses_to(target, profile.database.session, should_cancel=lambda: next(asked))
    with pytest.raises(ExportCancelled):
        export_responses_to(fresh, profile.database.session, should_cancel=lambda: True)

    assert target.read_text(encoding="utf-8") == "older export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile", "responses.csv"]


def test_an_export_to_a_missing_folder_fails_with_a_sentence(
    profile: Profile, tmp_path: Path
) -> None:
    target = tmp_path / "no such folder" / "responses.csv"

    with pytest.raises(ExportFailed, match=r"could not be saved to .*nothing was written\."):
        export_responses_to(target, profile.database.session)


# -- the operator's time zone -----------------------------------------------------------------


def test_local_time_zone_follows_a_named_tz_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_time_zone() == ZoneInfo("Europe/Berlin")


def test_local_time_zone_falls_back_to_a_fixed_offset_for_an_unnamed_tz(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "not a zone")
    zone = local_time_zone()
    assert zone.utcoffset(datetime.now()) == datetime.now().astimezone().utcoffset()
