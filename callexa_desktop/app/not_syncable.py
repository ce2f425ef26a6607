"""Who cannot be synced yet: customers whose latest rating waits for Segment but who have
neither a userId nor an anonymousId, so Segment cannot be told whose rating it is.

``callexa-desktop sync`` lists their emails; in the window the Activity tab opens
``NotSyncableDialog`` from a sync's "can't be synced yet" line. The list is read from the
sync outbox as it is now (a customer identified since has dropped out of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import func
from sqlmodel import Session, col, select

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.tables import ListTableModel, SelectionMode, setup_table
from callexa_desktop.app.time_text import local_time
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.models import Customer, Response, SyncOutbox
from callexa_desktop.core.sync_outbox import OutboxStatus

AnyIndex = QModelIndex | QPersistentModelIndex

# More would not be read one by one; the heading says how many there are in all.
MAX_LISTED = 5000
WHY = "No userId or anonymousId yet"


@dataclass(frozen=True)
class UnsyncedCustomer:
    """A customer whose latest rating cannot go to Segment yet."""

    email: str
    name: str
    rating: int
    answered_at: datetime


def customers_not_syncable(
    session: Session, *, limit: int = MAX_LISTED
) -> tuple[list[UnsyncedCustomer], int]:
    """The first ``limit`` customers (by email) whose rating waits in the sync outbox without
    a userId or an anonymousId, and how many there are in all."""
    no_ids = (
        col(SyncOutbox.status) == OutboxStatus.PENDING,
        func.coalesce(col(Customer.user_id), "") == "",
        func.coalesce(col(Customer.anonymous_id), "") == "",
    )
    total = session.exec(
        select(func.count())
        .select_from(SyncOutbox)
        .join(Customer, col(Customer.id) == col(SyncOutbox.customer_id))
        .where(*no_ids)
    ).one()
    rows = session.exec(
        select(
            Customer.email,
            Customer.name,
            Customer.first_name,
            Customer.last_name,
            Response.rating,
            Response.answered_at,
        )
        .join(SyncOutbox, col(SyncOutbox.customer_id) == col(Customer.id))
        .join(Response, col(Response.id) == col(SyncOutbox.response_id))
        .where(*no_ids)
        .order_by(col(Customer.email))
        .limit(limit)
    ).all()
    customers = [
        UnsyncedCustomer(
            email=email,
            name=name or " ".join(part for part in (first, last) if part),
            rating=rating,
            answered_at=answered_at,
        )
        for email, name, first, last, rating, answered_at in rows
    ]
    return customers, int(total)


class NotSyncableModel(ListTableModel[UnsyncedCustomer]):
    """Email, name, rating, answered, and why it cannot be synced."""

    EMAIL, NAME, RATING, ANSWERED, WHY = range(5)
    HEADERS: ClassVar = ("Email", "Name", "Rating", "Answered", "Why")

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        customer = self.row_at(index.row()) if index.isValid() else None
        if customer is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        return (
            customer.email,
            customer.name,
            str(customer.rating),
            local_time(customer.answered_at),
            WHY,
        )[index.column()]


class NotSyncableDialog(QDialog):
    """The customers who cannot be synced yet, and why; loads in the background."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notSyncableDialog")
        self.setWindowTitle("Customers not synced yet")
        self.resize(720, 420)
        self.heading = QLabel("Reading the customers…", objectName="notSyncableHeading")
        self.heading.setWordWrap(True)
        self.model = NotSyncableModel()
        self.table = QTableView(objectName="notSyncableTable")
        self.table.setModel(self.model)
        setup_table(
            self.table,
            widths={0: 230, 1: 150, 2: 60, 3: 130},
            selection=SelectionMode.ExtendedSelection,
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.loaded = False
        profile = context.profile

        def job(_control: WorkerControl) -> tuple[list[UnsyncedCustomer], int]:
            with profile.database.session() as session:
                return customers_not_syncable(session)

        self.task = context.run(
            job,
            description="reading the customers that cannot be synced",
            on_result=self._show,
            on_error=self._failed,
        )

    def _show(self, found: tuple[list[UnsyncedCustomer], int]) -> None:
        customers, total = found
        self.model.set_rows(customers)
        self.heading.setText(heading_for(len(customers), total))
        self.table.setVisible(bool(customers))
        self.loaded = True

    def _failed(self, error: TaskError) -> None:
        self.heading.setText(error.sentence)
        self.table.setVisible(False)
        self.loaded = True


def heading_for(listed: int, total: int) -> str:
    """What the list is and what to do about it, in a few sentences."""
    if total == 0:
        return (
            "Every customer with a rating waiting can be synced now: each has a userId or "
            "an anonymousId."
        )
    who = "1 customer answered" if total == 1 else f"{total:,} customers answered"
    text = (
        f"{who}, but Segment cannot be told whose rating it is: no userId or anonymousId "
        "is known yet. The rating is synced by itself once an identify record with one of "
        "those ids is imported."
    )
    if listed < total:
        text += f" The first {listed:,} are listed."
    return text
