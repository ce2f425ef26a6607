"""Test helper: customers, identify records and surveys written straight into the tables."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from sqlmodel import Session

from callexa_desktop.core.models import Customer, IdentifyEvent, Response, Survey, SurveyStatus

_numbers = count(1)


def add_customer(session: Session, email: str, **fields: Any) -> Customer:
    customer = Customer(email=email, **fields)
    session.add(customer)
    session.flush()
    return customer


def add_identify(
    session: Session,
    customer: Customer,
    *,
    event_at: datetime,
    created_at: datetime | None = None,
    decision: str = "scheduled",
) -> IdentifyEvent:
    event = IdentifyEvent(
        message_key=f"test-{next(_numbers)}",
        email=customer.email,
        customer_id=customer.id,
        event_at=event_at,
        created_at=created_at,
        source="test",
        decision=decision,
    )
    session.add(event)
    session.flush()
    return event


def add_survey(
    session: Session,
    customer: Customer,
    *,
    send_at: datetime,
    status: str = SurveyStatus.SCHEDULED,
    reason: str = "scheduled",
    identify: IdentifyEvent | None = None,
    sent_at: datetime | None = None,
    last_error: str | None = None,
) -> Survey:
    assert customer.id is not None
    survey = Survey(
        key=f"survey-{next(_numbers)}",
        customer_id=customer.id,
        status=status,
        send_at=send_at,
        reason=reason,
        planned_at=send_at,
        identify_id=identify.id if identify else None,
        sent_at=sent_at,
        last_error=last_error,
    )
    session.add(survey)
    session.flush()
    return survey


def add_response(
    session: Session, customer: Customer, *, rating: int, answered_at: datetime, comment: str = ""
) -> Response:
    assert customer.id is not None
    response = Response(
        dedupe_key=f"response-{next(_numbers)}",
        customer_id=customer.id,
        rating=rating,
        comment=comment,
        answered_at=answered_at,
        source="test",
        received_at=answered_at,
    )
    session.add(response)
    session.flush()
    return response
