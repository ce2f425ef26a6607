"""Test helper: customers with surveys written straight into a profile's database."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from sqlmodel import select

from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile


def add_surveys(
    profile: Profile,
    count: int,
    *,
    send_at: datetime,
    status: str = SurveyStatus.SCHEDULED,
    reason: str = "scheduled",
    step: timedelta = timedelta(minutes=1),
    prefix: str = "c",
) -> list[int]:
    """``count`` customers ``{prefix}{n}@example.com``, each with one survey; the n-th is
    due at ``send_at + n * step``. Returns the survey ids in that order."""
    ids = []
    with profile.database.session() as session:
        for number in range(count):
            customer = Customer(
                email=f"{prefix}{number}@example.com",
                first_name=f"First{number}",
                user_id=f"u-{prefix}{number}",
            )
            session.add(customer)
            session.flush()
            assert customer.id is not None
            survey = Survey(
                key=uuid4().hex,
                customer_id=customer.id,
                status=status,
                send_at=send_at + step * number,
                reason=reason,
                planned_at=send_at,
            )
            session.add(survey)
            session.flush()
            assert survey.id is not None
            ids.append(survey.id)
    return ids


def surveys_by_id(profile: Profile) -> dict[int, Survey]:
    with profile.database.session() as session:
        return {s.id: s for s in session.exec(select(Survey)) if s.id is not None}


def statuses(profile: Profile, ids: list[int]) -> list[str]:
    rows = surveys_by_id(profile)
    return [rows[i].status for i in ids]


def customer_of(profile: Profile, survey_id: int) -> Customer:
    with profile.database.session() as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        customer = session.get(Customer, survey.customer_id)
        assert customer is not None
        return customer
