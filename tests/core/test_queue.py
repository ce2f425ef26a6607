"""The survey queue: filters, order and paging, and the operator's actions on surveys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from callexa_desktop.core.errors import ActionRefused
from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import (
    SORT_KEYS,
    QueueRow,
    cancel_surveys,
    count_surveys,
    due_count,
    hold_surveys,
    iter_surveys,
    list_surveys,
    release_surveys,
    reschedule_surveys,
    send_now,
)
from callexa_desktop.core.survey_reasons import SurveyReason
from tests.conftest import FIXED_NOW
from tests.core.queue_builders import add_customer, add_survey

NOW = FIXED_NOW
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def queue(profile: Profile) -> dict[str, int]:
    """One survey in every state; returns survey ids by customer first name."""
    plan: list[tuple[str, dict[str, Any], str, datetime, str]] = [
        ("ann", {"name": "Ann Smith", "user_id": "u-ann"}, SurveyStatus.SCHEDULED, NOW - HOUR, ""),
        ("bob", {"first_name": "Bob", "last_name": "Olsen"}, SurveyStatus.SCHEDULED, NOW + 2 * DAY, ""),  # noqa: E501
        ("cat", {}, SurveyStatus.HELD, NOW - 2 * HOUR, SurveyReason.MONTHLY_BUDGET),
        ("dan", {}, SurveyStatus.SENT, NOW - 10 * DAY, ""),
        ("eve", {}, SurveyStatus.CANCELLED, NOW - 3 * DAY, SurveyReason.CANCELLED_BY_OPERATOR),
        ("fay", {}, SurveyStatus.FAILED, NOW - 4 * DAY, "invalid_recipient"),
        ("gus", {}, SurveyStatus.SENDING, NOW - 5 * HOUR, ""),
        ("hal", {}, SurveyStatus.HELD, NOW + DAY, SurveyReason.HELD_BY_OPERATOR),
    ]  # fmt: skip
    ids = {}
    with profile.database.session() as session:
        for first, fields, status, send_at, reason in plan:
            domain = "shop.test" if first == "bob" else "example.com"
            customer = add_customer(session, f"{first}@{domain}", **fields)
            survey = add_survey(
                session,
                customer,
                send_at=send_at,
                status=status,
                reason=reason,
                sent_at=send_at if status == SurveyStatus.SENT else None,
                last_error="Callexa refused the address" if status == SurveyStatus.FAILED else None,
            )
            assert survey.id is not None
            ids[first] = survey.id
    return ids


def _survey(profile: Profile, survey_id: int) -> Survey:
    with profile.database.session() as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        return survey


def _emails(rows: list[QueueRow]) -> list[str]:
    return [row.email.split("@")[0] for row in rows]


# --- filters -------------------------------------------------------------------------------


@pytest.mark.usefixtures("queue")
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, ["ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"]),
        (SurveyStatus.SCHEDULED, ["ann", "bob"]),
        (SurveyStatus.HELD, ["cat", "hal"]),
        (SurveyStatus.SENT, ["dan"]),
        ("due", ["ann"]),
    ],
)
def test_status_filter_selects_surveys_in_that_state(
    profile: Profile, status: str | None, expected: list[str]
) -> None:
    with profile.database.session() as session:
        rows = list_surveys(session, status=status, now=NOW)
        total = count_surveys(session, status=status, now=NOW)
    assert sorted(_emails(rows)) == sorted(expected)
    assert total == len(expected)


@pytest.mark.usefixtures("queue")
def test_due_means_scheduled_with_its_time_come(profile: Profile) -> None:
    with profile.database.session() as session:
        assert due_count(session, NOW) == 1
        # Two days later bob's survey is due as well; held and sending ones never are.
        assert due_count(session, NOW + 3 * DAY) == 2


def test_due_filter_without_the_current_time_is_a_programming_error(profile: Profile) -> None:
    with profile.database.session() as session, pytest.raises(ValueError, match="current time"):
        count_surveys(session, status="due")


def test_unknown_status_or_sort_key_is_refused(profile: Profile) -> None:
    with profile.database.session() as session:
        with pytest.raises(ValueError, match="unknown survey status"):
            list_surveys(session, status="pending")
        with pytest.raises(ValueError, match="cannot sort"):
            list_surveys(session, order_by="rating")


@pytest.mark.usefixtures("queue")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SMITH", ["ann"]),  # name, any case
        ("shop.TEST", ["bob"]),  # part of the email, any case
        ("bob olsen", ["bob"]),  # first and last name together
        ("olsen", ["bob"]),
        ("@example.com", ["ann", "cat", "dan", "eve", "fay", "gus", "hal"]),
        ("  ann  ", ["ann"]),  # surrounding spaces ignored
        ("nobody", []),
    ],
)
def test_text_search_matches_email_or_name_ignoring_case(
    profile: Profile, text: str, expected: list[str]
) -> None:
    with profile.database.session() as session:
        rows = list_surveys(session, text=text)
        total = count_surveys(session, text=text)
    assert sorted(_emails(rows)) == expected
    assert total == len(expected)


def test_text_search_takes_percent_and_underscore_literally(profile: Profile) -> None:
    with profile.database.session() as session:
        for email in ("a_b@example.com", "axb@example.com", "100%@example.com", "1000@example.com"):
            add_survey(session, add_customer(session, email), send_at=NOW)
        assert _emails(list_surveys(session, text="a_b")) == ["a_b"]
        assert _emails(list_surveys(session, text="100%")) == ["100%"]


@pytest.mark.usefixtures("queue")
def test_text_and_status_filters_combine(profile: Profile) -> None:
    with profile.database.session() as session:
        rows = list_surveys(session, status=SurveyStatus.HELD, text="example")
    assert sorted(_emails(rows)) == ["cat", "hal"]


def test_rows_carry_what_the_queue_shows(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session:
        rows = {row.email.split("@")[0]: row for row in list_surveys(session)}
    ann, bob, dan, fay = rows["ann"], rows["bob"], rows["dan"], rows["fay"]
    assert (ann.id, ann.name, ann.user_id, ann.status) == (
        queue["ann"],
        "Ann Smith",
        "u-ann",
        SurveyStatus.SCHEDULED,
    )
    assert ann.send_at == NOW - HOUR
    assert ann.send_at.utcoffset() == timedelta(0)
    assert ann.is_due(NOW)
    assert not bob.is_due(NOW)
    assert bob.name == "Bob Olsen"  # built from first and last name
    assert rows["cat"].name is None
    assert dan.sent_at == NOW - 10 * DAY
    assert fay.last_error == "Callexa refused the address"
    assert rows["hal"].reason == SurveyReason.HELD_BY_OPERATOR


# --- order and paging ----------------------------------------------------------------------


@pytest.fixture
def crowd(profile: Profile) -> list[tuple[int, str, str | None, str, datetime]]:
    """29 surveys with repeated times, statuses and names; (id, email, name, status, send_at)."""
    statuses = [SurveyStatus.SCHEDULED, SurveyStatus.SENT, SurveyStatus.HELD, SurveyStatus.FAILED]
    surveys = []
    with profile.database.session() as session:
        for n in range(29):
            # Some customers have two surveys, some share a name, some have none.
            number = n % 23
            email = f"{(number * 7) % 23:02d}-person@example.com"
            customer = _customer(session, email, name=None if n % 5 == 0 else f"Name {n % 4}")
            send_at = NOW + timedelta(hours=n % 6)
            survey = add_survey(session, customer, send_at=send_at, status=statuses[n % 4])
            assert survey.id is not None
            surveys.append((survey.id, email, customer.name, survey.status, send_at))
    return surveys


def _customer(session: Session, email: str, name: str | None) -> Customer:
    existing = session.exec(select(Customer).where(Customer.email == email)).first()
    return existing or add_customer(session, email, name=name)


def _expected_order(
    surveys: list[tuple[int, str, str | None, str, datetime]], order_by: str
) -> list[int]:
    keys: dict[str, Any] = {
        "send_at": lambda s: (s[4], s[0]),
        "status": lambda s: (s[3], s[4], s[0]),
        "email": lambda s: (s[1], s[0]),
        # SQLite puts NULL first when ascending.
        "name": lambda s: (s[2] is not None, s[2] or "", s[0]),
    }
    return [s[0] for s in sorted(surveys, key=keys[order_by])]


@pytest.mark.parametrize("order_by", SORT_KEYS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("status", [None, SurveyStatus.SCHEDULED])
def test_pages_cover_the_queue_once_in_a_stable_order(
    profile: Profile,
    crowd: list[tuple[int, str, str | None, str, datetime]],
    order_by: str,
    descending: bool,
    status: str | None,
) -> None:
    chosen = [s for s in crowd if status is None or s[3] == status]
    expected = _expected_order(chosen, order_by)
    if descending:
        expected.reverse()
    with profile.database.session() as session:
        total = count_surveys(session, status=status)
        pages = [
            list_surveys(
                session,
                status=status,
                order_by=order_by,
                descending=descending,
                offset=offset,
                limit=4,
            )
            for offset in range(0, total, 4)
        ]
        streamed = list(
            iter_surveys(session, status=status, order_by=order_by, descending=descending)
        )
    assert [row.id for page in pages for row in page] == expected
    assert [row.id for row in streamed] == expected
    assert all(len(page) == 4 for page in pages[:-1])


@pytest.mark.usefixtures("crowd")
def test_a_page_past_the_end_is_empty(profile: Profile) -> None:
    with profile.database.session() as session:
        assert list_surveys(session, offset=29, limit=10) == []
        assert list_surveys(session, order_by="email", offset=40, limit=10) == []
        assert list_surveys(session, limit=0) == []
        assert len(list_surveys(session, order_by="email", offset=25, limit=10)) == 4


@pytest.mark.usefixtures("crowd")
def test_without_a_limit_the_rest_of_the_queue_comes_back(profile: Profile) -> None:
    with profile.database.session() as session:
        assert len(list_surveys(session, offset=20)) == 9
        assert len(list_surveys(session, order_by="email", offset=20)) == 9


@pytest.fixture
def statements(profile: Profile) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the profile's engine runs while the test runs."""
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    engine = profile.database.engine
    event.listen(engine, "before_cursor_execute", remember)
    yield seen
    event.remove(engine, "before_cursor_execute", remember)


