"""Modal questions to the operator, in one place (tests replace these functions).

Callers use them as ``asking.confirm(...)`` so a test can monkeypatch the module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

IDENTIFY_FILE_FILTER = "Identify exports (*.json *.ndjson *.jsonl *.gz *.csv *.txt);;All files (*)"


def confirm(parent: QWidget | None, title: str, text: str, *, yes: str = "OK") -> bool:
    """Ask a yes/no question; True when the operator chose ``yes``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    accept = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is accept


def ask_send_time(parent: QWidget | None, initial: datetime, *, count: int) -> datetime | None:
    """Ask for a new send time (shown in local time); aware UTC, or None if cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Reschedule surveys")
    layout = QVBoxLayout(dialog)
    noun = "survey" if count == 1 else "surveys"
    layout.addWidget(QLabel(f"Send the {count} selected {noun} at (your local time):"))
    editor = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(initial.timestamp())))
    editor.setCalendarPopup(True)
    editor.setDisplayFormat("yyyy-MM-dd HH:mm")
    layout.addWidget(editor)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return datetime.fromtimestamp(editor.dateTime().toSecsSinceEpoch(), tz=UTC)


def ask_import_files(parent: QWidget | None) -> list[Path]:
    """Let the operator pick identify export files; empty when cancelled."""
    names, _ = QFileDialog.getOpenFileNames(
        parent, "Import identify records", "", IDENTIFY_FILE_FILTER
    )
    return [Path(name) for name in names]


def ask_save_csv(parent: QWidget | None, suggested: str) -> Path | None:
    """Ask where to save a CSV file; None when cancelled."""
    name, _ = QFileDialog.getSaveFileName(
        parent, "Save as CSV", suggested, "CSV files (*.csv);;All files (*)"
    )
    return Path(name) if name else None


def ask_folder(parent: QWidget | None, current: str) -> str | None:
    """Let the operator pick a folder; None when cancelled."""
    name = QFileDialog.getExistingDirectory(parent, "Choose the watched folder", current)
    return name or None
