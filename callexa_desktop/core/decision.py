"""The survey decision for one identify record: pure functions, no database, no clock.

Implements the four steps of the specification ("The decision"): already
queued, too old, within the minimum interval, else scheduled at
max(R + min delay, T) where R is createdAt if known, else T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from callexa_desktop.core.settings import Settings


class Outcome:
    SCHEDULED = "scheduled"
    ALREADY_QUEUED = "already_queued"
    SKIPPED_TOO_OLD = "skipped_too_old"
    SKIPPED_INTERVAL = "skipped_interval"

    ALL = (SCHEDULED, ALREADY_QUEUED, SKIPPED_TOO_OLD, SKIPPED_INTERVAL)


@dataclass(frozen=True)
class Rules:
    """The delay rules the decision needs, taken from the settings."""

    min_delay_days: int = 0
    max_delay_days: int = 0
    min_interval_weeks: int = 26

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(settings.min_delay_days, settings.max_delay_days, settings.min_interval_weeks)


@dataclass(frozen=True)
class CustomerState:
    """What the decision needs to know about the customer before this record."""

    has_pending_survey: bool = False
    last_surveyed_at: datetime | None = None  # L: latest sent survey or survey history


@dataclass(frozen=True)
class Decision:
    outcome: str
    send_at: datetime | None = None  # set only when outcome is SCHEDULED


def decide(
    rules: Rules, state: CustomerState, event_at: datetime, created_at: datetime | None
) -> Decision:
    """Decide for one identify record of a customer at event time ``event_at`` (T)."""
    if state.has_pending_survey:
        return Decision(Outcome.ALREADY_QUEUED)
    if (
        rules.max_delay_days > 0
        and created_at is not None
        and event_at - created_at > timedelta(days=rules.max_delay_days)
    ):
        return Decision(Outcome.SKIPPED_TOO_OLD)
    if state.last_surveyed_at is not None and event_at - state.last_surveyed_at < timedelta(
        weeks=rules.min_interval_weeks
    ):
        return Decision(Outcome.SKIPPED_INTERVAL)
    reference = created_at if created_at is not None else event_at
    return Decision(
        Outcome.SCHEDULED, max(reference + timedelta(days=rules.min_delay_days), event_at)
    )


def explain(outcome: str | None, rules: Rules) -> str:
    """The decision in plain words for the window and the customers list."""
    if outcome == Outcome.SCHEDULED:
        return "Survey scheduled"
    if outcome == Outcome.ALREADY_QUEUED:
        return "No new survey: one is already waiting in the queue"
    if outcome == Outcome.SKIPPED_TOO_OLD:
        return f"Not surveyed: customer older than {rules.max_delay_days} days when identified"
    if outcome == Outcome.SKIPPED_INTERVAL:
        return f"Not surveyed: already surveyed within the last {rules.min_interval_weeks} weeks"
    return "No decision yet"
