"""Running core and service calls off the GUI thread.

A ``Task`` (a QObject living on the main thread) owns a ``QRunnable`` that runs
the job on a pool thread. The job only ever talks to its ``WorkerControl``
(report progress, ask whether to stop); results, errors and progress reach the
main thread through queued signals, so no widget is touched from a worker.
Each job opens its own database session from the profile it was given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from callexa_desktop.core.errors import CallexaError

log = logging.getLogger(__name__)

# Progress signals are rate-limited: a million records must not mean a million repaints.
PROGRESS_INTERVAL_SECONDS = 0.05


@dataclass(frozen=True)
class TaskError:
    """What went wrong, for the operator: one sentence, plus details for the expander."""

    sentence: str
    details: str = ""


class Cancelled(CallexaError):
    """A job stopped because the operator asked it to."""


class WorkerControl:
    """The job's side of a task: report progress and notice a cancel request."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._last_report = 0.0

    @property
    def cancelled(self) -> bool:
        return self._task._cancel_event.is_set()

    def should_cancel(self) -> bool:
        """For core functions that take ``should_cancel``."""
        return self.cancelled

    def report(self, value: Any, *, force: bool = False) -> None:
        """Send ``value`` to the main thread (at most every 50 ms unless ``force``)."""
        now = time.monotonic()
        if force or now - self._last_report >= PROGRESS_INTERVAL_SECONDS:
            self._last_report = now
            self._task._progress_from_worker.emit(value)

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the operator asked to stop."""
        if self.cancelled:
            raise Cancelled("Stopped at your request.")


Job = Callable[[WorkerControl], Any]


class Task(QObject):
    """One job run in a pool thread. Connect to the signals, then call ``start``.

    ``succeeded(result)`` or ``failed(TaskError)`` is emitted exactly once, then
    ``finished()``. ``progress(value)`` carries whatever the job reports.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    # Emitted from the pool thread; relayed on the main thread by the slots below.
    _progress_from_worker = Signal(object)
    _result_from_worker = Signal(object)
    _error_from_worker = Signal(object)

    def __init__(self, job: Job, *, description: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = description
        self._job = job
        self._cancel_event = threading.Event()
        self.running = False
        self.done = False
        self.result: Any = None
        self.error: TaskError | None = None
        self._progress_from_worker.connect(self._deliver_progress)
        self._result_from_worker.connect(self._deliver_result)
        self._error_from_worker.connect(self._deliver_error)
        self._runnable = _Runnable(self)

    def start(self, pool: QThreadPool) -> Task:
        self.running = True
        pool.start(self._runnable)
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it reports back as usual."""
        self._cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    def _run_job(self) -> None:
        control = WorkerControl(self)
        try:
            result = self._job(control)
        except CallexaError as error:
            self._error_from_worker.emit(TaskError(str(error), _details(error)))
        except Exception as error:  # the operator gets a sentence; the log keeps the traceback
            log.exception("unexpected error while %s", self.description)
            self._error_from_worker.emit(
                TaskError(
                    f"Something went wrong while {self.description}; nothing was lost, "
                    "and the details are in the log file.",
                    _details(error),
                )
            )
        else:
            self._result_from_worker.emit(result)

    @Slot(object)
    def _deliver_progress(self, value: Any) -> None:
        if not self.done:
            self.progress.emit(value)

    @Slot(object)
    def _deliver_result(self, result: Any) -> None:
        self.result = result
        self._finish()
        self.succeeded.emit(result)
        self.finished.emit()

    @Slot(object)
    def _deliver_error(self, error: TaskError) -> None:
        self.error = error
        self._finish()
        self.failed.emit(error)
        self.finished.emit()

    def _finish(self) -> None:
        self.running = False
        self.done = True


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        # The Task keeps this runnable alive; Qt must not delete it under Python's feet.
        self.setAutoDelete(False)
        self._task = task

    def run(self) -> None:
        self._task._run_job()


def _details(error: BaseException) -> str:
    """The error and its causes as plain lines, for the Details expander (no traceback)."""
    lines: list[str] = []
    current: BaseException | None = error
    while current is not None and len(lines) < 5:
        text = str(current).strip()
        lines.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return "\n".join(lines)
