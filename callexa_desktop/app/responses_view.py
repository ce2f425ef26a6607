"""The Responses tab: a plain list of every reply kept locally (the review screens come later).

The core has no listing function for responses yet, so this view reads the
``response`` table directly with a paged, indexed query; it only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QTableView, QVBoxLayout, QWidget
from sqlalchemy import func
from sqlmodel import Session, col, select

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.paged_model import Column, PagedTableModel
from callexa_desktop.app.tables import (
    SelectionMode,
    restore_table,
    save_table,
    setup_table,
    show_sort_order,
)
from callexa_desktop.app.time_text import local_time_with_hint
from callexa_desktop.core.models import Customer, Response

STATE_GROUP = "responses"


@dataclass(frozen=True)
class ResponseRow:
    id: int
    email: str
    rating: int
    comment: str
    answered_at: datetime


@dataclass(frozen=True)
class ResponseQuery:
    order_by: str = "answered_at"
    descending: bool = True


_ORDER_COLUMNS: dict[str, Any] = {
    "answered_at": col(Response.answered_at),
    "email": col(Customer.email),
    "rating": col(Response.rating),
}


class ResponsesModel(PagedTableModel[ResponseQuery, ResponseRow]):
    """Answered, email, rating, comment — newest first unless sorted otherwise."""

    ANSWERED, EMAIL, RATING, COMMENT = range(4)
    COLUMNS: ClassVar = (
        Column("Answered", "answered_at"),
        Column("Email", "email"),
        Column("Rating", "rating"),
        Column("Comment"),
    )

    def __init__(self, context: AppContext) -> None:
        super().__init__(context, ResponseQuery())

    def count_rows(self, session: Session, query: ResponseQuery) -> int:
        return int(session.exec(select(func.count()).select_from(Response)).one())

    def fetch_rows(
        self, session: Session, query: ResponseQuery, offset: int, limit: int, reverse: bool
    ) -> list[ResponseRow]:
        descending = query.descending != reverse
        keys = [_ORDER_COLUMNS[query.order_by], col(Response.id)]
        statement = (
            select(
                Response.id,
                Customer.email,
                Response.rating,
                Response.comment,
                Response.answered_at,
            )
            .join(Customer, col(Customer.id) == col(Response.customer_id))
            .order_by(*(key.desc() if descending else key.asc() for key in keys))
            .offset(offset)
            .limit(limit)
        )
        return [ResponseRow(*row) for row in session.exec(statement)]

    def display(self, row: ResponseRow, column: int) -> Any:
        if column == self.ANSWERED:
            return local_time_with_hint(row.answered_at, self._context.now())
        if column == self.EMAIL:
            return row.email
        if column == self.RATING:
            return str(row.rating)
        if column == self.COMMENT:
            return row.comment
        return None

    def sort_key(self, row: ResponseRow, column: int) -> Any:
        return {self.ANSWERED: row.answered_at, self.RATING: row.rating}.get(
            column, self.display(row, column)
        )

    def tooltip(self, row: ResponseRow, column: int) -> str | None:
        return row.comment if column == self.COMMENT and row.comment else None


class ResponsesView(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("responsesView")
        self.model = ResponsesModel(context)
        self.count_label = QLabel("", objectName="responseCount")
        self.table = QTableView(objectName="responsesTable")
        self.table.setModel(self.model)
        setup_table(
            self.table,
            widths={0: 230, 1: 240, 2: 70},
            selection=SelectionMode.ExtendedSelection,
            sorted_by=(ResponsesModel.ANSWERED, Qt.SortOrder.DescendingOrder),
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.count_label)
        layout.addWidget(self.table, 1)
        self.model.loaded.connect(self._show_count)
        context.hub.changed.connect(self._data_changed)

    def save_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        save_table(settings, self.table, self.model.query)
        settings.endGroup()

    def restore_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        saved = restore_table(settings, self.table, order_by="answered_at", descending=True)
        settings.endGroup()
        order_by = saved.order_by if saved.order_by in _ORDER_COLUMNS else "answered_at"
        self.model.set_query(ResponseQuery(order_by, saved.descending))
        show_sort_order(self.table, self.model.sort_column(), saved.descending)

    def _show_count(self) -> None:
        count = self.model.rowCount()
        self.count_label.setText(
            f"{count:,} response kept on this computer"
            if count == 1
            else f"{count:,} responses kept on this computer"
        )

    def _data_changed(self, topic: str) -> None:
        if topic == Topic.RESPONSES:
            self.model.refresh()
