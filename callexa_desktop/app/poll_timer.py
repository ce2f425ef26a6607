"""Checking the watched folder and the identify feed on an interval while the app runs.

A QTimer fires every ``poll_interval_minutes``; each check runs ``poll_sources``
in a worker (never two at once) and its result lands in Activity. Nothing is
checked when neither a folder nor a feed is set.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.settings import Settings
from callexa_desktop.services.identify_feed import PollSummary, poll_sources

log = logging.getLogger(__name__)


class PollTimer(QObject):
    """Runs ``poll_sources(profile)`` on the interval from the settings.

    ``checked`` carries the poll's result; ``failed`` a TaskError (also in Activity).
    """

    checked = Signal(object)
    failed = Signal(object)

    def __init__(
        self, context: AppContext, parent: QObject | None = None, *, transport: Any = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        # An httpx transport for the feed (tests); None = the network.
        self._transport = transport
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll_now)
        self.task: Task | None = None
        context.hub.changed.connect(self._data_changed)

    @property
    def enabled(self) -> bool:
        return self.timer.isActive()

    def apply_settings(self, settings: Settings) -> None:
        """Start, restart or stop the timer for ``settings``' sources and interval."""
        if settings.poll_folder or settings.poll_url:
            interval = max(1, settings.poll_interval_minutes) * 60_000
            if not self.timer.isActive() or self.timer.interval() != interval:
                self.timer.start(interval)
        else:
            self.timer.stop()

    def stop(self) -> None:
        self.timer.stop()
        if self.task is not None:
            self.task.cancel()

    def poll_now(self) -> Task | None:
        """Check the sources now (unless a check is already running)."""
        if self.task is not None:
            return None
        profile = self._context.profile

        transport = self._transport

        def job(control: WorkerControl) -> PollSummary:
            return poll_sources(profile, transport=transport, should_cancel=control.should_cancel)

        self.task = self._context.run(
            job,
            description="checking the watched folder and feed",
            on_result=self._succeeded,
            on_error=self._failed,
        )
        return self.task

    def _succeeded(self, result: PollSummary) -> None:
        self.task = None
        self._context.hub.notify(Topic.SURVEYS, Topic.CUSTOMERS, Topic.ACTIVITY)
        self.checked.emit(result)

    def _failed(self, error: TaskError) -> None:
        # No dialog every few minutes for an unreachable feed: Activity and the log say it.
        self.task = None
        log.warning("Checking the identify sources failed: %s", error.sentence)
        self._context.hub.notify(Topic.ACTIVITY)
        self.failed.emit(error)

    def _data_changed(self, topic: str) -> None:
        if topic == Topic.SETTINGS:
            self.apply_settings(self._context.settings())
