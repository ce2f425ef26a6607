"""Importing files from the window: a worker running ``import_files``, a progress dialog
(records per second, bytes, Cancel), then the summary dialog."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.import_summary import ImportSummaryDialog
from callexa_desktop.app.progress_dialog import ProgressView, TaskProgressDialog
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.importing import ImportProgress, ImportSummary, import_files


class ImportController(QObject):
    """Starts imports and shows their progress and summary over ``window``.

    ``finished`` carries the ImportSummary (None when the import failed as a whole).
    """

    finished = Signal(object)

    def __init__(self, context: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self._context = context
        self._window = window
        self.task: Task | None = None
        self.progress_dialog: TaskProgressDialog | None = None
        self.summary_dialog: ImportSummaryDialog | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def start(self, paths: Sequence[Path]) -> Task | None:
        """Import ``paths`` in the background; None when nothing to do or one is running."""
        files = [Path(p) for p in paths]
        if not files:
            return None
        if self.running:
            self._context.report_error(
                TaskError("An import is already running; wait for it to finish, then try again.")
            )
            return None
        profile = self._context.profile

        def job(control: WorkerControl) -> ImportSummary:
            return import_files(
                profile,
                files,
                progress=lambda value: control.report(value),
                should_cancel=control.should_cancel,
            )

        task = self._context.run(
            job,
            description=f"importing {_names(files)}",
            on_result=self._succeeded,
            on_error=self._failed,
        )
        self.task = task
        self.progress_dialog = TaskProgressDialog(
            task,
            title="Importing",
            headline=f"Reading {_names(files)}…",
            formatter=ImportProgressFormatter(),
            parent=self._window,
        )
        self.progress_dialog.show()
        return task

    def _succeeded(self, summary: ImportSummary) -> None:
        self._context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS, Topic.ACTIVITY)
        self.summary_dialog = ImportSummaryDialog(self._context, summary, parent=self._window)
        self.summary_dialog.open()
        self.finished.emit(summary)

    def _failed(self, error: TaskError) -> None:
        self._context.hub.notify(Topic.ACTIVITY)
        self._context.report_error(error)
        self.finished.emit(None)


class ImportProgressFormatter:
    """Turns ImportProgress reports into the dialog's bar and line: the bytes read lead (the
    bar is their share), the records read and their rate follow once any are counted."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self, progress: ImportProgress) -> ProgressView:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = progress.records_read / elapsed
        if progress.phase == "deciding" and progress.records_to_decide:
            return ProgressView(
                progress.records_decided,
                progress.records_to_decide,
                f"{progress.records_decided:,} of {progress.records_to_decide:,} records decided",
                headline="Deciding who gets a survey…",
            )
        parts = [f"{_size(progress.bytes_done)} of {_size(progress.bytes_total)}"]
        if progress.files_total > 1:
            file_number = min(progress.files_done + 1, progress.files_total)
            parts.insert(0, f"File {file_number} of {progress.files_total}")
        if progress.records_read:
            parts.append(f"{progress.records_read:,} records ({rate:,.0f}/s)")
        return ProgressView(progress.bytes_done, progress.bytes_total, " · ".join(parts))


def _names(files: Sequence[Path]) -> str:
    return files[0].name if len(files) == 1 else f"{len(files)} files"


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:,.1f} KB"
    return f"{count / (1024 * 1024):,.1f} MB"
