"""Times on screen: local wall-clock time, with "in 3 days" / "2 hours ago" hints.

Inside the program every time is aware UTC; this is the only place it becomes local.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

NO_TIME = "—"


def local_zone() -> tzinfo:
    """The computer's time zone now (asked each time: it may change while the app runs)."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def local_time(moment: datetime | None, *, tz: tzinfo | None = None) -> str:
    """``moment`` as local "YYYY-MM-DD HH:MM" (``tz`` overrides the system zone); "—" for None."""
    if moment is None:
        return NO_TIME
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def relative_hint(moment: datetime, now: datetime) -> str:
    """How far ``moment`` is from ``now`` in words: "in 3 days", "2 hours ago", "now"."""
    seconds = (moment - now).total_seconds()
    span = _span(abs(seconds))
    if span is None:
        return "now"
    return f"in {span}" if seconds > 0 else f"{span} ago"


def local_time_with_hint(
    moment: datetime | None, now: datetime, *, tz: tzinfo | None = None
) -> str:
    """ "2026-12-03 14:00 (in 3 days)"; "—" for None."""
    if moment is None:
        return NO_TIME
    return f"{local_time(moment, tz=tz)} ({relative_hint(moment, now)})"


def _span(seconds: float) -> str | None:
    minutes = int(seconds // 60)
    if minutes < 1:
        return None
    if minutes < 60:
        return _plural(minutes, "minute")
    hours = minutes // 60
    if hours < 48:
        return _plural(hours, "hour")
    days = hours // 24
    if days < 60:
        return _plural(days, "day")
    if days < 365:
        return _plural(days // 30, "month")
    return _plural(days // 365, "year")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