@pytest.mark.usefixtures("crowd")
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_survey_send_at"),
        ({"descending": True}, "ix_survey_send_at"),
        ({"status": SurveyStatus.SCHEDULED}, "ix_survey_status_send_at"),
        ({"status": "due", "now": NOW}, "ix_survey_status_send_at"),
        ({"order_by": "status"}, "ix_survey_status_send_at"),
    ],
)
def test_queue_pages_and_counts_walk_an_index_without_sorting(
    profile: Profile, statements: list[tuple[str, Any]], filters: dict[str, Any], index: str
) -> None:
    with profile.database.session() as session:
        statements.clear()
        list_surveys(session, offset=10, limit=5, **filters)
        page_sql, page_params = statements[0]  # the ids of the page; the rows come after
        counting = {k: v for k, v in filters.items() if k in ("status", "now")}
        statements.clear()
        count_surveys(session, **counting)
        count_sql, count_params = statements[0]
        connection = session.connection().connection.driver_connection
        assert connection is not None
        plans = [
            " | ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in ((page_sql, page_params), (count_sql, count_params))
        ]
    page_plan, count_plan = plans
    assert f"COVERING INDEX {index}" in page_plan
    assert "COVERING INDEX" in count_plan
    assert "TEMP B-TREE" not in page_plan + count_plan


