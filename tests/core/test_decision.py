"""The survey decision for one identify record, as the specification's four steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callexa_desktop.core.decision import (
    CustomerState,
    Decision,
    Outcome,
    Rules,
    decide,
    explain,
)
from callexa_desktop.core.settings import Settings

T = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)  # the identify call in every table row
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)

SOURCE_SCENARIO = Rules(min_delay_days=3, max_delay_days=14, min_interval_weeks=26)
NO_MAX = Rules(min_delay_days=0, max_delay_days=0, min_interval_weeks=26)
NEW = CustomerState()
QUEUED = CustomerState(has_pending_survey=True)


def surveyed(ago: timedelta) -> CustomerState:
    return CustomerState(last_surveyed_at=T - ago)


# (rules, customer state, createdAt or None, expected outcome, expected send_at or None)
TABLE = {
    # Scenario 1 of the source text: min 3 / max 14 with createdAt.
    "new customer is surveyed three days after creation": (
        SOURCE_SCENARIO,
        NEW,
        T,
        Outcome.SCHEDULED,
        T + 3 * DAY,
    ),
    "customer created yesterday is surveyed three days after creation, not after the call": (
        SOURCE_SCENARIO,
        NEW,
        T - DAY,
        Outcome.SCHEDULED,
        T + 2 * DAY,
    ),
    "customer created a week ago is surveyed at the call, never in the past": (
        SOURCE_SCENARIO,
        NEW,
        T - 7 * DAY,
        Outcome.SCHEDULED,
        T,
    ),
    "repeated identify of a customer created more than 14 days earlier is ignored": (
        SOURCE_SCENARIO,
        NEW,
        T - 20 * DAY,
        Outcome.SKIPPED_TOO_OLD,
        None,
    ),
    "exactly max delay old is not too old": (
        SOURCE_SCENARIO,
        NEW,
        T - 14 * DAY,
        Outcome.SCHEDULED,
        T,
    ),
    "one second older than max delay is too old": (
        SOURCE_SCENARIO,
        NEW,
        T - 14 * DAY - SECOND,
        Outcome.SKIPPED_TOO_OLD,
        None,
    ),
    "one second younger than max delay is surveyed": (
        SOURCE_SCENARIO,
        NEW,
        T - 14 * DAY + SECOND,
        Outcome.SCHEDULED,
        T,
    ),
    "without createdAt the max delay rule does not apply and R is the call": (
        SOURCE_SCENARIO,
        NEW,
        None,
        Outcome.SCHEDULED,
        T + 3 * DAY,
    ),
    "createdAt after the call schedules min delay after creation": (
        SOURCE_SCENARIO,
        NEW,
        T + 2 * DAY,
        Outcome.SCHEDULED,
        T + 5 * DAY,
    ),
    # Scenario 2 of the source text: max 0 (or no createdAt).
    "with max 0 a customer created years ago is still surveyed": (
        NO_MAX,
        NEW,
        T - 3000 * DAY,
        Outcome.SCHEDULED,
        T,
    ),
    "with max 0 and no createdAt every identify schedules at the call": (
        NO_MAX,
        NEW,
        None,
        Outcome.SCHEDULED,
        T,
    ),
    "with max 0 a customer surveyed within the interval is skipped": (
        NO_MAX,
        surveyed(10 * WEEK),
        None,
        Outcome.SKIPPED_INTERVAL,
        None,
    ),
    "with max 0 a customer surveyed longer ago than the interval is surveyed again": (
        NO_MAX,
        surveyed(30 * WEEK),
        T - 3000 * DAY,
        Outcome.SCHEDULED,
        T,
    ),
    # The minimum interval since L, the last survey.
    "exactly the minimum interval since the last survey is allowed again": (
        NO_MAX,
        surveyed(26 * WEEK),
        None,
        Outcome.SCHEDULED,
        T,
    ),
    "one second short of the minimum interval is skipped": (
        NO_MAX,
        surveyed(26 * WEEK - SECOND),
        None,
        Outcome.SKIPPED_INTERVAL,
        None,
    ),
    "one second past the minimum interval is allowed": (
        NO_MAX,
        surveyed(26 * WEEK + SECOND),
        None,
        Outcome.SCHEDULED,
        T,
    ),
    "a survey after the call counts as within the interval at the call": (
        NO_MAX,
        surveyed(-2 * DAY),
        None,
        Outcome.SKIPPED_INTERVAL,
        None,
    ),
    "the interval follows the setting, here 4 weeks": (
        Rules(min_interval_weeks=4),
        surveyed(4 * WEEK),
        None,
        Outcome.SCHEDULED,
        T,
    ),
    "an interval of 0 weeks allows a survey right after the last one": (
        Rules(min_interval_weeks=0),
        surveyed(timedelta(0)),
        None,
        Outcome.SCHEDULED,
        T,
    ),
    "send_at waits for the min delay even when surveyed again after the interval": (
        SOURCE_SCENARIO,
        surveyed(26 * WEEK),
        T,
        Outcome.SCHEDULED,
        T + 3 * DAY,
    ),
    # Step order: already queued first, then too old, then the interval.
    "a customer with a pending survey is already queued": (
        SOURCE_SCENARIO,
        QUEUED,
        T,
        Outcome.ALREADY_QUEUED,
        None,
    ),
    "already queued wins over too old": (
        SOURCE_SCENARIO,
        QUEUED,
        T - 100 * DAY,
        Outcome.ALREADY_QUEUED,
        None,
    ),
    "already queued wins over the interval": (
        NO_MAX,
        CustomerState(has_pending_survey=True, last_surveyed_at=T - DAY),
        None,
        Outcome.ALREADY_QUEUED,
        None,
    ),
    "too old wins over the interval": (
        SOURCE_SCENARIO,
        surveyed(DAY),
        T - 100 * DAY,
        Outcome.SKIPPED_TOO_OLD,
        None,
    ),
}


@pytest.mark.parametrize(
    ("rules", "state", "created_at", "outcome", "send_at"), TABLE.values(), ids=TABLE.keys()
)
def test_decision_follows_the_specification(
    rules: Rules,
    state: CustomerState,
    created_at: datetime | None,
    outcome: str,
    send_at: datetime | None,
) -> None:
    assert decide(rules, state, T, created_at) == Decision(outcome, send_at)


def test_rules_are_taken_from_the_settings() -> None:
    settings = Settings(min_delay_days=3, max_delay_days=14, min_interval_weeks=8)
    assert Rules.from_settings(settings) == Rules(3, 14, 8)


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (Outcome.SCHEDULED, "Survey scheduled"),
        (Outcome.ALREADY_QUEUED, "already waiting in the queue"),
        (Outcome.SKIPPED_TOO_OLD, "older than 14 days"),
        (Outcome.SKIPPED_INTERVAL, "within the last 26 weeks"),
        (None, "No decision yet"),
    ],
)
def test_each_outcome_is_explained_in_plain_words(outcome: str | None, words: str) -> None:
    assert words in explain(outcome, SOURCE_SCENARIO)


# Property-based: invariants over any rules, state and times.

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
rules_strategy = st.builds(
    Rules,
    min_delay_days=st.integers(0, 400),
    max_delay_days=st.integers(0, 400),
    min_interval_weeks=st.integers(0, 104),
)
states = st.builds(
    CustomerState,
    has_pending_survey=st.booleans(),
    last_surveyed_at=st.none() | moments,
)


@given(rules_strategy, states, moments, st.none() | moments)
def test_a_survey_is_never_scheduled_before_the_identify_call(
    rules: Rules, state: CustomerState, event_at: datetime, created_at: datetime | None
) -> None:
    decision = decide(rules, state, event_at, created_at)
    if decision.outcome == Outcome.SCHEDULED:
        assert decision.send_at is not None
        assert decision.send_at >= event_at
        reference = created_at if created_at is not None else event_at
        assert decision.send_at >= reference + timedelta(days=rules.min_delay_days)


@given(rules_strategy, states, moments, st.none() | moments)
def test_only_a_scheduled_decision_carries_a_send_time(
    rules: Rules, state: CustomerState, event_at: datetime, created_at: datetime | None
) -> None:
    decision = decide(rules, state, event_at, created_at)
    assert decision.outcome in Outcome.ALL
    assert (decision.send_at is not None) == (decision.outcome == Outcome.SCHEDULED)


@given(rules_strategy, states, moments, st.none() | moments)
def test_a_customer_with_a_pending_survey_never_gets_a_second_one(
    rules: Rules, state: CustomerState, event_at: datetime, created_at: datetime | None
) -> None:
    decision = decide(rules, state, event_at, created_at)
    if state.has_pending_survey:
        assert decision == Decision(Outcome.ALREADY_QUEUED)


@given(rules_strategy, moments, st.none() | moments, st.none() | moments)
def test_a_survey_is_never_scheduled_within_the_interval_since_the_last_one(
    rules: Rules,
    event_at: datetime,
    created_at: datetime | None,
    last_surveyed_at: datetime | None,
) -> None:
    state = CustomerState(last_surveyed_at=last_surveyed_at)
    decision = decide(rules, state, event_at, created_at)
    if decision.outcome == Outcome.SCHEDULED and last_surveyed_at is not None:
        assert event_at - last_surveyed_at >= timedelta(weeks=rules.min_interval_weeks)


@given(rules_strategy, moments, moments)
def test_a_customer_older_than_a_switched_on_max_delay_is_never_scheduled(
    rules: Rules, event_at: datetime, created_at: datetime
) -> None:
    decision = decide(rules, CustomerState(), event_at, created_at)
    too_old = rules.max_delay_days > 0 and event_at - created_at > timedelta(
        days=rules.max_delay_days
    )
    assert (decision.outcome == Outcome.SKIPPED_TOO_OLD) == too_old
