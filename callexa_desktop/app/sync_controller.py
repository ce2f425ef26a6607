"""Sync and automatic sending while the app runs: on demand, daily on schedule, after sleep.

``SyncController`` owns a heartbeat ``QTimer`` (every minute by default). Each tick is
cheap: it compares the profile's clock with the cached moment the next sync is due
(``core.schedule.next_sync_due``). The schedule itself — last successful sync from the
Activity history, the ``sync_time`` setting, the local time zone — is re-read only when
it can have changed: at start (so a day missed while the computer was off is caught up
at once), after every sync, when settings or keys change, and when the wall clock jumped
between two ticks much further than the tick interval (the computer slept, or its clock
or time zone was changed).

The sync itself runs in a worker: responses are pulled from Callexa first when a Callexa
key is set (so the day's new ratings go out), then ``services.syncing.sync_ratings``
pushes the latest ratings to Segment. Both record themselves in Activity. With the
``auto_send`` setting on, each tick also sends due surveys in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.key_problems import window_sentence
from callexa_desktop.app.send_flow import send_headline, send_sentence, send_through_callexa
from callexa_desktop.app.status_panel import first_clause
from callexa_desktop.app.time_text import local_zone
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.activity import RunKind, last_successful
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseSummary
from callexa_desktop.core.schedule import next_sync_due
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.responses_pull import pull_responses
from callexa_desktop.services.sending import SendSummary, send_due
from callexa_desktop.services.syncing import SyncSummary, sync_ratings

log = logging.getLogger(__name__)

TICK_MS = 60_000
# A wall-clock step this much larger than the tick interval means sleep/resume or a clock change.
RESUME_GAP_FACTOR = 3
MIN_RESUME_GAP = timedelta(minutes=5)
# After an automatic sync or send fails, wait this long before the next automatic attempt.
RETRY_AFTER_FAILURE = timedelta(minutes=15)


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: the Segment summary, and the responses pull before it (if any)."""

    sync: SyncSummary
    pulled: ResponseSummary | None = None  # None when no Callexa key is set
    pull_problem: str = ""  # the sentence when the pull failed (the sync still ran)
    automatic: bool = False

    @property
    def ok(self) -> bool:
        """True when the ratings went out (Segment answered and nothing stopped the run)."""
        return self.sync.ok


