"""Errors on screen: one sentence, with the particulars behind a "Show Details…" expander."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from callexa_desktop.app.workers import TaskError

ERROR_OBJECT_NAME = "errorMessage"


def show_error(parent: QWidget | None, error: TaskError, *, title: str = "") -> QMessageBox:
    """Show ``error`` as a non-blocking message box over ``parent`` and return it.

    The sentence is the text; ``error.details`` (never a traceback) goes into the
    Details expander when there is any.
    """
    box = QMessageBox(parent)
    box.setObjectName(ERROR_OBJECT_NAME)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title or "Callexa Desktop")
    box.setText(error.sentence)
    if error.details:
        box.setDetailedText(error.details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
