"""The Customers tab: every customer with their last decision in plain words, and a detail
pane with their identify history, surveys and responses."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from sqlmodel import Session

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.paged_model import ROW_ROLE, Column, PagedTableModel
from callexa_desktop.app.queue_model import reason_words, status_words
from callexa_desktop.app.tables import (
    SearchBox,
    fit_column,
    restore_table,
    save_table,
    setup_table,
    show_sort_order,
)
from callexa_desktop.app.time_text import local_time, local_time_with_hint
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.customers import (
    CustomerDetail,
    CustomerRow,
    count_customers,
    customer_detail,
    list_customers,
)
from callexa_desktop.core.decision import Rules, explain

STATE_GROUP = "customers"


@dataclass(frozen=True)
class CustomerQuery:
    text: str = ""
    order_by: str = "email"
    descending: bool = False


class CustomersModel(PagedTableModel[CustomerQuery, CustomerRow]):
    """Email, name, last decision (in words), last surveyed, latest rating, last identified."""

    EMAIL, NAME, DECISION, SURVEYED, RATING, IDENTIFIED = range(6)
    COLUMNS: ClassVar = (
        Column("Email", "email"),
        Column("Name", "name"),
        Column("Last decision", "last_decision"),
        Column("Last surveyed", "last_surveyed_at"),
        Column("Rating", "nps_rating"),  # the latest; the detail pane has them all
        Column("Last identified", "last_identified_at"),
    )

    def __init__(self, context: AppContext) -> None:
        super().__init__(context, CustomerQuery())
        self.rules = Rules.from_settings(context.settings())

    def count_rows(self, session: Session, query: CustomerQuery) -> int:
        return count_customers(session, text=query.text or None)

    def fetch_rows(
        self, session: Session, query: CustomerQuery, offset: int, limit: int, reverse: bool
    ) -> list[CustomerRow]:
        return list_customers(
            session,
            text=query.text or None,
            order_by=query.order_by,
            descending=query.descending != reverse,
            offset=offset,
            limit=limit,
        )

    def display(self, row: CustomerRow, column: int) -> Any:
        now = self._context.now()
        if column == self.EMAIL:
            return row.email
        if column == self.NAME:
            return row.name or ""
        if column == self.DECISION:
            return explain(row.last_decision, self.rules)
        if column == self.SURVEYED:
            return (
                local_time_with_hint(row.last_surveyed_at, now) if row.last_surveyed_at else "never"
            )
        if column == self.RATING:
            return "—" if row.nps_rating is None else str(row.nps_rating)
        if column == self.IDENTIFIED:
            return local_time_with_hint(row.last_identified_at, now)
        return None

    def tooltip(self, row: CustomerRow, column: int) -> str | None:
        # The decision sentence is often wider than its column: the whole of it on hover.
        return self.display(row, column) if column == self.DECISION else None

    def sort_key(self, row: CustomerRow, column: int) -> Any:
        return {
            self.SURVEYED: row.last_surveyed_at,
            self.RATING: row.nps_rating,
            self.IDENTIFIED: row.last_identified_at,
        }.get(column, self.display(row, column))


# Column widths fitted to the first rows shown: (least, most) pixels. The last decision, a
# sentence, takes the room left (cut with "…", whole in its tooltip).
FITTED_COLUMNS = {
    CustomersModel.EMAIL: (160, 280),
    CustomersModel.NAME: (90, 200),
    CustomersModel.SURVEYED: (90, 240),
    CustomersModel.RATING: (50, 120),
    CustomersModel.IDENTIFIED: (110, 240),
}


class CustomersView(QWidget):
    """The customers table (search, sort) above the selected customer's details.

    Unless the operator's own column widths were restored, the columns are fitted to the
    first rows once they are loaded (``fit_columns``).
    """

    detail_shown = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customersView")
        self._context = context
        self.model = CustomersModel(context)
        self.search = SearchBox(object_name="customerSearch")
        self.search.typing_paused.connect(self.apply_filters)
        self.count_label = QLabel("", objectName="customerCount")

        self.table = QTableView(objectName="customersTable")
        self.table.setModel(self.model)
        setup_table(
            self.table,
            widths={0: 220, 1: 130, 3: 200, 4: 100, 5: 200},
            sorted_by=(CustomersModel.EMAIL, Qt.SortOrder.AscendingOrder),
        )
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(CustomersModel.DECISION, QHeaderView.ResizeMode.Stretch)
        self._fit_when_loaded = True
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.loaded.connect(self._show_count)
        self.model.loaded.connect(self._fit_first_rows)

        self.detail = QTextBrowser(objectName="customerDetail")
        self.detail.setPlaceholderText("Choose a customer to see their history.")
        self.shown_customer_id: int | None = None
        self._detail_generation = 0

        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="customersSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        # Each layout is attached before widgets go in, so Qt parents them at once.
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        top.addWidget(self.search, 1)
        top.addWidget(self.count_label)
        context.hub.changed.connect(self._data_changed)

    def apply_filters(self) -> None:
        self.search.forget_pending()
        query = replace(self.model.query, text=self.search.text().strip())
        if query != self.model.query:
            self.model.set_query(query)

    def show_customer(self, customer_id: int) -> None:
        """Load ``customer_id``'s history into the detail pane (in the background)."""
        self._detail_generation += 1
        generation = self._detail_generation
        profile = self._context.profile

        def job(_control: WorkerControl) -> tuple[int, CustomerDetail]:
            with profile.database.session() as session:
                return generation, customer_detail(session, customer_id)

        def shown(result: tuple[int, CustomerDetail]) -> None:
            if result[0] != self._detail_generation:
                return  # the operator has moved on to another customer
            self.shown_customer_id = customer_id
            self.detail.setHtml(describe_customer(result[1], self.model.rules, self._context))
            self.detail_shown.emit(customer_id)

        def failed(error: TaskError) -> None:
            if generation == self._detail_generation:
                self.detail.setPlainText(error.sentence)

        self._context.run(
            job,
            description="reading the customer's history",
            on_result=shown,
            on_error=failed,
            pool=self._context.page_pool,
        )

    def save_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        save_table(settings, self.table, self.model.query)
        settings.setValue("splitter", self.splitter.saveState())
        settings.setValue("search", self.search.text())
        settings.endGroup()

    def restore_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        saved = restore_table(settings, self.table, order_by="email", descending=False)
        # The operator's own widths win over fitting.
        self._fit_when_loaded = self._fit_when_loaded and not saved.widths_restored
        splitter = settings.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        search = str(settings.value("search") or "")
        settings.endGroup()
        self.search.blockSignals(True)
        self.search.setText(search)
        self.search.blockSignals(False)
        self.model.set_query(CustomerQuery(search.strip(), saved.order_by, saved.descending))
        show_sort_order(self.table, self.model.sort_column(), saved.descending)

    def fit_columns(self) -> None:
        """Size the columns to the rows loaded so far (within ``FITTED_COLUMNS``' limits)."""
        first = range(min(self.model.rowCount(), self.model.BLOCK_SIZE))
        shown = [row for row in map(self.model.row_at, first) if row is not None]
        for column, (least, most) in FITTED_COLUMNS.items():
            texts = [str(self.model.display(row, column)) for row in shown]
            fit_column(self.table, column, texts, least, most)

    def _fit_first_rows(self) -> None:
        if self._fit_when_loaded and self.model.rowCount():
            self._fit_when_loaded = False
            self.fit_columns()

    def _current_changed(self, current: Any, _previous: Any) -> None:
        row = self.model.data(current, ROW_ROLE) if current.isValid() else None
        if isinstance(row, CustomerRow):
            self.show_customer(row.id)

    def _show_count(self) -> None:
        count = self.model.rowCount()
        self.count_label.setText(f"{count:,} customer" if count == 1 else f"{count:,} customers")

    def _data_changed(self, topic: str) -> None:
        if topic == Topic.SETTINGS:
            self.model.rules = Rules.from_settings(self._context.settings())
        if topic in (Topic.CUSTOMERS, Topic.RESPONSES, Topic.SETTINGS):
            self.model.refresh()
            if self.shown_customer_id is not None:
                self.show_customer(self.shown_customer_id)


