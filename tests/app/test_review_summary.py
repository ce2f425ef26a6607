"""The review's periods: where each one starts, in the operator's own day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from callexa_desktop.app.review_summary import PERIODS

LAST_30_DAYS, ALL_TIME = PERIODS[0], PERIODS[3]
PLUS_TWO = timezone(timedelta(hours=2))


def test_a_period_starts_at_local_midnight_and_stays_put_all_day() -> None:
    # 00:30 and 23:30 on 30 November in a zone two hours ahead of UTC.
    early = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
    late = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)

    # Local midnight of 31 October = 22:00 UTC on 30 October.
    expected = datetime(2026, 10, 30, 22, 0, tzinfo=UTC)
    assert LAST_30_DAYS.since(early, PLUS_TWO) == expected
    assert LAST_30_DAYS.since(late, PLUS_TWO) == expected
    assert LAST_30_DAYS.since(late + timedelta(hours=1), PLUS_TWO) == expected + timedelta(days=1)


def test_all_time_has_no_start_and_each_period_names_its_trend() -> None:
    assert ALL_TIME.since(datetime(2026, 11, 30, tzinfo=UTC), PLUS_TWO) is None
    assert [period.trend_title() for period in PERIODS] == [
        "Score by week, last 5 weeks",
        "Score by week, last 13 weeks",
        "Score by month, last 12 months",
        "Score by month, last 24 months",
    ]
