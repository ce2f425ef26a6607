"""Small helpers for window tests: customers and surveys written straight to the database,
and what a table shows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from PySide6.QtCore import QAbstractItemModel
from sqlmodel import select

from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile


def add_survey(
    profile: Profile,
    email: str,
    *,
    name: str | None = None,
    status: str = SurveyStatus.SCHEDULED,
    send_in: timedelta = timedelta(days=1),
    reason: str = "scheduled",
) -> int:
    """One customer with one survey sent ``send_in`` from the profile's now; the survey id."""
    now = profile.clock()
    with profile.database.session() as session:
        customer = Customer(email=email, name=name, first_seen_at=now, last_identified_at=now)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        survey = Survey(
            key=uuid.uuid4().hex,
            customer_id=customer.id,
            status=status,
            send_at=now + send_in,
            reason=reason,
            planned_at=now,
            sent_at=now if status == SurveyStatus.SENT else None,
        )
        session.add(survey)
        session.flush()
        assert survey.id is not None
        return survey.id


def survey_states(profile: Profile) -> dict[int, tuple[str, datetime]]:
    """Every survey's status and send time, by id."""
    with profile.database.session() as session:
        return {s.id: (s.status, s.send_at) for s in session.exec(select(Survey)) if s.id}


def column_texts(model: QAbstractItemModel, column: int) -> list[str]:
    """What ``column`` of ``model`` shows, row by row."""
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]
