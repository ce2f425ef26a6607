""" "Send due" from the window: count what is due and what the budget allows, ask, then run
``services.sending.send_due`` in a worker with a progress dialog."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.key_problems import window_sentence
from callexa_desktop.app.progress_dialog import ProgressView, TaskProgressDialog
from callexa_desktop.app.status_panel import first_clause
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import due_count
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.keychain import Keychain, KeyMissing, KeyName
from callexa_desktop.services.sending import SendSummary, send_due


@dataclass(frozen=True)
class SendPreview:
    """What a send run would do now (from a dry run of ``send_due``)."""

    due: int  # scheduled surveys whose time has come
    will_send: int  # of those, what the run sends now
    budget_left: int | None  # before the run; None = no limit
    waiting: int = 0  # due but waiting for their next retry time

    def question(self) -> str:
        """The confirmation sentence, with the budget impact."""
        if self.will_send == self.due:
            text = f"{_are_due(self.due)}. Send {'it' if self.due == 1 else 'them'} now?"
        else:
            text = f"{_are_due(self.due)}; {self.will_send:,} can go now. Send them?"
        if self.budget_left is not None:
            after = max(0, self.budget_left - self.will_send)
            text += (
                f" This uses {self.will_send:,} of the {self.budget_left:,} surveys left in "
                f"this month's budget ({after:,} left afterwards)."
            )
        held = self.due - self.will_send - self.waiting
        if held > 0:
            text += f" {held:,} wait in the queue until next month's budget."
        if self.waiting:
            text += f" {self.waiting:,} failed recently and wait for their retry time."
        return text


def preview_send(profile: Profile) -> SendPreview:
    """Dry-run ``send_due`` to see what would go (needs the Callexa key: refuses without it)."""
    require_callexa_key(profile)
    dry = send_due(profile, None, dry_run=True)
    with profile.database.session() as session:
        due = due_count(session, profile.clock())
    return SendPreview(
        due=max(due, dry.due),
        will_send=dry.due,
        budget_left=dry.budget_remaining,
        waiting=dry.waiting,
    )


def require_callexa_key(profile: Profile) -> str:
    """The Callexa API key of ``profile``; KeyMissing in the window's words when unset."""
    try:
        return Keychain(profile.data_dir).require(KeyName.CALLEXA)
    except KeyMissing:
        raise KeyMissing(
            "No Callexa API key is set for this profile, so no survey can be sent; "
            "add it with Keys… in the Tools menu."
        ) from None


def send_through_callexa(
    profile: Profile, api_key: str, transport: Any, control: WorkerControl
) -> SendSummary:
    """In a worker: send every due survey of ``profile`` through Callexa with ``api_key``
    (``transport`` None for the real network), reporting ``(done, total)`` to ``control``
    and stopping at a safe point when it is cancelled. Returns the run's summary."""
    base_url = profile.settings().callexa_base_url
    with CallexaClient(base_url, api_key, transport=transport) as client:
        return send_due(
            profile,
            client,
            progress=lambda done, total: control.report((done, total)),
            should_cancel=control.should_cancel,
        )


class SendController(QObject):
    """Preview, confirm, send. ``finished`` carries the SendSummary (None if not sent)."""

    finished = Signal(object)
    message = Signal(str, str)  # a headline for the status bar, the whole story

    def __init__(self, context: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self._context = context
        self._window = window
        self.task: Task | None = None
        self.preview: SendPreview | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def start(self) -> Task | None:
        """Count what is due in the background, then ask before sending."""
        if self.running:
            return None
        profile = self._context.profile
        self.task = self._context.run(
            lambda _control: preview_send(profile),
            description="counting the due surveys",
            on_result=self._ask,
            on_error=self._failed,
        )
        return self.task

    def _ask(self, preview: SendPreview) -> None:
        self.preview = preview
        if preview.due == 0 and preview.will_send == 0:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Send due surveys",
                "No survey is due right now; nothing to send.",
                QMessageBox.StandardButton.Ok,
                self._window,
            )
            box.open()
            self.finished.emit(None)
            return
        if preview.will_send == 0:
            self._context.report_error(
                _sentence(
                    f"This month's budget is used up; {_are_due(preview.due).lower()} and "
                    "wait in the queue until next month."
                )
            )
            self.finished.emit(None)
            return
        if not asking.confirm(
            self._window, "Send due surveys", preview.question(), yes="Send surveys"
        ):
            self.finished.emit(None)
            return
        self.send()

    def send(self) -> Task:
        """Send every due survey now (no question asked), with a progress dialog."""
        profile, transport = self._context.profile, self._context.callexa_transport

        def job(control: WorkerControl) -> SendSummary:
            return send_through_callexa(profile, require_callexa_key(profile), transport, control)

        self.task = self._context.run(
            job, description="sending due surveys", on_result=self._sent, on_error=self._failed
        )
        TaskProgressDialog(
            self.task,
            title="Sending surveys",
            headline="Sending due surveys through Callexa…",
            formatter=_sending_progress,
            parent=self._window,
        ).show()
        return self.task

    def _sent(self, summary: SendSummary) -> None:
        self._context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS, Topic.ACTIVITY)
        self.message.emit(send_headline(summary), send_sentence(summary))
        self.finished.emit(summary)

    def _failed(self, error: Any) -> None:
        self._context.hub.notify(Topic.SURVEYS, Topic.ACTIVITY)
        self._context.report_error(error)
        self.finished.emit(None)


def send_sentence(summary: SendSummary) -> str:
    """The send's outcome in a sentence, a refused key pointing at Keys… (not the CLI)."""
    if not summary.stopped:
        return summary.sentence()
    return f"{replace(summary, stopped=None).sentence()} {window_sentence(summary.stopped)}"


def send_headline(summary: SendSummary) -> str:
    """The send's outcome in a few words for the status bar: "Sent 16 surveys, 2 failed."."""
    text = f"Sent {_surveys(summary.sent)}" if summary.sent else "No survey was sent"
    if summary.failed:
        text += f", {summary.failed:,} failed"
    if summary.stopped:
        return f"{text}; stopped: {first_clause(window_sentence(summary.stopped))}."
    return text + (", then cancelled." if summary.cancelled else ".")


def _surveys(count: int) -> str:
    return "1 survey" if count == 1 else f"{count:,} surveys"


def _sending_progress(value: tuple[int, int]) -> ProgressView:
    done, total = value
    return ProgressView(done, total, f"{done:,} of {total:,} surveys sent")


def _sentence(text: str) -> TaskError:
    return TaskError(text)


def _are_due(count: int) -> str:
    return "1 survey is due" if count == 1 else f"{count:,} surveys are due"
