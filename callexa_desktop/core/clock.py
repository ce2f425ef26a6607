"""Time helpers. Inside the program every datetime is timezone-aware UTC.

Local time appears only at the edge (the window's display). Functions that
depend on "now" take it as an argument or a ``Clock`` so tests can fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 text in UTC with a ``Z`` suffix, or None; used in JSON output."""
    if moment is None:
        return None
    text = as_utc(moment).isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
