"""The daily sync schedule: table-driven cases in local time, including DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callexa_desktop.core.schedule import next_sync_due, parse_sync_time, sync_is_due

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(text: str, tz: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    """A local wall-clock time (e.g. "2026-06-10 06:00") as an aware UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold).astimezone(UTC)


# (description, last success, now, expected next due) — all local Berlin, sync_time 06:00.
CASES = [
    (
        "never synced, before today's slot: due at today's slot",
        None,
        "2026-06-10 05:00",
        "2026-06-10 06:00",
    ),
    (
        "never synced, after today's slot: due (today's slot has passed)",
        None,
        "2026-06-10 09:00",
        "2026-06-10 06:00",
    ),
    (
        "synced yesterday after the slot, now before today's slot: due at today's slot",
        "2026-06-09 06:00",
        "2026-06-10 05:59",
        "2026-06-10 06:00",
    ),
    (
        "synced yesterday after the slot, now exactly at today's slot: due now",
        "2026-06-09 06:00",
        "2026-06-10 06:00",
        "2026-06-10 06:00",
    ),
    (
        "synced today at the slot: next is tomorrow's slot",
        "2026-06-10 06:00",
        "2026-06-10 23:59",
        "2026-06-11 06:00",
    ),
    (
        "synced today before the slot (manual or catch-up): no second run today",
        "2026-06-10 05:00",
        "2026-06-10 07:00",
        "2026-06-11 06:00",
    ),
    (
        "computer off for three days: the missed slot is caught up at start",
        "2026-06-06 06:00",
        "2026-06-10 03:00",
        "2026-06-09 06:00",
    ),
    (
        "yesterday's slot missed, started after today's slot: due (today's slot)",
        "2026-06-08 06:00",
        "2026-06-10 08:00",
        "2026-06-10 06:00",
    ),
    (
        "synced yesterday before the slot only: yesterday's slot counts as missed",
        "2026-06-09 05:00",
        "2026-06-10 04:00",
        "2026-06-09 06:00",
    ),
    (
        "spring forward (23-hour day): one slot, at 06:00 summer time",
        "2026-03-28 06:00",
        "2026-03-29 01:00",
        "2026-03-29 06:00",
    ),
    (
        "fall back (25-hour day): one slot, at 06:00 winter time",
        "2026-10-24 06:00",
        "2026-10-25 01:00",
        "2026-10-25 06:00",
    ),
    (
        "synced on the fall-back day: next is the following day's slot",
        "2026-10-25 06:00",
        "2026-10-25 23:00",
        "2026-10-26 06:00",
    ),
]


@pytest.mark.parametrize(
    ("description", "last", "now", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_next_sync_due_follows_the_daily_rules(
    description: str, last: str | None, now: str, expected: str
) -> None:
    last_success = local(last) if last else None
    due = next_sync_due(last_success, "06:00", local(now), BERLIN)
    assert due == local(expected), description
    assert due.tzinfo is UTC


# (description, sync_time, last success, now, due?) — New York.
DUE_CASES = [
    ("before the slot with yesterday done", "07:30", "2026-06-09 07:30", "2026-06-10 07:29", False),
    ("at the slot with yesterday done", "07:30", "2026-06-09 07:30", "2026-06-10 07:30", True),
    ("later the same day after a run", "07:30", "2026-06-10 07:31", "2026-06-10 22:00", False),
    ("midnight slot, next day", "00:00", "2026-06-09 00:00", "2026-06-10 00:00", True),
    ("late slot, yesterday missed", "23:59", "2026-06-08 23:59", "2026-06-10 00:01", True),
]


@pytest.mark.parametrize(
    ("description", "sync_time", "last", "now", "due"), DUE_CASES, ids=[c[0] for c in DUE_CASES]
)
def test_sync_is_due_answers_whether_to_run_now(
    description: str, sync_time: str, last: str, now: str, due: bool
) -> None:
    result = sync_is_due(local(last, NEW_YORK), sync_time, local(now, NEW_YORK), NEW_YORK)
    assert result is due, description


def test_a_slot_inside_the_spring_forward_gap_happens_just_after_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026; clocks jump from 02:00 to 03:00.
    due = next_sync_due(local("2026-03-28 02:30"), "02:30", local("2026-03-29 01:00"), BERLIN)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 summer time
    assert due.astimezone(BERLIN).hour == 3


def test_a_slot_in_the_repeated_autumn_hour_runs_once_at_its_first_occurrence() -> None:
    first = local("2026-10-25 02:30", fold=0)
    second = local("2026-10-25 02:30", fold=1)
    assert second - first == timedelta(hours=1)
    due = next_sync_due(local("2026-10-24 02:30"), "02:30", local("2026-10-25 00:00"), BERLIN)
    assert due == first
    assert not sync_is_due(first, "02:30", second, BERLIN)


def test_running_at_every_due_moment_for_a_month_gives_exactly_one_run_per_local_day() -> None:
    # Simulate a timer ticking every 10 minutes through the autumn DST change.
    now = local("2026-10-10 00:00")
    end = local("2026-11-10 00:00")
    last: datetime | None = local("2026-10-09 06:00")
    runs: list[datetime] = []
    while now < end:
        if sync_is_due(last, "06:00", now, BERLIN):
            runs.append(now)
            last = now
        now += timedelta(minutes=10)
    days = [run.astimezone(BERLIN).date() for run in runs]
    assert len(days) == len(set(days)) == 31
    assert all(run.astimezone(BERLIN).strftime("%H:%M") == "06:00" for run in runs)


def test_a_naive_now_is_taken_as_utc() -> None:
    aware = next_sync_due(None, "06:00", datetime(2026, 6, 10, 3, 0, tzinfo=UTC), BERLIN)
    naive = next_sync_due(None, "06:00", datetime(2026, 6, 10, 3, 0), BERLIN)
    assert aware == naive


@pytest.mark.parametrize("text", ["6", "24:00", "06:60", "six", ""])
def test_a_malformed_sync_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="sync time"):
        parse_sync_time(text)
