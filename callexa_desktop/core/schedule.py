"""When the daily automatic sync is due: pure functions, the clock and time zone passed in.

The operator picks a local time of day (the ``sync_time`` setting, "HH:MM"). Each local day
has one *slot* at that time. The rules:

- a sync is due at the first slot after the last successful one;
- a slot that was missed (the computer was off or asleep) is caught up at once, at the next
  start, without waiting for the next day's slot;
- never a second automatic run on the same local day: once a sync succeeded today, the next
  one is tomorrow's slot (the catch-up run counts as today's);
- days are counted in local calendar days, so a 23- or 25-hour day around a daylight-saving
  change still gets exactly one slot. A slot inside the spring-forward gap falls just after
  the gap; a slot in the repeated autumn hour happens at its first occurrence.

A failed run is not a successful one: ``last_success`` stays where it was, so the sync stays
due and the caller decides how soon to try again.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from callexa_desktop.core.clock import as_utc


def next_sync_due(
    last_success: datetime | None, sync_time: str, now: datetime, tz: tzinfo
) -> datetime:
    """The moment (aware UTC) the next automatic sync is due; a moment <= ``now`` means now.

    ``last_success`` is when the last successful sync ran (None: never), ``sync_time`` the
    local "HH:MM", ``now`` the current time, ``tz`` the operator's local time zone.
    """
    at = parse_sync_time(sync_time)
    today = as_utc(now).astimezone(tz).date()
    if last_success is None:
        return _slot(today, at, tz)
    last = as_utc(last_success)
    if last.astimezone(tz).date() >= today:
        return _slot(today + timedelta(days=1), at, tz)
    today_slot = _slot(today, at, tz)
    latest_slot = today_slot if as_utc(now) >= today_slot else _slot(today - timedelta(1), at, tz)
    if last < latest_slot:
        return latest_slot  # missed: catch up now
    return today_slot


def sync_is_due(last_success: datetime | None, sync_time: str, now: datetime, tz: tzinfo) -> bool:
    """True when an automatic sync should run at ``now`` (see ``next_sync_due``)."""
    return next_sync_due(last_success, sync_time, now, tz) <= as_utc(now)


def parse_sync_time(text: str) -> time:
    """The local time of day of "HH:MM"; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"sync time must look like 06:00, not {text!r}")
    return time(int(match[1]), int(match[2]))


def _slot(day: date, at: time, tz: tzinfo) -> datetime:
    # fold=0: a repeated local time means its first occurrence; a skipped one maps past the gap.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
