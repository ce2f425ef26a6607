"""Errors on screen: one sentence, with the particulars behind a "Show Details…" expander."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from callexa_desktop.app.workers import TaskError

ERROR_OBJECT_NAME = "errorMessage"
OPEN_KEYS_OBJECT_NAME = "openKeys"


def show_error(
    parent: QWidget | None,
    error: TaskError,
    *,
    title: str = "",
    open_keys: Callable[[], object] | None = None,
) -> QMessageBox:
    """Show ``error`` as a non-blocking message box over ``parent`` and return it.

    The sentence is the text; ``error.details`` (never a traceback) goes into the
    Details expander when there is any. An error about a key (``error.key_name``) gets an
    "Open Keys…" button that closes the box and calls ``open_keys``, when given.
    """
    box = QMessageBox(parent)
    box.setObjectName(ERROR_OBJECT_NAME)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title or "Callexa Desktop")
    box.setText(error.sentence)
    if error.details:
        box.setDetailedText(error.details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    # With a second button Qt finds no escape button by itself and ignores Esc and close.
    box.setEscapeButton(QMessageBox.StandardButton.Ok)
    if error.key_name and open_keys is not None:
        button = box.addButton("Open Keys…", QMessageBox.ButtonRole.ActionRole)
        button.setObjectName(OPEN_KEYS_OBJECT_NAME)
        button.clicked.connect(lambda _checked=False: open_keys())
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
