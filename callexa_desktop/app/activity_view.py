"""The Activity tab: the history of imports, sends, syncs and polls, with counts and errors."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QItemSelection, QModelIndex, QPersistentModelIndex, Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.key_problems import window_sentence
from callexa_desktop.app.run_words import not_syncable_sentence, run_in_words
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
# What the source of a run is, in words: "Read from: export.ndjson".
SOURCE_WORDS = {
    RunKind.IMPORT: "Read from",
    RunKind.POLL: "Checked",
    RunKind.SEND: "Sent through",
    RunKind.SYNC: "Sent to",
    RunKind.RESPONSES: "Fetched from",
}
# Counts that say how the work was done, not what it did: left out of the Counts column.
NOT_SYNCABLE_LINK = "not-syncable"
TECHNICAL_COUNTS = frozenset({"run_id", "requests", "retries", "pages"})
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
        """The counts that are not zero: "read 10 · accepted 8 · rejected 2"."""
        parts = [
            f"{key.replace('_', ' ')} {value}"
            for key, value in self.summary.items()
            if isinstance(value, int)
            and not isinstance(value, bool)
            and value
            and key not in TECHNICAL_COUNTS
        ]
        return " · ".join(parts)

    @property
    def shown_message(self) -> str:
        """The message as the window words it: a key problem points at Keys…, not the CLI."""
        stopped = self.summary.get("stopped")
        if isinstance(stopped, str) and stopped and stopped in self.message:
            return self.message.replace(stopped, window_sentence(stopped))
        return window_sentence(self.message)

    @property
    def not_syncable(self) -> int:
        """How many customers this sync could not send (no userId or anonymousId)."""
        value = self.summary.get("not_syncable")
        counted = isinstance(value, int) and not isinstance(value, bool)
        return value if self.kind == RunKind.SYNC and counted else 0

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
                return run.shown_message
        if role == Qt.ItemDataRole.ToolTipRole and column in (self.SOURCE, self.MESSAGE):
            return run.source if column == self.SOURCE else run.shown_message
        return None


class ActivityView(QWidget):
    """The runs table, with the selected run's details and its rejected records on demand."""

    # A run whose rejected records the operator wants to see (the main window opens them).
    rejections_requested = Signal(int)
    # The operator wants to see who cannot be synced yet (the main window lists them).
    not_syncable_requested = Signal()

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
        self.details.setOpenLinks(False)  # the one link lists the customers not synced
        self.details.anchorClicked.connect(self._link_clicked)
        # The raw values, for support: behind an expander, not in the operator's way.
        self.raw_toggle = QToolButton(objectName="activityRawToggle")
        self.raw_toggle.setText("Details")
        self.raw_toggle.setToolTip("Every value recorded for this run, as stored (for support)")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.raw_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.raw_toggle.toggled.connect(self._raw_toggled)
        self.show_rejections = QPushButton("Show rejected records…")
        self.show_rejections.setEnabled(False)
        self.show_rejections.clicked.connect(self._ask_rejections)
        self.show_not_syncable = QPushButton("Customers not synced…")
        self.show_not_syncable.setToolTip(
            "Who answered but cannot be synced to Segment yet (no userId or anonymousId)"
        )
        self.show_not_syncable.setVisible(False)
        self.show_not_syncable.clicked.connect(self.not_syncable_requested)
        self.heading = QLabel("What the app did, newest first.")

        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.details)
        # Each layout is attached before widgets go in, so Qt parents them at once.
        buttons = QHBoxLayout()
        below_layout.addLayout(buttons)
        buttons.addWidget(self.raw_toggle)
        buttons.addStretch(1)
        buttons.addWidget(self.show_not_syncable)
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
        self._show_details(run)
        self.show_rejections.setEnabled(run is not None and run.has_rejections)
        self.show_not_syncable.setVisible(run is not None and run.not_syncable > 0)

    def _raw_toggled(self, shown: bool) -> None:
        self.raw_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._show_details(self.selected_run())

    def _show_details(self, run: RunRow | None) -> None:
        if run is None:
            self.details.clear()
            return
        now = self._context.now()
        self.details.setHtml(describe_run(run, now, raw=self.raw_toggle.isChecked()))

    def _link_clicked(self, url: QUrl) -> None:
        if url.fragment() == NOT_SYNCABLE_LINK:
            self.not_syncable_requested.emit()

    def _ask_rejections(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.rejections_requested.emit(run.id)


def describe_run(run: RunRow, now: datetime, *, raw: bool = False) -> str:
    """The run's details as simple HTML: what, when, from where, and its summary in plain
    words (``run_words``); with ``raw``, also every stored value as it is, for support."""
    heading = (
        f"<b>{html.escape(KIND_WORDS.get(run.kind, run.kind))}</b> — "
        f"{html.escape(STATUS_WORDS.get(run.status, run.status))}"
    )
    facts = [f"Started {html.escape(local_time_with_hint(run.started_at, now))}"]
    if run.source:
        label = SOURCE_WORDS.get(run.kind, "Source")
        facts.append(f"{label}: {html.escape(run.source)}")
    words = run_in_words(run.kind, run.summary)
    said = list(words.lines)
    # The message repeats the counts of a run that went well; it matters when one did not
    # (unless the plain words already say why it stopped).
    stopped = isinstance(run.summary.get("stopped"), str) and run.summary["stopped"].strip()
    if run.message and (not said or (run.status != RunStatus.OK and not stopped)):
        said.append(run.shown_message)
    parts = [f"<p>{heading}<br>{'<br>'.join(facts)}</p>"]
    if said:
        shown = [html.escape(line) for line in said]
        if words.not_syncable:
            # The count is a link to the list of those customers.
            where = said.index(not_syncable_sentence(words.not_syncable))
            shown[where] += f' <a href="#{NOT_SYNCABLE_LINK}">Show who</a>'
        parts.append("<p>" + "<br>".join(shown) + "</p>")
    if raw:
        parts.append(_raw_values(run))
    return "".join(parts)


def _raw_values(run: RunRow) -> str:
    """Every stored value of the run, keys and all (the Details expander)."""
    values: list[tuple[str, Any]] = [
        ("run", run.id),
        ("kind", run.kind),
        ("status", run.status),
        ("started", run.started_at.isoformat()),
        ("finished", run.finished_at.isoformat() if run.finished_at else None),
        ("source", run.source),
        ("message", run.message),
        *run.summary.items(),
    ]
    lines = "<br>".join(
        f"{html.escape(str(key))}: {html.escape(_raw(value))}" for key, value in values
    )
    return f"<p><i>Details as recorded (for support)</i><br><tt>{lines}</tt></p>"


def _raw(value: Any) -> str:
    """A stored value as it is: text as text, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


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