# --- operator actions ----------------------------------------------------------------------


def test_cancel_ends_scheduled_and_held_surveys(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session:
        changed = cancel_surveys(session, [queue["ann"], queue["cat"], queue["hal"]], now=NOW)
    assert changed == 3
    for name in ("ann", "cat", "hal"):
        survey = _survey(profile, queue[name])
        assert (survey.status, survey.reason) == (
            SurveyStatus.CANCELLED,
            SurveyReason.CANCELLED_BY_OPERATOR,
        )


def test_cancel_skips_surveys_that_cannot_be_cancelled(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session:
        changed = cancel_surveys(session, [queue["ann"], queue["dan"], queue["gus"]], now=NOW)
    assert changed == 1
    assert _survey(profile, queue["dan"]).status == SurveyStatus.SENT
    assert _survey(profile, queue["gus"]).status == SurveyStatus.SENDING


def test_cancelling_a_sent_survey_is_refused_with_a_sentence(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session, pytest.raises(ActionRefused) as refused:
        cancel_surveys(session, [queue["dan"]], now=NOW)
    assert str(refused.value) == (
        f"Survey {queue['dan']} cannot be cancelled: it is already sent, "
        "and only scheduled or held surveys can be."
    )


def test_a_survey_being_sent_cannot_be_moved(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session, pytest.raises(ActionRefused) as refused:
        send_now(session, [queue["gus"]], now=NOW)
    assert "being sent right now" in str(refused.value)
    assert _survey(profile, queue["gus"]).send_at == NOW - 5 * HOUR


def test_refusing_several_surveys_names_their_states(
    profile: Profile, queue: dict[str, int]
) -> None:
    ids = [queue["dan"], queue["eve"], queue["fay"], 999]
    with profile.database.session() as session, pytest.raises(ActionRefused) as refused:
        reschedule_surveys(session, ids, NOW + DAY)
    assert str(refused.value) == (
        "None of the 4 chosen surveys can be rescheduled: only scheduled or held surveys "
        "can be, and these are already sent, cancelled, failed or missing."
    )


def test_unknown_survey_ids_are_named(profile: Profile) -> None:
    with profile.database.session() as session:
        with pytest.raises(ActionRefused, match=r"^There is no survey with id 41\.$"):
            hold_surveys(session, [41])
        with pytest.raises(ActionRefused, match=r"^There are no surveys with ids 41, 42\.$"):
            release_surveys(session, [42, 41, 41])


def test_an_empty_choice_is_refused(profile: Profile) -> None:
    with profile.database.session() as session, pytest.raises(ActionRefused, match="No surveys"):
        cancel_surveys(session, [], now=NOW)


def test_hold_keeps_a_scheduled_survey_until_released(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session:
        assert hold_surveys(session, [queue["ann"]]) == 1
        assert due_count(session, NOW) == 0
    survey = _survey(profile, queue["ann"])
    assert (survey.status, survey.reason) == (SurveyStatus.HELD, SurveyReason.HELD_BY_OPERATOR)
    assert survey.send_at == NOW - HOUR  # the time is kept for the release


def test_holding_a_budget_held_survey_makes_the_operator_its_keeper(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session:
        assert hold_surveys(session, [queue["cat"], queue["hal"]]) == 1
        with pytest.raises(ActionRefused, match="already held by the operator"):
            hold_surveys(session, [queue["hal"]])
    assert _survey(profile, queue["cat"]).reason == SurveyReason.HELD_BY_OPERATOR


def test_release_puts_held_surveys_back_at_their_time(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session:
        assert release_surveys(session, [queue["cat"], queue["hal"], queue["ann"]]) == 2
        # cat was due already; hal's time is tomorrow.
        assert due_count(session, NOW) == 2
    for name in ("cat", "hal"):
        survey = _survey(profile, queue[name])
        assert (survey.status, survey.reason) == (
            SurveyStatus.SCHEDULED,
            SurveyReason.RELEASED_BY_OPERATOR,
        )


def test_releasing_a_scheduled_survey_is_refused(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session, pytest.raises(ActionRefused) as refused:
        release_surveys(session, [queue["bob"]])
    assert str(refused.value) == (
        f"Survey {queue['bob']} cannot be released: it is already scheduled, "
        "and only held surveys can be."
    )


def test_reschedule_moves_scheduled_and_held_surveys(
    profile: Profile, queue: dict[str, int]
) -> None:
    later = NOW + 5 * DAY
    with profile.database.session() as session:
        assert reschedule_surveys(session, [queue["ann"], queue["hal"]], later) == 2
        assert due_count(session, NOW) == 0
    for name in ("ann", "hal"):
        survey = _survey(profile, queue[name])
        assert (survey.status, survey.send_at, survey.reason) == (
            SurveyStatus.SCHEDULED,
            later,
            SurveyReason.RESCHEDULED_BY_OPERATOR,
        )


def test_rescheduling_into_the_past_makes_the_survey_due(
    profile: Profile, queue: dict[str, int]
) -> None:
    with profile.database.session() as session:
        reschedule_surveys(session, [queue["bob"]], NOW - DAY)
        assert due_count(session, NOW) == 2


def test_a_time_without_zone_is_taken_as_utc(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session:
        reschedule_surveys(session, [queue["bob"]], datetime(2027, 1, 2, 3, 4))
    assert _survey(profile, queue["bob"]).send_at == datetime(2027, 1, 2, 3, 4, tzinfo=NOW.tzinfo)


def test_send_now_makes_surveys_due_at_once(profile: Profile, queue: dict[str, int]) -> None:
    with profile.database.session() as session:
        survey = session.get(Survey, queue["bob"])
        assert survey is not None
        survey.next_attempt_at = NOW + 3 * DAY  # a retry wait left by an earlier attempt
        session.add(survey)
        session.flush()
        assert send_now(session, [queue["bob"], queue["cat"]], now=NOW) == 2
        assert due_count(session, NOW) == 3
    bob = _survey(profile, queue["bob"])
    assert (bob.status, bob.send_at, bob.reason, bob.next_attempt_at) == (
        SurveyStatus.SCHEDULED,
        NOW,
        SurveyReason.SEND_NOW_BY_OPERATOR,
        None,
    )


def test_actions_on_many_surveys_change_them_all(profile: Profile) -> None:
    with profile.database.session() as session:
        ids = [
            add_survey(session, add_customer(session, f"p{n}@example.com"), send_at=NOW).id
            for n in range(1200)
        ]
        assert hold_surveys(session, [i for i in ids if i is not None]) == 1200
        assert count_surveys(session, status=SurveyStatus.HELD) == 1200
