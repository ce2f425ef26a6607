"""The customers list, one customer's history, and their last decision in words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callexa_desktop.core.customers import (
    SORT_KEYS,
    CustomerRow,
    count_customers,
    customer_detail,
    decision_in_words,
    iter_customers,
    list_customers,
)
from callexa_desktop.core.decision import Outcome, Rules
from callexa_desktop.core.errors import NotFound
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.profile import Profile
from tests.conftest import FIXED_NOW
from tests.core.queue_builders import add_customer, add_identify, add_response, add_survey

NOW = FIXED_NOW
DAY = timedelta(days=1)


@pytest.fixture
def customers(profile: Profile) -> dict[str, int]:
    """Five customers with different facts; ids by local part of the email."""
    facts = {
        "zoe": {"name": "Zoe Quinn", "user_id": "u-zoe", "nps_rating": 9, "nps_date": NOW - DAY},
        "adam": {"first_name": "Adam", "last_name": "Berg", "anonymous_id": "a-adam"},
        "mia": {"created_at": NOW - 40 * DAY, "last_decision": Outcome.SKIPPED_TOO_OLD},
        "bo": {"last_surveyed_at": NOW - 3 * DAY, "nps_rating": 3, "nps_date": NOW - 2 * DAY},
        "lee": {"last_identified_at": NOW - 5 * DAY, "last_decision": Outcome.SCHEDULED},
    }
    ids = {}
    with profile.database.session() as session:
        for name, fields in facts.items():
            customer = add_customer(session, f"{name}@example.com", **fields)
            assert customer.id is not None
            ids[name] = customer.id
    return ids


def _names(rows: list[CustomerRow]) -> list[str]:
    return [row.email.split("@")[0] for row in rows]


@pytest.mark.usefixtures("customers")
def test_customers_are_listed_by_email_by_default(profile: Profile) -> None:
    with profile.database.session() as session:
        assert _names(list_customers(session)) == ["adam", "bo", "lee", "mia", "zoe"]
        assert _names(list_customers(session, descending=True, limit=2)) == ["zoe", "mia"]
        assert _names(list_customers(session, offset=3, limit=5)) == ["mia", "zoe"]
        assert count_customers(session) == 5


def test_rows_carry_the_columns_of_the_list(profile: Profile, customers: dict[str, int]) -> None:
    with profile.database.session() as session:
        rows = {row.email.split("@")[0]: row for row in list_customers(session)}
    assert rows["zoe"] == CustomerRow(
        id=customers["zoe"],
        email="zoe@example.com",
        name="Zoe Quinn",
        user_id="u-zoe",
        anonymous_id=None,
        created_at=None,
        last_identified_at=None,
        last_decision=None,
        last_surveyed_at=None,
        nps_rating=9,
        nps_date=NOW - DAY,
    )
    assert rows["adam"].name == "Adam Berg"
    assert rows["mia"].created_at == NOW - 40 * DAY


@pytest.mark.usefixtures("customers")
@pytest.mark.parametrize(
    ("text", "expected"), [("ZOE", ["zoe"]), ("berg", ["adam"]), ("example", 5), ("x_", [])]
)
def test_search_matches_email_or_name(
    profile: Profile, text: str, expected: list[str] | int
) -> None:
    with profile.database.session() as session:
        rows = list_customers(session, text=text)
        total = count_customers(session, text=text)
    if isinstance(expected, int):
        assert total == len(rows) == expected
    else:
        assert (_names(rows), total) == (expected, len(expected))


@pytest.mark.usefixtures("customers")
@pytest.mark.parametrize("order_by", SORT_KEYS)
def test_every_sort_key_pages_through_all_customers_once(profile: Profile, order_by: str) -> None:
    with profile.database.session() as session:
        full = list_customers(session, order_by=order_by)
        paged = [
            row
            for offset in range(0, 5, 2)
            for row in list_customers(session, order_by=order_by, offset=offset, limit=2)
        ]
        streamed = list(iter_customers(session, order_by=order_by))
        backwards = list_customers(session, order_by=order_by, descending=True)
    assert paged == full == streamed
    assert backwards == full[::-1]
    assert len({row.id for row in full}) == 5


@pytest.mark.usefixtures("customers")
def test_sorting_by_rating_puts_the_unrated_first(profile: Profile) -> None:
    with profile.database.session() as session:
        rows = list_customers(session, order_by="nps_rating")
    assert [row.nps_rating for row in rows] == [None, None, None, 3, 9]


def test_unknown_sort_key_is_refused(profile: Profile) -> None:
    with profile.database.session() as session, pytest.raises(ValueError, match="cannot sort"):
        list_customers(session, order_by="age")


def test_detail_holds_history_surveys_and_responses_newest_first(profile: Profile) -> None:
    with profile.database.session() as session:
        ann = add_customer(session, "ann@example.com", name="Ann")
        other = add_customer(session, "other@example.com")
        first = add_identify(session, ann, event_at=NOW - 60 * DAY)
        second = add_identify(session, ann, event_at=NOW - DAY)
        add_identify(session, other, event_at=NOW)
        old = add_survey(session, ann, send_at=NOW - 59 * DAY, status=SurveyStatus.SENT)
        new = add_survey(session, ann, send_at=NOW + DAY, identify=second)
        add_survey(session, other, send_at=NOW)
        early = add_response(session, ann, rating=6, answered_at=NOW - 58 * DAY)
        late = add_response(session, ann, rating=10, answered_at=NOW - DAY, comment="great")
        assert ann.id is not None
        detail = customer_detail(session, ann.id)
    assert detail.customer.email == "ann@example.com"
    assert [e.id for e in detail.identify_events] == [second.id, first.id]
    assert [s.id for s in detail.surveys] == [new.id, old.id]
    assert detail.surveys[0].email == "ann@example.com"
    assert [r.id for r in detail.responses] == [late.id, early.id]
    assert detail.responses[0].comment == "great"
    assert detail.more_identify_events is False


def test_a_long_identify_history_is_cut_at_the_limit(profile: Profile) -> None:
    with profile.database.session() as session:
        daily = add_customer(session, "daily@example.com")
        for n in range(6):
            add_identify(session, daily, event_at=NOW - n * DAY)
        assert daily.id is not None
        detail = customer_detail(session, daily.id, history_limit=4)
    assert [e.event_at for e in detail.identify_events] == [NOW - n * DAY for n in range(4)]
    assert detail.more_identify_events is True


def test_an_unknown_customer_is_named_in_a_sentence(profile: Profile) -> None:
    with profile.database.session() as session, pytest.raises(NotFound) as missing:
        customer_detail(session, 404)
    assert str(missing.value) == "There is no customer with id 404."


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        (Outcome.SKIPPED_TOO_OLD, "Not surveyed: customer older than 14 days when identified"),
        (Outcome.SKIPPED_INTERVAL, "Not surveyed: already surveyed within the last 26 weeks"),
        (Outcome.SCHEDULED, "Survey scheduled"),
        (None, "No decision yet"),
    ],
)
def test_the_last_decision_reads_as_a_sentence(decision: str | None, words: str) -> None:
    row = CustomerRow(
        id=1,
        email="a@example.com",
        name=None,
        user_id=None,
        anonymous_id=None,
        created_at=None,
        last_identified_at=None,
        last_decision=decision,
        last_surveyed_at=None,
        nps_rating=None,
        nps_date=None,
    )
    assert decision_in_words(row, Rules(min_delay_days=3, max_delay_days=14)) == words
