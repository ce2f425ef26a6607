"""A progress dialog bound to a running Task: bar, a line of detail, and a Cancel button."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.workers import Task


@dataclass(frozen=True)
class ProgressView:
    """What the dialog shows for one progress report: ``done`` of ``total`` and a detail line.

    ``total`` 0 means "unknown" (the bar then just moves).
    """

    done: int
    total: int
    detail: str = ""
    headline: str | None = None


ProgressFormatter = Callable[[Any], ProgressView]


class TaskProgressDialog(QDialog):
    """Window-modal, non-blocking: shows ``task``'s progress and closes when it finishes.

    ``formatter`` turns whatever the job reports into a ``ProgressView``. Cancel asks the
    task to stop; the dialog then says so and waits for the job to reach a safe point.
    """

    def __init__(
        self,
        task: Task,
        *,
        title: str,
        headline: str,
        formatter: ProgressFormatter,
        parent: QWidget | None = None,
        cancellable: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("taskProgress")
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(420)
        self._task = task
        self._formatter = formatter
        self.headline = QLabel(headline, objectName="progressHeadline", wordWrap=True)
        self.bar = QProgressBar(objectName="progressBar")
        self.bar.setRange(0, 0)
        self.detail = QLabel("", objectName="progressDetail", wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.cancel)
        self.buttons.setVisible(cancellable)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        layout.addWidget(self.buttons)
        task.progress.connect(self._show_progress)
        task.finished.connect(self._task_finished)

    def cancel(self) -> None:
        """Ask the job to stop; the dialog closes when it has."""
        self._task.cancel()
        self.headline.setText("Stopping at the next safe point…")
        self.buttons.setEnabled(False)

    def reject(self) -> None:
        # Escape and the window's close button cancel; the dialog stays until the job stopped.
        if not self._task.done:
            self.cancel()
        else:
            super().reject()

    def _show_progress(self, value: Any) -> None:
        view = self._formatter(value)
        if view.total > 0:
            # QProgressBar holds an int; large byte counts are scaled to per-mille.
            self.bar.setRange(0, 1000)
            self.bar.setValue(min(1000, int(1000 * view.done / view.total)))
        else:
            self.bar.setRange(0, 0)
        self.detail.setText(view.detail)
        if view.headline is not None and not self._task.cancel_requested:
            self.headline.setText(view.headline)

    def _task_finished(self) -> None:
        self.done(QDialog.DialogCode.Accepted if self._task.error is None else 0)
