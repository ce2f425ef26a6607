"""Times on screen read as local wall-clock time with a plain-words hint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from callexa_desktop.app.time_text import local_time, local_time_with_hint, relative_hint

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=3), "in 3 days"),
        (timedelta(hours=-2), "2 hours ago"),
        (timedelta(seconds=20), "now"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(hours=30), "in 30 hours"),
        (timedelta(days=-90), "3 months ago"),
        (timedelta(days=800), "in 2 years"),
    ],
)
def test_relative_hint_reads_as_words(delta: timedelta, words: str) -> None:
    assert relative_hint(NOW + delta, NOW) == words


def test_local_time_is_shown_in_the_given_zone() -> None:
    plus_two = timezone(timedelta(hours=2))

    assert local_time(NOW, tz=plus_two) == "2026-11-30 14:00"
    assert local_time_with_hint(NOW + timedelta(days=3), NOW, tz=plus_two) == (
        "2026-12-03 14:00 (in 3 days)"
    )


def test_a_missing_time_is_a_dash() -> None:
    assert local_time(None) == "—"
    assert local_time_with_hint(None, NOW) == "—"
