"""The Queue tab: filter by status and text, sort by any column, act on selected surveys.

Every action runs the same core function as ``callexa-desktop queue …`` in a worker,
then announces that surveys changed so every view refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from sqlmodel import Session

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.queue_model import STATUS_FILTERS, QueueModel, QueueQuery
from callexa_desktop.app.tables import (
    SearchBox,
    SelectionMode,
    restore_table,
    save_table,
    setup_table,
    show_sort_order,
)
from callexa_desktop.app.workers import Task, WorkerControl
from callexa_desktop.core.queue import (
    QueueRow,
    cancel_surveys,
    hold_surveys,
    release_surveys,
    reschedule_surveys,
    send_now,
)

STATE_GROUP = "queue"

SurveyAction = Callable[[Session, list[int]], int]


class QueueView(QWidget):
    """The queue table with its filters and the actions on selected surveys."""

    # A sentence about what just happened ("3 surveys held."), for the status bar.
    message = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueView")
        self._context = context
        self.model = QueueModel(context)
        self.last_message = ""

        self.status_filter = QComboBox(objectName="statusFilter")
        for label, _value in STATUS_FILTERS:
            self.status_filter.addItem(label)
        self.search = SearchBox(object_name="queueSearch")
        self.search.typing_paused.connect(self.apply_filters)
        self.count_label = QLabel("", objectName="queueCount")
        self.status_filter.currentIndexChanged.connect(lambda _index: self.apply_filters())

        self.table = QTableView(objectName="queueTable")
        self.table.setModel(self.model)
        setup_table(
            self.table,
            widths={0: 240, 1: 160, 2: 90, 3: 230},
            selection=SelectionMode.ExtendedSelection,
            sorted_by=(QueueModel.SEND_AT, Qt.SortOrder.AscendingOrder),
        )
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.loaded.connect(self._show_count)
        self.model.modelReset.connect(self._selection_changed)

        self.send_now_button = self._button("Send now", "Make the selected surveys due now")
        self.hold_button = self._button("Hold", "Keep the selected surveys from being sent")
        self.release_button = self._button("Release", "Let held surveys be sent again")
        self.cancel_button = self._button("Cancel…", "Cancel the selected surveys")
        self.reschedule_button = self._button("Reschedule…", "Pick a new send time")
        self.send_now_button.clicked.connect(self.send_selected_now)
        self.hold_button.clicked.connect(self.hold_selected)
        self.release_button.clicked.connect(self.release_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.reschedule_button.clicked.connect(self.reschedule_selected)
        # The buttons that act on the selected surveys (enabled only with a selection).
        self._selection_buttons = (
            self.send_now_button,
            self.hold_button,
            self.release_button,
            self.cancel_button,
            self.reschedule_button,
        )

        # Layouts are attached to the widget before widgets go in, so every child is
        # parented at once (PySide then knows Qt owns it; no double delete at exit).
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        self._actions_row = QHBoxLayout()
        layout.addLayout(self._actions_row)
        filters.addWidget(QLabel("Show:"))
        filters.addWidget(self.status_filter)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)
        for button in self._selection_buttons:
            self._actions_row.addWidget(button)
        self._actions_row.addStretch(1)
        self._selection_changed()
        context.hub.changed.connect(self._data_changed)

    # queue-wide actions from the main window (Send due…, Re-plan…) -------------

    def add_queue_action(self, action: QAction) -> None:
        """Show a window action (e.g. "Send due…") as a button at the end of the action row."""
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._actions_row.addWidget(button)

    # filters --------------------------------------------------------------------

    def apply_filters(self) -> None:
        """Re-query with the chosen status and search text (keeping the current order)."""
        self.search.forget_pending()
        status = STATUS_FILTERS[self.status_filter.currentIndex()][1]
        query = QueueQuery(
            status=status,
            text=self.search.text().strip(),
            order_by=self.model.query.order_by,
            descending=self.model.query.descending,
        )
        if query != self.model.query:
            self.model.set_query(query)

    def set_status_filter(self, status: str | None) -> None:
        """Choose a status filter by value (None, "due", or a SurveyStatus)."""
        values = [value for _label, value in STATUS_FILTERS]
        self.status_filter.setCurrentIndex(values.index(status))

    # actions on the selection --------------------------------------------------

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.table.selectionModel().selectedRows())

    def send_selected_now(self) -> Task | None:
        def action(session: Session, ids: list[int]) -> int:
            return send_now(session, ids, now=self._context.now())

        return self._apply("making surveys due now", action, "{n} made due now.")

    def hold_selected(self) -> Task | None:
        return self._apply("holding surveys", hold_surveys, "{n} held.")

    def release_selected(self) -> Task | None:
        return self._apply("releasing surveys", release_surveys, "{n} released.")

    def cancel_selected(self) -> Task | None:
        rows = self.selected_rows()
        if not rows:
            return None
        noun = _surveys(len(rows))
        if not asking.confirm(
            self,
            "Cancel surveys",
            f"Cancel {noun}? Cancelled surveys are never sent; this cannot be undone.",
            yes="Cancel surveys",
        ):
            return None

        def action(session: Session, ids: list[int]) -> int:
            return cancel_surveys(session, ids, now=self._context.now())

        return self._apply("cancelling surveys", action, "{n} cancelled.", rows)

    def reschedule_selected(self) -> Task | None:
        rows = self.selected_rows()
        if not rows:
            return None
        first = self.model.row_at(rows[0])
        initial = first.send_at if first is not None else self._context.now() + timedelta(days=1)
        send_at = asking.ask_send_time(self, initial, count=len(rows))
        if send_at is None:
            return None

        def action(session: Session, ids: list[int]) -> int:
            return reschedule_surveys(session, ids, send_at)

        return self._apply("rescheduling surveys", action, "{n} rescheduled.", rows)

    def _apply(
        self,
        description: str,
        action: SurveyAction,
        done: str,
        rows: Sequence[int] | None = None,
    ) -> Task | None:
        rows = list(rows if rows is not None else self.selected_rows())
        if not rows:
            return None
        resolve = self.model.rows_job(rows)
        profile = self._context.profile

        def job(control: WorkerControl) -> int:
            surveys: list[QueueRow] = resolve(control)
            with profile.database.session() as session:
                return action(session, [survey.id for survey in surveys])

        def succeeded(changed: int) -> None:
            self._say(done.format(n=_surveys(changed).capitalize()))
            self._context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS)

        return self._context.run(job, description=description, on_result=succeeded)

    # view state -------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        save_table(settings, self.table, self.model.query)
        settings.setValue("status", self.status_filter.currentIndex())
        settings.setValue("search", self.search.text())
        settings.endGroup()

    def restore_state(self, settings: QSettings) -> None:
        """Bring back columns, filters and order, then load the queue."""
        settings.beginGroup(STATE_GROUP)
        saved = restore_table(settings, self.table, order_by="send_at", descending=False)
        status = _int(settings.value("status"), 0)
        search = str(settings.value("search") or "")
        settings.endGroup()
        for signal_owner in (self.status_filter, self.search):
            signal_owner.blockSignals(True)
        self.status_filter.setCurrentIndex(status if 0 <= status < len(STATUS_FILTERS) else 0)
        self.search.setText(search)
        for signal_owner in (self.status_filter, self.search):
            signal_owner.blockSignals(False)
        self.model.set_query(
            QueueQuery(
                status=STATUS_FILTERS[self.status_filter.currentIndex()][1],
                text=search.strip(),
                order_by=saved.order_by,
                descending=saved.descending,
            )
        )
        show_sort_order(self.table, self.model.sort_column(), saved.descending)

    # internals ----------------------------------------------------------------------

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    def _selection_changed(self, *_args: Any) -> None:
        chosen = bool(self.table.selectionModel().hasSelection())
        for button in self._selection_buttons:
            button.setEnabled(chosen)

    def _show_count(self) -> None:
        self.count_label.setText(_surveys(self.model.rowCount()))

    def _data_changed(self, topic: str) -> None:
        if topic in (Topic.SURVEYS, Topic.SETTINGS):
            self.model.refresh()

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.emit(text)


def _surveys(count: int) -> str:
    return f"{count:,} survey" if count == 1 else f"{count:,} surveys"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
