"""Re-plan from the window: compute the preview in a worker, show what would change,
and apply it only when the operator agrees (``plan_replan`` / ``apply_replan``)."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.progress_dialog import ProgressView, TaskProgressDialog
from callexa_desktop.app.tables import ListTableModel, SelectionMode, setup_table
from callexa_desktop.app.time_text import local_time
from callexa_desktop.app.workers import Task, WorkerControl
from callexa_desktop.core.queue import ReplanChange, ReplanPlan, apply_replan, plan_replan

AnyIndex = QModelIndex | QPersistentModelIndex

WHY_CANCELLED = {
    "replan_skipped_too_old": "Cancelled: the customer is now too old",
    "replan_skipped_interval": "Cancelled: surveyed too recently",
    "replan_already_queued": "Cancelled: another survey is waiting",
}


class ReplanChangesModel(ListTableModel[ReplanChange]):
    """The preview's changes (already in memory, packed); rows are built only when painted."""

    EMAIL, BEFORE, AFTER = range(3)
    HEADERS: ClassVar = ("Email", "Now planned for", "After the re-plan")

    def __init__(self, plan: ReplanPlan) -> None:
        super().__init__(plan.changes)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        change = self._rows[index.row()]
        if index.column() == self.EMAIL:
            return change.email
        if index.column() == self.BEFORE:
            return local_time(change.old_send_at)
        if change.cancels:
            return WHY_CANCELLED.get(change.reason, "Cancelled")
        return local_time(change.new_send_at)


class ReplanDialog(QDialog):
    """The preview: one sentence, the list of changes, and Apply / Cancel."""

    def __init__(self, plan: ReplanPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replanDialog")
        self.setWindowTitle("Re-plan the queue")
        self.resize(680, 420)
        self.plan = plan
        self.sentence = QLabel(plan.in_words(), objectName="replanSentence", wordWrap=True)
        self.table = QTableView(objectName="replanChanges")
        self.table.setModel(ReplanChangesModel(plan))
        setup_table(self.table, widths={0: 240, 1: 160}, selection=SelectionMode.ExtendedSelection)
        self.table.setVisible(len(plan.changes) > 0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        if plan.changes:
            apply = self.buttons.addButton("Apply changes", QDialogButtonBox.ButtonRole.AcceptRole)
            apply.setObjectName("applyReplan")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sentence)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)


class ReplanController(QObject):
    """Preview, ask, apply. ``applied`` carries how many surveys changed."""

    applied = Signal(int)

    def __init__(self, context: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self._context = context
        self._window = window
        self.dialog: ReplanDialog | None = None
        self.task: Task | None = None

    def start(self) -> Task:
        """Compute the preview with the current settings, then show it."""
        context = self._context

        def job(control: WorkerControl) -> ReplanPlan:
            settings = context.settings()
            with context.profile.database.session() as session:
                return plan_replan(
                    session,
                    settings,
                    context.now(),
                    progress=lambda done, total: control.report((done, total)),
                )

        self.task = context.run(job, description="preparing the re-plan", on_result=self._show)
        TaskProgressDialog(
            self.task,
            title="Re-plan",
            headline="Checking every waiting survey against the rules…",
            formatter=_checked,
            parent=self._window,
        ).show()
        return self.task

    def apply(self, plan: ReplanPlan) -> Task:
        """Write ``plan`` in the background; announces the change when done."""
        context = self._context

        def job(_control: WorkerControl) -> int:
            with context.profile.database.session() as session:
                return apply_replan(session, plan)

        def done(changed: int) -> None:
            context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS)
            self.applied.emit(changed)

        self.task = context.run(job, description="applying the re-plan", on_result=done)
        return self.task

    def _show(self, plan: ReplanPlan) -> None:
        self.dialog = ReplanDialog(plan, self._window)
        self.dialog.accepted.connect(lambda: self.apply(plan))
        self.dialog.open()


def _checked(value: tuple[int, int]) -> ProgressView:
    done, total = value
    return ProgressView(done, total, f"{done:,} of {total:,} waiting surveys checked")
