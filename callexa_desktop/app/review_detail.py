"""The review's detail pane: the selected response(s) in full, and their follow-up.

It only shows and asks: the buttons emit ``follow_up_requested(state, note)`` and the
Responses view does the work in a worker. With several responses selected, a button acts
on all of them, and the note is replaced only when the operator typed in it.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.review_charts import CATEGORY_COLOURS, CATEGORY_WORDS, responses_text
from callexa_desktop.app.time_text import local_time, local_time_with_hint
from callexa_desktop.core.review import Category, FollowUp, ReviewRow

FOLLOW_UP_WORDS = {FollowUp.OPEN: "to do", FollowUp.DONE: "done", None: "none"}
# A selection of hundreds lists this many comments; the buttons still act on every one.
LISTED_COMMENTS = 30
# Keep the note as given, whatever it was before.
KEEP = object()


class ResponseDetail(QWidget):
    """Full comment, customer, times and follow-up of the selected responses, with a note
    editor and the buttons "Mark follow-up done", "Reopen", "Needs follow-up", "Save note".

    ``follow_up_requested(state, note)``: ``state`` a FollowUp value, or ``KEEP`` (only the
    note changes); ``note`` the new note, or None to keep each response's own.
    """

    follow_up_requested = Signal(object, object)

    def __init__(self, now: Callable[[], datetime], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("responseDetail")
        self._now = now
        self.rows: tuple[ReviewRow, ...] = ()

        self.text = QTextBrowser(objectName="responseText")
        self.text.setOpenLinks(False)
        self.text.setPlaceholderText("Choose a response to read it in full and follow it up.")
        self.note_label = QLabel("Follow-up note:")
        self.note = QPlainTextEdit(objectName="followUpNote")
        self.note.setAccessibleName("Follow-up note")
        self.note.setPlaceholderText("What was done, who called, what was promised…")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().height() * 4 + 12)
        self.note.textChanged.connect(self._update_buttons)
        self.note_label.setBuddy(self.note)

        self.done_button = self._button(
            "Mark follow-up done", "The customer was contacted; nothing more to do", "markDone"
        )
        self.reopen_button = self._button(
            "Reopen", "Put the follow-up back on the to-do list", "reopen"
        )
        self.needs_button = self._button(
            "Needs follow-up", "Add this response to the follow-ups to do", "needsFollowUp"
        )
        self.save_note_button = self._button(
            "Save note", "Keep the note without changing the follow-up", "saveNote"
        )
        self.done_button.clicked.connect(lambda: self._request(FollowUp.DONE))
        self.reopen_button.clicked.connect(lambda: self._request(FollowUp.OPEN))
        self.needs_button.clicked.connect(lambda: self._request(FollowUp.OPEN))
        self.save_note_button.clicked.connect(lambda: self._request(KEEP))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QGridLayout()
        layout.addWidget(self.text, 1)
        layout.addWidget(self.note_label)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        buttons.addWidget(self.done_button, 0, 0)
        buttons.addWidget(self.reopen_button, 0, 1)
        buttons.addWidget(self.needs_button, 1, 0)
        buttons.addWidget(self.save_note_button, 1, 1)
        self.show_rows(())

    def show_rows(self, rows: Sequence[ReviewRow]) -> None:
        """Show ``rows`` (the selection); the note editor gets their common note, unless the
        same responses are shown again (fresher values) while a note is being typed."""
        typing = self.note.document().isModified() and {row.id for row in rows} == {
            row.id for row in self.rows
        }
        self.rows = tuple(rows)
        if not self.rows:
            self.text.clear()
        elif len(self.rows) == 1:
            self.text.setHtml(describe_response(self.rows[0], self._now()))
        else:
            self.text.setHtml(describe_responses(self.rows))
        if typing:
            self._update_buttons()
            return
        notes = {row.follow_up_note for row in self.rows}
        self.note.blockSignals(True)
        self.note.setPlainText(notes.pop() if len(notes) == 1 else "")
        self.note.setPlaceholderText(
            "The selected responses have different notes; a note typed here replaces them all."
            if len(notes) > 0
            else "What was done, who called, what was promised…"
        )
        self.note.document().setModified(False)
        self.note.blockSignals(False)
        self.note.setEnabled(bool(self.rows))
        self._update_buttons()

    def typed_note(self) -> str | None:
        """The note if the operator changed it since the selection was shown, else None."""
        return self.note.toPlainText().strip() if self.note.document().isModified() else None

    def _request(self, state: object) -> None:
        if self.rows:
            self.follow_up_requested.emit(state, self.typed_note())

    def _update_buttons(self) -> None:
        states = {row.follow_up for row in self.rows}
        self.done_button.setEnabled(FollowUp.OPEN in states)
        self.reopen_button.setEnabled(FollowUp.DONE in states)
        self.needs_button.setEnabled(None in states)
        # Detractors always start with a follow-up; the button is for the others.
        self.needs_button.setVisible(
            not self.rows or any(row.category != Category.DETRACTOR for row in self.rows)
        )
        self.save_note_button.setEnabled(bool(self.rows) and self.note.document().isModified())

    def _button(self, text: str, tip: str, name: str) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.setToolTip(tip)
        return button


def describe_response(row: ReviewRow, now: datetime) -> str:
    """One response as simple HTML: rating and category, the whole comment, who, when,
    and where its follow-up stands."""
    colour = CATEGORY_COLOURS[row.category].name()
    who = html.escape(row.email) + (f" — {html.escape(row.name)}" if row.name else "")
    comment = (
        "<p style='white-space:pre-wrap'>" + html.escape(row.comment.strip()) + "</p>"
        if row.comment.strip()
        else "<p><i>No comment.</i></p>"
    )
    lines = [
        f"Customer: {who}",
        f"User id: {html.escape(row.user_id)}" if row.user_id else "",
        f"Answered: {html.escape(local_time_with_hint(row.answered_at, now))}",
        f"Survey sent: {html.escape(local_time(row.sent_at))}" if row.sent_at else "",
        f"Came from: {html.escape(row.source)}" if row.source else "",
        f"Follow-up: {follow_up_sentence(row)}",
    ]
    return (
        f"<h3><span style='color:{colour}'>■</span> Rating {row.rating} — "
        f"{CATEGORY_WORDS[row.category]}</h3>"
        + comment
        + "<p>"
        + "<br>".join(line for line in lines if line)
        + "</p>"
    )


def describe_responses(rows: Sequence[ReviewRow]) -> str:
    """Several responses: how many of each kind and follow-up state, then their comments."""
    kinds = Counter(row.category for row in rows)
    states = Counter(row.follow_up for row in rows)
    kind_words = ", ".join(
        f"{kinds[category]:,} {CATEGORY_WORDS[category]}{'s' if kinds[category] != 1 else ''}"
        for category in (Category.PROMOTER, Category.PASSIVE, Category.DETRACTOR)
        if kinds[category]
    )
    state_words = ", ".join(
        f"{states[state]:,} {FOLLOW_UP_WORDS[state]}"
        for state in (FollowUp.OPEN, FollowUp.DONE, None)
        if states[state]
    )
    listed = "".join(
        f"<li><b>{row.rating}</b> {html.escape(row.email)}: "
        f"{html.escape(row.comment.strip()) or '<i>no comment</i>'}</li>"
        for row in rows[:LISTED_COMMENTS]
    )
    more = (
        f"<p><i>and {len(rows) - LISTED_COMMENTS:,} more.</i></p>"
        if len(rows) > LISTED_COMMENTS
        else ""
    )
    return (
        f"<h3>{responses_text(len(rows))} selected</h3>"
        f"<p>{kind_words}<br>Follow-ups: {state_words}</p>"
        "<p>The buttons below act on every selected response.</p>"
        f"<ul>{listed}</ul>{more}"
    )


def follow_up_sentence(row: ReviewRow) -> str:
    """ "to do (since 2026-11-28 10:00)" — "done (2026-11-29 16:02): Called, refunded"."""
    words = FOLLOW_UP_WORDS[row.follow_up]
    if row.follow_up is None:
        words = "none needed"
    if row.follow_up_changed_at is not None:
        when = local_time(row.follow_up_changed_at)
        words += f" (since {when})" if row.follow_up == FollowUp.OPEN else f" ({when})"
    if row.follow_up_note:
        words += ": " + html.escape(row.follow_up_note)
    return words
