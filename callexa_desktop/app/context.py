"""The window's explicit context: handed to every widget instead of globals.

It carries the profile, the way to read settings, the thread pools that run
jobs off the GUI thread, the window-state store and a small signal hub that
tells views when data changed so they refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QThreadPool, Signal

from callexa_desktop.app.workers import Job, Task, TaskError, TaskRunner
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import Settings

log = logging.getLogger(__name__)

WINDOW_STATE_FILE = "window-state.ini"


class Topic:
    """What changed; views listen for the topics they show."""

    SURVEYS = "surveys"
    CUSTOMERS = "customers"
    RESPONSES = "responses"
    ACTIVITY = "activity"
    SETTINGS = "settings"
    KEYS = "keys"

    ALL = (SURVEYS, CUSTOMERS, RESPONSES, ACTIVITY, SETTINGS, KEYS)


class DataHub(QObject):
    """Announces "data changed" so every view that shows it refreshes."""

    changed = Signal(str)

    def notify(self, *topics: str) -> None:
        """Tell views that ``topics`` (``Topic`` values) changed; call on the main thread."""
        for topic in topics:
            self.changed.emit(topic)


class AppContext:
    """Everything a widget needs from the application, passed explicitly.

    ``profile``: the open profile (database, clock, data folder).
    ``thread_pool``: long jobs (imports, sends, syncs, polls).
    ``page_pool``: short reads for table views, so a long import never delays scrolling.
    ``window_settings``: QSettings in the profile folder (geometry, columns, filters).
    ``callexa_transport``: an httpx transport for tests and the sandbox (None = real network).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        window_settings: QSettings | None = None,
        callexa_transport: Any = None,
    ) -> None:
        self.profile = profile
        self.hub = DataHub()
        self.thread_pool = QThreadPool()
        self.thread_pool.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
        self.page_pool = QThreadPool()
        self.page_pool.setMaxThreadCount(1)
        self.window_settings = window_settings or QSettings(
            str(profile.data_dir / WINDOW_STATE_FILE), QSettings.Format.IniFormat
        )
        self.callexa_transport = callexa_transport
        # Errors from tasks started without their own handler; the main window sets this.
        self.report_error: Callable[[TaskError], object] = _log_error
        self._runner = TaskRunner()
        self._shut_down = False

    @property
    def data_dir(self) -> Path:
        return self.profile.data_dir

    def settings(self) -> Settings:
        """The current settings, read from the database (a small, indexed read)."""
        return self.profile.settings()

    def now(self) -> datetime:
        """The profile's clock: aware UTC (a fake clock in tests)."""
        return self.profile.clock()

    def run(
        self,
        job: Job,
        *,
        description: str,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskError], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        pool: QThreadPool | None = None,
    ) -> Task:
        """Run ``job(control)`` on a pool thread; callbacks run on the main thread.

        ``description`` completes "Something went wrong while …" for unexpected errors.
        Without ``on_error`` the error goes to ``report_error`` (the main window's dialog).
        """
        task = Task(job, description=description)
        if self._shut_down:
            # After shutdown nothing new may start: a job still running while the
            # interpreter exits would touch Qt objects that are being destroyed.
            log.info("not starting %r: the window is shutting down", description)
            return task
        if on_progress is not None:
            task.progress.connect(on_progress)
        if on_result is not None:
            task.succeeded.connect(on_result)
        task.failed.connect(on_error if on_error is not None else self._report)
        return self._runner.start(task, pool or self.thread_pool)

    def active_tasks(self) -> list[Task]:
        return self._runner.running_tasks()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Ask every running job to stop and wait for them; True when all stopped in time.

        Afterwards ``run`` starts nothing new (callbacks still delivered may try).
        """
        self._shut_down = True
        for task in self._runner.running_tasks():
            task.cancel()
        finished = self.thread_pool.waitForDone(timeout_ms)
        return self.page_pool.waitForDone(timeout_ms) and finished

    def _report(self, error: TaskError) -> None:
        self.report_error(error)


def _log_error(error: TaskError) -> None:
    log.warning("background job failed: %s", error.sentence)