class SyncController(QObject):
    """Runs syncs and sends off the GUI thread, on demand and on the daily schedule.

    Connect the signals to the window and tray, then call ``start()``. ``sync_now()`` and
    ``send_due_now()`` are what the Sync button, menu and tray call.
    """

    sync_started = Signal()
    sync_progress = Signal(int, int)  # messages done, total
    sync_finished = Signal(object)  # SyncResult
    sync_failed = Signal(object)  # TaskError
    send_started = Signal()
    send_finished = Signal(object)  # SendSummary
    send_failed = Signal(object)  # TaskError
    busy_changed = Signal()
    schedule_checked = Signal(object)  # the next due moment (aware UTC) or None without a key
    resume_detected = Signal()
    notification = Signal(str, str, bool)  # title, sentence, is a problem
    status_message = Signal(str, str)  # a headline for the status bar, the whole story

    def __init__(
        self,
        context: AppContext,
        keychain: Keychain,
        *,
        tick_ms: int = TICK_MS,
        zone: Callable[[], tzinfo] = local_zone,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._keychain = keychain
        self._zone = zone
        self._tick_interval = timedelta(milliseconds=tick_ms)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._last_tick: datetime | None = None
        self._next_due: datetime | None = None
        self._retry_sync_after: datetime | None = None
        self._retry_send_after: datetime | None = None
        self._sync_task: Task | None = None
        self._send_task: Task | None = None
        self._keys_set: set[str] | None = None  # read lazily; again when keys change
        context.hub.changed.connect(self._on_data_changed)

    # -- state ---------------------------------------------------------------------------

    @property
    def syncing(self) -> bool:
        return self._sync_task is not None

    @property
    def sending(self) -> bool:
        return self._send_task is not None

    @property
    def next_due(self) -> datetime | None:
        """When the next automatic sync is due (aware UTC), None without a Segment key."""
        return self._next_due

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    # -- starting and stopping -----------------------------------------------------------

    def start(self) -> None:
        """Start the heartbeat and check the schedule at once (catching up a missed day)."""
        self._last_tick = self._context.now()
        self._timer.start()
        self.check_schedule()
        self._maybe_send_automatically(self._context.now())

    def stop(self) -> None:
        """Stop the heartbeat and ask running jobs to stop."""
        self._timer.stop()
        for task in (self._sync_task, self._send_task):
            if task is not None:
                task.cancel()

    # -- on demand -----------------------------------------------------------------------

    def sync_now(self) -> bool:
        """Start a sync (Sync button, menu, tray). False when one is already running."""
        return self._start_sync(automatic=False)

    def send_due_now(self) -> bool:
        """Send the due surveys (tray "Send due"). False when a send is already running."""
        return self._start_send(automatic=False)

    # -- the schedule --------------------------------------------------------------------

    def tick(self) -> None:
        """One heartbeat: notice sleep/resume, run a due sync, send due surveys if asked to."""
        try:
            self._tick()
        except Exception:  # a heartbeat must never take the app down; the next one retries
            log.exception("The sync heartbeat failed")

    def _tick(self) -> None:
        now = self._context.now()
        previous, self._last_tick = self._last_tick, now
        if previous is not None and self._clock_jumped(previous, now):
            log.info("The clock jumped from %s to %s; re-checking the sync schedule", previous, now)
            # Whatever failed before the sleep deserves a fresh try now.
            self._retry_sync_after = self._retry_send_after = None
            self.resume_detected.emit()
            self.check_schedule()
        elif self._next_due is not None and now >= self._next_due:
            self.check_schedule()
        self._maybe_send_automatically(now)

    def check_schedule(self) -> None:
        """Re-read the schedule (last successful sync, sync time, zone) and sync if it is due."""
        now = self._context.now()
        if not self._has_key(KeyName.SEGMENT):
            self._next_due = None
            self.schedule_checked.emit(None)
            return
        with self._context.profile.database.session() as session:
            last = last_successful(session, RunKind.SYNC)
        last_at = last.started_at if last is not None else None
        self._next_due = next_sync_due(
            last_at, self._context.settings().sync_time, now, self._zone()
        )
        self.schedule_checked.emit(self._next_due)
        waiting = self._retry_sync_after is not None and now < self._retry_sync_after
        if self._next_due <= now and not waiting and not self.syncing:
            log.info("The daily sync is due (last successful: %s)", last_at)
            self._start_sync(automatic=True)

    def _clock_jumped(self, previous: datetime, now: datetime) -> bool:
        step = now - previous
        allowed = max(self._tick_interval * RESUME_GAP_FACTOR, MIN_RESUME_GAP)
        # Backwards counts too: the clock was set back, or the zone changed under us.
        return step > allowed or step < -self._tick_interval

    # -- running jobs --------------------------------------------------------------------

    def _start_sync(self, *, automatic: bool) -> bool:
        if self.syncing:
            return False
        profile, keychain = self._context.profile, self._keychain
        transport = self._context.callexa_transport

        def job(control: WorkerControl) -> SyncResult:
            write_key = keychain.require(KeyName.SEGMENT)
            pulled, pull_problem = _pull_responses(profile, keychain, transport)
            control.check_cancelled()
            summary = sync_ratings(
                profile,
                write_key,
                progress=lambda done, total: control.report((done, total)),
                should_cancel=control.should_cancel,
            )
            return SyncResult(summary, pulled, pull_problem, automatic)

        self._sync_task = self._context.run(
            job,
            description="syncing ratings to Segment",
            on_result=self._on_sync_finished,
            on_error=self._on_sync_failed,
            on_progress=self._on_sync_progress,
        )
        self.sync_started.emit()
        self.busy_changed.emit()
        return True

    def _on_sync_progress(self, value: Any) -> None:
        done, total = value
        self.sync_progress.emit(int(done), int(total))

    def _on_sync_finished(self, result: SyncResult) -> None:
        self._sync_task = None
        # A run Segment stopped (bad key, unreachable) is not retried every minute.
        self._retry_sync_after = None if result.ok else self._context.now() + RETRY_AFTER_FAILURE
        self._context.hub.notify(Topic.ACTIVITY, Topic.CUSTOMERS, Topic.RESPONSES)
        if result.ok:
            title = "Daily sync finished" if result.automatic else "Sync finished"
        else:
            title = "Sync failed"
        problem = not result.ok or bool(result.pull_problem) or result.sync.failed > 0
        story = describe_sync(result)
        self.notification.emit(title, story, problem)
        self.status_message.emit(sync_headline(result), story)
        self.sync_finished.emit(result)
        self.busy_changed.emit()
        if self.running:
            self.check_schedule()  # the next due moment moved to tomorrow's slot

    def _on_sync_failed(self, error: TaskError) -> None:
        self._sync_task = None
        self._retry_sync_after = self._context.now() + RETRY_AFTER_FAILURE
        self._context.hub.notify(Topic.ACTIVITY)
        sentence = window_sentence(error.sentence)
        self.notification.emit("Sync failed", sentence, True)
        self.status_message.emit(f"Sync failed: {first_clause(sentence)}.", sentence)
        self.sync_failed.emit(error)
        self.busy_changed.emit()

    def _maybe_send_automatically(self, now: datetime) -> None:
        if self.sending or (self._retry_send_after is not None and now < self._retry_send_after):
            return
        if not self._context.settings().auto_send or not self._has_key(KeyName.CALLEXA):
            return
        self._start_send(automatic=True)

    def _start_send(self, *, automatic: bool) -> bool:
        if self.sending:
            return False
        profile, keychain = self._context.profile, self._keychain
        transport = self._context.callexa_transport

        def job(control: WorkerControl) -> SendSummary | None:
            if automatic:
                # Nothing to send (or all waiting for a retry time or the budget): no Activity
                # entry every minute for an empty run.
                preview = send_due(profile, None, dry_run=True)
                if preview.due == 0 and preview.released == 0:
                    return None
            return send_through_callexa(
                profile, keychain.require(KeyName.CALLEXA), transport, control
            )

        self._send_task = self._context.run(
            job,
            description="sending due surveys",
            on_result=lambda summary: self._on_send_finished(summary, automatic),
            on_error=lambda error: self._on_send_failed(error, automatic),
        )
        self.send_started.emit()
        self.busy_changed.emit()
        return True

    def _on_send_finished(self, summary: SendSummary | None, automatic: bool) -> None:
        self._send_task = None
        stopped = summary is not None and bool(summary.stopped)
        self._retry_send_after = (
            self._context.now() + RETRY_AFTER_FAILURE if automatic and stopped else None
        )
        self.busy_changed.emit()
        if summary is None:
            return
        self._context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS, Topic.ACTIVITY)
        if summary.sent or stopped or not automatic:
            title = "Sending stopped" if stopped else "Surveys sent"
            story = send_sentence(summary)
            self.notification.emit(title, story, stopped or summary.failed > 0)
            self.status_message.emit(send_headline(summary), story)
        self.send_finished.emit(summary)

    def _on_send_failed(self, error: TaskError, automatic: bool) -> None:
        self._send_task = None
        if automatic:
            self._retry_send_after = self._context.now() + RETRY_AFTER_FAILURE
        self._context.hub.notify(Topic.SURVEYS, Topic.ACTIVITY)
        sentence = window_sentence(error.sentence)
        self.notification.emit("Sending failed", sentence, True)
        self.status_message.emit(f"Sending failed: {first_clause(sentence)}.", sentence)
        self.send_failed.emit(error)
        self.busy_changed.emit()

    # -- helpers -------------------------------------------------------------------------

    def _has_key(self, name: str) -> bool:
        if self._keys_set is None:
            try:
                self._keys_set = {s.name for s in self._keychain.status() if s.is_set}
            except CallexaError as error:
                log.warning("Could not read which keys are set: %s", error)
                self._keys_set = set()
        return name in self._keys_set

    def _on_data_changed(self, topic: str) -> None:
        if topic == Topic.KEYS:
            self._keys_set = None
        # New sync time or key: the cached due moment may be wrong now.
        if topic in (Topic.SETTINGS, Topic.KEYS) and self.running:
            self.check_schedule()


