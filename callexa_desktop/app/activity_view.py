"""The Activity tab: the history of imports, sends, syncs and polls, with counts and errors."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QItemSelection, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.tables import ListTableModel, setup_table
from callexa_desktop.app.time_text import local_time_with_hint
from callexa_desktop.app.workers import WorkerControl
from callexa_desktop.core.activity import RunKind, RunStatus, recent_runs

AnyIndex = QModelIndex | QPersistentModelIndex

KIND_WORDS = {
    RunKind.IMPORT: "Import",
    RunKind.SEND: "Send surveys",
    RunKind.SYNC: "Sync to Segment",
    RunKind.RESPONSES: "Responses",
    RunKind.POLL: "Check sources",
}
STATUS_WORDS = {
    RunStatus.RUNNING: "Running",
    RunStatus.OK: "Done",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELLED: "Cancelled",
}
RUN_LIMIT = 500


@dataclass(frozen=True)
class RunRow:
    """One run as the view shows it (plain values, safe to pass between threads)."""

    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    source: str
    summary: dict[str, Any]
    message: str

    @property
    def counts_text(self) -> str:
        """The numeric counts of the summary in words: "read 10 · accepted 8 · rejected 2"."""
        parts = [
            f"{key.replace('_', ' ')} {value}"
            for key, value in self.summary.items()
            if isinstance(value, int) and not isinstance(value, bool) and key != "run_id"
        ]
        return " · ".join(parts)

    @property
    def has_rejections(self) -> bool:
        rejected = self.summary.get("rejected")
        return (
            self.kind in (RunKind.IMPORT, RunKind.POLL)
            and isinstance(rejected, int)
            and rejected > 0
        )


class ActivityModel(ListTableModel[RunRow]):
    """Runs, newest first; replaced as a whole by ``set_rows``."""

    STARTED, WHAT, RESULT, SOURCE, COUNTS, MESSAGE = range(6)
    HEADERS: ClassVar = ("Started", "What", "Result", "Source", "Counts", "Message")

    def __init__(self, context: AppContext) -> None:
        super().__init__([])
        self._context = context

    def set_rows(self, rows: Sequence[RunRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def run_by_id(self, run_id: int) -> RunRow | None:
        return next((run for run in self._rows if run.id == run_id), None)

    def run_at(self, row: int) -> RunRow | None:
        return self.row_at(row)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        run = self.run_at(index.row()) if index.isValid() else None
        if run is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.STARTED:
                return local_time_with_hint(run.started_at, self._context.now())
            if column == self.WHAT:
                return KIND_WORDS.get(run.kind, run.kind)
            if column == self.RESULT:
                return STATUS_WORDS.get(run.status, run.status)
            if column == self.SOURCE:
                return run.source
            if column == self.COUNTS:
                return run.counts_text
            if column == self.MESSAGE:
                return run.message
        if role == Qt.ItemDataRole.ToolTipRole and column in (self.SOURCE, self.MESSAGE):
            return run.source if column == self.SOURCE else run.message
        return None


class ActivityView(QWidget):
    """The runs table, with the selected run's details and its rejected records on demand."""

    # A run whose rejected records the operator wants to see (the main window opens them).
    rejections_requested = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activityView")
        self._context = context
        self.model = ActivityModel(context)
        self.table = QTableView(objectName="activityTable")
        self.table.setModel(self.model)
        setup_table(self.table, widths={0: 230, 1: 130, 2: 80, 3: 180, 4: 300})
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.details = QTextBrowser(objectName="activityDetails")
        self.show_rejections = QPushButton("Show rejected records…")
        self.show_rejections.setEnabled(False)
        self.show_rejections.clicked.connect(self._ask_rejections)
        self.heading = QLabel("What the app did, newest first.")

        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.details)
        # Each layout is attached before widgets go in, so Qt parents them at once.
        buttons = QHBoxLayout()
        below_layout.addLayout(buttons)
        buttons.addStretch(1)
        buttons.addWidget(self.show_rejections)
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="activitySplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(below)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.splitter)
        context.hub.changed.connect(self._data_changed)
        self._loading = False
        self._load_again = False

    def refresh(self) -> None:
        """Reload the newest runs in the background."""
        if self._loading:
            self._load_again = True
            return
        self._loading = True
        self._context.run(
            _load_runs(self._context),
            description="reading the activity history",
            on_result=self._loaded,
            on_error=self._failed,
        )

    def selected_run(self) -> RunRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.run_at(rows[0].row()) if rows else None

    def _loaded(self, rows: list[RunRow]) -> None:
        self._loading = False
        selected = self.selected_run()
        self.model.set_rows(rows)
        if selected is not None:
            for number, run in enumerate(rows):
                if run.id == selected.id:
                    self.table.selectRow(number)
        if self._load_again:
            self._load_again = False
            self.refresh()

    def _failed(self, error: Any) -> None:
        self._loading = False
        self._context.report_error(error)

    def _data_changed(self, topic: str) -> None:
        if topic == Topic.ACTIVITY:
            self.refresh()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        run = self.selected_run()
        self.details.setHtml(describe_run(run) if run else "")
        self.show_rejections.setEnabled(run is not None and run.has_rejections)

    def _ask_rejections(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.rejections_requested.emit(run.id)


def describe_run(run: RunRow) -> str:
    """The run's details as simple HTML: what, when, result, message and every count."""
    lines = [
        f"<b>{html.escape(KIND_WORDS.get(run.kind, run.kind))}</b> — "
        f"{html.escape(STATUS_WORDS.get(run.status, run.status))}",
    ]
    if run.source:
        lines.append(f"Source: {html.escape(run.source)}")
    if run.message:
        lines.append(html.escape(run.message))
    for key, value in run.summary.items():
        if key == "run_id":
            continue
        lines.append(f"{html.escape(key.replace('_', ' '))}: {html.escape(_plain(value))}")
    return "<br>".join(lines)


def _plain(value: Any) -> str:
    """A summary value in words: dicts as "scheduled 40, already queued 0", lists joined."""
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_plain(item) for item in value) if value else "none"
    if value is None:
        return "—"
    return str(value)


def _load_runs(context: AppContext) -> Any:
    def job(_control: WorkerControl) -> list[RunRow]:
        with context.profile.database.session() as session:
            return [
                RunRow(
                    id=run.id or 0,
                    kind=run.kind,
                    status=run.status,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    source=run.source,
                    summary=_summary(run.summary),
                    message=run.message,
                )
                for run in recent_runs(session, limit=RUN_LIMIT)
            ]

    return job


def _summary(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
