"""The customers list and one customer's full story, for the window and the command line.

Like the queue, a page is found by walking an index for ids only and then just
that page is read, so the list stays quick with hundreds of thousands of customers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import Session, col, select

from callexa_desktop.core.decision import Rules, explain
from callexa_desktop.core.errors import NotFound
from callexa_desktop.core.models import Customer, IdentifyEvent, Response, Survey
from callexa_desktop.core.queue import (
    QueueRow,
    customer_text_condition,
    display_name,
    stream_rows,
    surveys_by_id,
)

SORT_KEYS = (
    "email",
    "name",
    "created_at",
    "last_identified_at",
    "last_decision",
    "last_surveyed_at",
    "nps_rating",
    "nps_date",
)

_ID_CHUNK = 500
# Identify records shown in a customer's detail; a daily identify would otherwise grow unbounded.
DETAIL_HISTORY_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One customer as the list shows it. Times are aware UTC."""

    id: int
    email: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    created_at: datetime | None
    last_identified_at: datetime | None
    last_decision: str | None
    last_surveyed_at: datetime | None
    nps_rating: int | None
    nps_date: datetime | None


@dataclass(frozen=True)
class CustomerDetail:
    """Everything known about one customer, newest first in every list."""

    customer: Customer
    identify_events: list[IdentifyEvent]
    surveys: list[QueueRow]
    responses: list[Response]
    more_identify_events: bool = False  # True when history was cut at the limit


def count_customers(session: Session, *, text: str | None = None) -> int:
    """How many customers there are, or how many whose email or name contains ``text``."""
    query = select(func.count()).select_from(Customer)
    if text and text.strip():
        query = query.where(customer_text_condition(session, text))
    return int(session.exec(query).one())


def list_customers(
    session: Session,
    *,
    text: str | None = None,
    order_by: str = "email",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[CustomerRow]:
    """One page of customers in ``order_by`` order (one of SORT_KEYS, ties by id)."""
    query = select(Customer.id).order_by(*_ordering(order_by, descending))
    if text and text.strip():
        query = query.where(customer_text_condition(session, text))
    if offset > 0:
        query = query.offset(offset)
    if limit is not None:
        if limit <= 0:
            return []
        query = query.limit(limit)
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    return _rows_for_ids(session, ids)


def iter_customers(
    session: Session,
    *,
    text: str | None = None,
    order_by: str = "email",
    descending: bool = False,
) -> Iterator[CustomerRow]:
    """Every (matching) customer in order, streamed in chunks so memory stays flat."""
    query = _row_query().order_by(*_ordering(order_by, descending))
    if text and text.strip():
        query = query.where(customer_text_condition(session, text))
    for row in stream_rows(session, query):
        yield CustomerRow(*row)


def customer_detail(
    session: Session, customer_id: int, *, history_limit: int = DETAIL_HISTORY_LIMIT
) -> CustomerDetail:
    """The customer with their identify records, surveys and responses, newest first.

    Raises NotFound with a sentence when there is no such customer.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"There is no customer with id {customer_id}.")
    events = list(
        session.exec(
            select(IdentifyEvent)
            .where(IdentifyEvent.customer_id == customer_id)
            .order_by(col(IdentifyEvent.event_at).desc(), col(IdentifyEvent.id).desc())
            .limit(history_limit + 1)
        )
    )
    survey_ids = session.exec(
        select(Survey.id)
        .where(Survey.customer_id == customer_id)
        .order_by(col(Survey.send_at).desc(), col(Survey.id).desc())
    ).all()
    responses = list(
        session.exec(
            select(Response)
            .where(Response.customer_id == customer_id)
            .order_by(col(Response.answered_at).desc(), col(Response.id).desc())
        )
    )
    return CustomerDetail(
        customer=customer,
        identify_events=events[:history_limit],
        surveys=surveys_by_id(session, [int(i) for i in survey_ids if i is not None]),
        responses=responses,
        more_identify_events=len(events) > history_limit,
    )


def decision_in_words(row: CustomerRow | Customer, rules: Rules) -> str:
    """The customer's last decision as a sentence, e.g. "Not surveyed: customer older
    than 14 days when identified"."""
    return explain(row.last_decision, rules)


def _ordering(order_by: str, descending: bool) -> list[UnaryExpression[Any]]:
    keys: dict[str, Any] = {
        "email": col(Customer.email),
        "name": display_name(),
        "created_at": col(Customer.created_at),
        "last_identified_at": col(Customer.last_identified_at),
        "last_decision": col(Customer.last_decision),
        "last_surveyed_at": col(Customer.last_surveyed_at),
        "nps_rating": col(Customer.nps_rating),
        "nps_date": col(Customer.nps_date),
    }
    if order_by not in keys:
        raise ValueError(f"cannot sort customers by {order_by!r}; use one of {SORT_KEYS}")
    ordered = [keys[order_by]]
    # Emails are unique, so the email index alone gives the full order.
    if order_by != "email":
        ordered.append(col(Customer.id))
    return [key.desc() if descending else key.asc() for key in ordered]


def _row_query() -> Any:
    columns: list[Any] = [
        Customer.id,
        Customer.email,
        display_name(),
        Customer.user_id,
        Customer.anonymous_id,
        Customer.created_at,
        Customer.last_identified_at,
        Customer.last_decision,
        Customer.last_surveyed_at,
        Customer.nps_rating,
        Customer.nps_date,
    ]
    return select_columns(*columns)


def _rows_for_ids(session: Session, ids: Sequence[int]) -> list[CustomerRow]:
    by_id: dict[int, CustomerRow] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        condition: ColumnElement[bool] = col(Customer.id).in_(chunk)
        for row in session.exec(_row_query().where(condition)):
            customer = CustomerRow(*row)
            by_id[customer.id] = customer
    return [by_id[i] for i in ids if i in by_id]