def sync_headline(result: SyncResult) -> str:
    """The sync's outcome in a few words for the status bar ("Sync finished: 28 ratings
    delivered."); ``describe_sync`` tells the whole story."""
    summary = result.sync
    if summary.stopped:
        return f"Sync failed: {first_clause(window_sentence(summary.stopped))}."
    if summary.cancelled:
        return f"Sync cancelled: {_count(summary.delivered, 'rating')} delivered."
    if summary.to_send == 0:
        text = "Sync finished: nothing new to send"
    elif summary.delivered == summary.to_send:
        text = f"Sync finished: {_count(summary.delivered, 'rating')} delivered"
    else:
        delivered = f"{summary.delivered:,} of {_count(summary.to_send, 'rating')}"
        text = f"Sync finished: {delivered} delivered"
    return text + ("; fetching responses failed." if result.pull_problem else ".")


def describe_sync(result: SyncResult) -> str:
    """The sync's outcome in a sentence or two, for the notification and status bar."""
    parts = []
    if result.pull_problem:
        problem = window_sentence(result.pull_problem)
        parts.append(f"Fetching responses from Callexa failed: {problem}")
    elif result.pulled is not None and result.pulled.recorded:
        count = result.pulled.recorded
        parts.append(f"{count} new response{'s' if count != 1 else ''} from Callexa.")
    # The reason a run stopped is worded for the window (a refused key: Keys…, not the CLI).
    parts.append(replace(result.sync, stopped="").sentence())
    if result.sync.stopped:
        parts.append(window_sentence(result.sync.stopped))
    return " ".join(parts)


def _pull_responses(
    profile: Profile, keychain: Keychain, transport: Any
) -> tuple[ResponseSummary | None, str]:
    """Pull new responses from Callexa when a key is set; a failure is reported, not raised."""
    api_key = keychain.get(KeyName.CALLEXA)
    if api_key is None:
        return None, ""
    try:
        base_url = profile.settings().callexa_base_url
        with CallexaClient(base_url, api_key, transport=transport) as client:
            return pull_responses(profile, client), ""
    except CallexaError as error:
        log.warning("Fetching responses before the sync failed: %s", error)
        return None, str(error)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
