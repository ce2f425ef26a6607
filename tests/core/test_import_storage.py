"""The import's bulk statements: values stored as SQLAlchemy stores them, rows as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from callexa_desktop.core import import_storage
from callexa_desktop.core.decision import Rules
from callexa_desktop.core.import_storage import (
    Decider,
    DriverStatement,
    Intake,
    larger_page_cache,
    read_storage_time,
    storage_time_writer,
)
from callexa_desktop.core.models import Customer
from callexa_desktop.core.profile import Profile

MOMENTS = [
    datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    datetime(2026, 3, 1, 8, 0, 5, 120, tzinfo=UTC),
    datetime(2026, 3, 1, 10, 30, 0, 999999, tzinfo=timezone(timedelta(hours=2, minutes=30))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_a_time_is_stored_exactly_as_sqlalchemy_stores_it(
    profile: Profile, moment: datetime
) -> None:
    with profile.database.session() as session:
        session.add(Customer(email="ann@example.com", created_at=moment))
    with profile.database.engine.connect() as connection:
        stored = connection.execute(text("SELECT created_at FROM customer")).scalar_one()
        ours = storage_time_writer(connection.dialect)(moment)

    assert ours == stored
    assert read_storage_time(ours) == moment
    assert read_storage_time(ours).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stored", "moment"),
    [
        ("2026-03-01 08:00:00.000000", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T09:00:00+01:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T09:00:00.5+0100", datetime(2026, 3, 1, 8, 0, 0, 500000, tzinfo=UTC)),
        (datetime(2026, 3, 1, 8, 0), datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_stored_times_of_any_form_are_read_as_aware_utc(
    stored: object, moment: datetime | None
) -> None:
    assert read_storage_time(stored) == moment


def test_the_hot_statements_hand_rows_to_the_driver_as_they_are(profile: Profile) -> None:
    with profile.database.engine.connect() as connection:
        intake = Intake(connection, run_id=1)
        decider = Decider(connection, Rules(), datetime.now(UTC), 1, chunk=10, cached_customers=10)
        hot = [
            intake.insert_events,
            decider.insert_customers,
            decider.update_customers,
            decider.insert_surveys,
            decider.mark_events,
        ]
    assert all(statement.as_given for statement in hot)


def test_a_statement_with_constants_and_another_order_still_runs(profile: Profile) -> None:
    from sqlalchemy import bindparam, select

    customers = import_storage.CUSTOMERS
    with profile.database.engine.connect() as connection:
        connection.execute(customers.insert(), [{"email": f"c{n}@example.com"} for n in range(5)])
        statement = (
            select(customers.c.email)
            .where(customers.c.email > bindparam("low"), customers.c.email < bindparam("high"))
            .order_by(customers.c.email)
            .limit(2)
        )
        lookup = DriverStatement(connection, statement, ["high", "low"])
        found = lookup.fetch(connection, ("c4@example.com", "c0@example.com"))

    assert not lookup.as_given
    assert [row[0] for row in found] == ["c1@example.com", "c2@example.com"]


def test_the_larger_page_cache_lasts_only_while_importing(profile: Profile) -> None:
    with profile.database.engine.connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with larger_page_cache(connection), connection.begin():
            during = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        after = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()

    assert during == -import_storage.IMPORT_PAGE_CACHE_KIB
    assert after == before != during