def describe_customer(detail: CustomerDetail, rules: Rules, context: AppContext) -> str:
    """The customer's history as simple HTML: who, identify calls, surveys, responses."""
    now = context.now()
    customer = detail.customer
    name = customer.name or " ".join(
        part for part in (customer.first_name, customer.last_name) if part
    )
    ids = ", ".join(
        f"{label} {html.escape(value)}"
        for label, value in (("user id", customer.user_id), ("anonymous id", customer.anonymous_id))
        if value
    )
    parts = [
        f"<h3>{html.escape(customer.email)}{' — ' + html.escape(name) if name else ''}</h3>",
        "<p>"
        + "<br>".join(
            line
            for line in (
                ids or "No user id or anonymous id yet: ratings cannot be synced to Segment.",
                f"Created: {_time(customer.created_at)}",
                f"Last decision: {html.escape(explain(customer.last_decision, rules))}",
                f"Latest rating: {customer.nps_rating}" if customer.nps_rating is not None else "",
            )
            if line
        )
        + "</p>",
    ]
    parts.append(
        _table(
            "Identify history (newest first)",
            ("When", "Decision", "Source"),
            (
                (
                    local_time_with_hint(event.event_at, now),
                    explain(event.decision, rules),
                    f"{event.source}:{event.line}" if event.line else event.source,
                )
                for event in detail.identify_events
            ),
        )
    )
    if detail.more_identify_events:
        parts.append("<p><i>Older identify calls are not shown.</i></p>")
    parts.append(
        _table(
            "Surveys",
            ("Send at", "Status", "Sent", "Reason"),
            (
                (
                    local_time_with_hint(survey.send_at, now),
                    status_words(survey, now),
                    local_time(survey.sent_at) if survey.sent_at else "",
                    reason_words(survey.reason),
                )
                for survey in detail.surveys
            ),
        )
    )
    parts.append(
        _table(
            "Responses",
            ("Answered", "Rating", "Comment"),
            (
                (local_time(response.answered_at), str(response.rating), response.comment)
                for response in detail.responses
            ),
        )
    )
    return "".join(parts)


def _table(title: str, headers: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    if not body:
        return f"<h4>{html.escape(title)}</h4><p>None.</p>"
    head = "".join(f"<th align='left'>{html.escape(header)}</th>" for header in headers)
    return (
        f"<h4>{html.escape(title)}</h4>"
        f"<table cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"
    )


def _time(moment: datetime | None) -> str:
    return local_time(moment) if moment else "unknown"
