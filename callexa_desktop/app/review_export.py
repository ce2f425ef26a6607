"""Exporting the reviewed responses as CSV from the window: a file dialog, a worker running
``core.review.export_responses_to`` with the progress dialog and Cancel, one sentence at the end."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QWidget

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.progress_dialog import ProgressView, TaskProgressDialog
from callexa_desktop.app.review_charts import responses_text
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.review import ReviewFilter, export_responses_to


def suggested_file_name(now: datetime, tz: tzinfo | None = None) -> str:
    """ "callexa-responses-2026-11-30.csv" (the local date of ``now``)."""
    return f"callexa-responses-{now.astimezone(tz):%Y-%m-%d}.csv"


def export_progress(value: tuple[int, int]) -> ProgressView:
    """The dialog's bar and line for a ``(written, total)`` report."""
    written, total = value
    return ProgressView(written, total, f"{written:,} of {total:,} responses written")


class ExportController(QObject):
    """Asks where to save, exports the filtered responses in a worker, reports the outcome.

    ``message(sentence)`` when done or stopped ("Exported 1,234 responses to …");
    a failure goes to the window's error box. ``finished(written)`` carries the rows
    written, or None when nothing was saved.
    """

    message = Signal(str)
    finished = Signal(object)

    def __init__(self, context: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self._context = context
        self._window = window
        self.task: Task | None = None
        self.progress_dialog: TaskProgressDialog | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def start(self, flt: ReviewFilter) -> Task | None:
        """Ask for a CSV path and export the responses ``flt`` keeps; None when cancelled."""
        if self.running:
            return None
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = suggested_file_name(self._context.now())
        target = asking.ask_save_csv(self._window, str(Path(folder) / name) if folder else name)
        if target is None:
            return None
        if not target.suffix:
            target = target.with_suffix(".csv")
        profile = self._context.profile

        def job(control: WorkerControl) -> tuple[int, Path]:
            written = export_responses_to(
                target,
                profile.database.session,
                flt,
                progress=lambda written, total: control.report((written, total)),
                should_cancel=control.should_cancel,
            )
            return written, target

        # Bound methods, not closures: Qt drops the connection if the window is gone first.
        task = self._context.run(
            job,
            description=f"exporting the responses to {target.name}",
            on_result=self._exported,
            on_error=self._failed,
        )
        self.task = task
        self.progress_dialog = TaskProgressDialog(
            task,
            title="Exporting responses",
            headline=f"Writing {target.name}…",
            formatter=export_progress,
            parent=self._window,
        )
        self.progress_dialog.show()
        return task

    def _exported(self, result: tuple[int, Path]) -> None:
        written, target = result
        self.message.emit(f"Exported {responses_text(written)} to {target}.")
        self.finished.emit(written)

    def _failed(self, error: TaskError) -> None:
        if self.task is not None and self.task.cancel_requested:
            # The operator's own Cancel is not an error: a sentence in the status bar is enough.
            self.message.emit("Export stopped; nothing was saved.")
        else:
            self._context.report_error(error)
        self.finished.emit(None)
