"""What an import did, in words, with its rejected records and a way to save them as CSV."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.rejections import RejectionsTable, save_rejections_csv
from callexa_desktop.app.workers import Task
from callexa_desktop.core.decision import Outcome
from callexa_desktop.core.importing import ImportSummary

DECISION_WORDS = {
    Outcome.SCHEDULED: "survey scheduled",
    Outcome.ALREADY_QUEUED: "no new survey: one was already waiting",
    Outcome.SKIPPED_TOO_OLD: "not surveyed: customer too old when identified",
    Outcome.SKIPPED_INTERVAL: "not surveyed: surveyed recently",
}


def summary_sentence(summary: ImportSummary) -> str:
    """One sentence with the counts: "2 files: 10 records read, 8 accepted, …"."""
    files = len(summary.files)
    head = "The import was stopped" if summary.cancelled else "Import finished"
    return (
        f"{head}: {_count(files, 'file')}, {_count(summary.read, 'record')} read, "
        f"{summary.accepted:,} accepted, {_count(summary.duplicates, 'duplicate')}, "
        f"{summary.rejected:,} rejected."
    )


class RejectionsDialog(QDialog):
    """The rejected records of one run, with "Save as CSV…" (also opened from Activity)."""

    def __init__(
        self,
        context: AppContext,
        run_id: int,
        total: int,
        *,
        heading: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rejectionsDialog")
        self.setWindowTitle("Rejected records")
        self.resize(760, 480)
        self._context = context
        self.run_id = run_id
        self.save_task: Task | None = None
        self.heading = QLabel(heading, objectName="summaryHeading", wordWrap=True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.rejections_label = QLabel(
            f"Rejected records ({total:,}): file, line and reason."
            if total
            else "No record was rejected.",
            objectName="rejectionsLabel",
        )
        self.table = RejectionsTable(context, run_id, total)
        self.table.setVisible(total > 0)
        self.save_button = QPushButton("Save rejected as CSV…", objectName="saveRejections")
        self.save_button.setEnabled(total > 0)
        self.save_button.clicked.connect(self.save_csv)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.saved_label = QLabel("", objectName="savedLabel", wordWrap=True)
        layout = QVBoxLayout(self)
        if heading:
            layout.addWidget(self.heading)
        layout.addWidget(self.rejections_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.saved_label)
        layout.addWidget(buttons)
        self.finished.connect(lambda _code: self.table.rejections.close())

    def save_csv(self) -> Task | None:
        """Ask for a file name and write every rejected record there in the background."""
        target = asking.ask_save_csv(self, f"rejected-records-run-{self.run_id}.csv")
        if target is None:
            return None
        self.save_button.setEnabled(False)
        self.saved_label.setText(f"Saving to {target}…")
        task = save_rejections_csv(self._context, self.run_id, target)
        task.succeeded.connect(
            lambda written: self.saved_label.setText(f"Saved {written:,} records to {target}.")
        )
        task.failed.connect(lambda _error: self.saved_label.setText(""))
        task.finished.connect(lambda: self.save_button.setEnabled(True))
        self.save_task = task
        return task


class ImportSummaryDialog(RejectionsDialog):
    """Counts, decisions, notices and refused files, above the rejected records."""

    def __init__(
        self, context: AppContext, summary: ImportSummary, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            context,
            summary.run_id,
            summary.rejected,
            heading=describe_summary(summary),
            parent=parent,
        )
        self.setObjectName("importSummary")
        self.setWindowTitle("Import summary")
        self.summary = summary


def describe_summary(summary: ImportSummary) -> str:
    """The summary as simple HTML: the counts sentence, decisions, notices, refused files."""
    parts = [f"<p><b>{html.escape(summary_sentence(summary))}</b></p>"]
    decided = [
        f"<li>{count:,} × {html.escape(DECISION_WORDS.get(outcome, outcome))}</li>"
        for outcome, count in summary.decisions.items()
        if count
    ]
    if decided:
        parts.append(f"<p>Decisions:</p><ul>{''.join(decided)}</ul>")
    if summary.refused_files:
        refused = "".join(
            f"<li>{html.escape(sentence)}</li>" for _file, sentence in summary.refused_files
        )
        parts.append(f"<p>Files that could not be read at all:</p><ul>{refused}</ul>")
    if summary.notices:
        notices = "".join(f"<li>{html.escape(notice)}</li>" for notice in summary.notices)
        parts.append(f"<p>Good to know:</p><ul>{notices}</ul>")
    return "".join(parts)


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
