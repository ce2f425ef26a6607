"""Running core and service calls off the GUI thread.

``AppContext.run`` wraps a job in a ``Task`` (a QObject on the main thread with the
signals views connect to) and hands the job to a ``TaskRunner``, which runs it on a
pool thread. The job only ever talks to its ``WorkerControl`` (report progress, ask
whether to stop); results, errors and progress come back through the runner's queued
signals, so no widget — and no Task — is touched from a pool thread. Each job opens
its own database session from the profile it was given.
"""

from __future__ import annotations

import itertools
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
    key_name: str = ""  # the key to check in the Keys… dialog when the problem is a key


class Cancelled(CallexaError):
    """A job stopped because the operator asked it to."""


class WorkerControl:
    """The job's side of a task: report progress and notice a cancel request."""

    def __init__(self, task_id: int, runner: TaskRunner, cancel_event: threading.Event) -> None:
        self._task_id = task_id
        self._runner = runner
        self._cancel_event = cancel_event
        self._last_report = 0.0

    @property
    def cancelled(self) -> bool:
        return self._cancel_event.is_set()

    def should_cancel(self) -> bool:
        """For core functions that take ``should_cancel``."""
        return self.cancelled

    def report(self, value: Any, *, force: bool = False) -> None:
        """Send ``value`` to the main thread (at most every 50 ms unless ``force``)."""
        now = time.monotonic()
        if force or now - self._last_report >= PROGRESS_INTERVAL_SECONDS:
            self._last_report = now
            self._runner._progress_from_worker.emit(self._task_id, value)

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the operator asked to stop."""
        if self.cancelled:
            raise Cancelled("Stopped at your request.")


Job = Callable[[WorkerControl], Any]


class Task(QObject):
    """One job run in a pool thread (started by a ``TaskRunner``; see ``AppContext.run``).

    ``succeeded(result)`` or ``failed(TaskError)`` is emitted exactly once, then
    ``finished()``. ``progress(value)`` carries whatever the job reports. A Task is
    only ever touched on the main thread: pool threads never hold it.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, job: Job, *, description: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = description
        self.job: Job | None = job
        self._cancel_event = threading.Event()
        self.running = False
        self.done = False
        self.result: Any = None
        self.error: TaskError | None = None

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it reports back as usual."""
        self._cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    def _deliver_progress(self, value: Any) -> None:
        if not self.done:
            self.progress.emit(value)

    def _deliver_result(self, result: Any) -> None:
        self.result = result
        self._finish()
        self.succeeded.emit(result)
        self.finished.emit()

    def _deliver_error(self, error: TaskError) -> None:
        self.error = error
        self._finish()
        self.failed.emit(error)
        self.finished.emit()

    def _finish(self) -> None:
        self.running = False
        self.done = True


class TaskRunner(QObject):
    """Starts tasks on thread pools and brings their messages back to the main thread.

    Pool threads only see the job, a cancel flag and this long-lived runner (never the
    Task), so a Task is created, used and freed on the main thread alone.
    """

    # Emitted from pool threads with the task's number; handled on the main thread.
    _progress_from_worker = Signal(int, object)
    _result_from_worker = Signal(int, object)
    _error_from_worker = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._numbers = itertools.count(1)
        self._running: dict[int, Task] = {}
        # Each running job, kept here until its outcome was delivered on the main thread: a
        # job's closure often holds a model or a view, and the pool thread must never be the
        # one that frees it (see _Runnable.run).
        self._jobs: dict[int, Job] = {}
        self._progress_from_worker.connect(self._on_progress)
        self._result_from_worker.connect(self._on_result)
        self._error_from_worker.connect(self._on_error)

    def start(self, task: Task, pool: QThreadPool) -> Task:
        """Run ``task``'s job on ``pool``; the task is kept here until it reported back."""
        job = task.job
        if job is None:
            raise RuntimeError(f"the task {task.description!r} was started already")
        task.job = None
        number = next(self._numbers)
        self._running[number] = task
        self._jobs[number] = job
        task.running = True
        pool.start(_Runnable(job, number, self, task._cancel_event, task.description))
        return task

    def running_tasks(self) -> list[Task]:
        return list(self._running.values())

    @Slot(int, object)
    def _on_progress(self, number: int, value: Any) -> None:
        task = self._running.get(number)
        if task is not None:
            task._deliver_progress(value)

    @Slot(int, object)
    def _on_result(self, number: int, result: Any) -> None:
        task = self._running.pop(number, None)
        if task is not None:
            task._deliver_result(result)
        self._jobs.pop(number, None)  # here, on the main thread, whatever the job held may go

    @Slot(int, object)
    def _on_error(self, number: int, error: TaskError) -> None:
        task = self._running.pop(number, None)
        if task is not None:
            task._deliver_error(error)
        self._jobs.pop(number, None)  # here, on the main thread, whatever the job held may go


class _Runnable(QRunnable):
    """Runs one job on a pool thread; Qt deletes it when run() returns."""

    def __init__(
        self,
        job: Job,
        number: int,
        runner: TaskRunner,
        cancel_event: threading.Event,
        description: str,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._job: Job | None = job
        self._number = number
        self._runner = runner
        self._cancel_event = cancel_event
        self._description = description

    def run(self) -> None:
        job, self._job = self._job, None
        if job is None:
            return
        control = WorkerControl(self._number, self._runner, self._cancel_event)
        result: Any = None
        failure: TaskError | None = None
        try:
            result = job(control)
        except CallexaError as error:
            failure = TaskError(str(error), _details(error))
        except Exception as error:  # the operator gets a sentence; the log keeps the traceback
            log.exception("unexpected error while %s", self._description)
            failure = TaskError(
                f"Something went wrong while {self._description}; nothing was lost, "
                "and the details are in the log file.",
                _details(error),
            )
        # Let go of the job (and the error's traceback, gone with the except clauses) before
        # reporting, while the runner still holds it: otherwise this pool thread could drop the
        # last reference to a model the job's closure captured, and Qt would delete that model
        # here while the main thread is deleting its view (the view's table then disconnects
        # from freed memory: the window tests' segfault).
        del job
        if failure is not None:
            self._runner._error_from_worker.emit(self._number, failure)
        else:
            self._runner._result_from_worker.emit(self._number, result)


def _details(error: BaseException) -> str:
    """The error and its causes as plain lines, for the Details expander (no traceback)."""
    lines: list[str] = []
    current: BaseException | None = error
    while current is not None and len(lines) < 5:
        text = str(current).strip()
        lines.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return "\n".join(lines)
