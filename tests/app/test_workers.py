"""Jobs run off the GUI thread and report back on it, as sentences when they fail."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.errors import NotFound


def test_result_arrives_on_the_main_thread_from_another_thread(
    qtbot: QtBot, context: AppContext
) -> None:
    main = threading.get_ident()
    seen: dict[str, int] = {}

    def job(_control: WorkerControl) -> int:
        seen["job"] = threading.get_ident()
        return 42

    task = context.run(job, description="testing")
    task.succeeded.connect(lambda _result: seen.setdefault("callback", threading.get_ident()))
    with qtbot.waitSignal(task.finished):
        pass

    assert task.result == 42
    assert seen["job"] != main
    assert seen["callback"] == main


def test_our_error_reaches_the_operator_as_its_own_sentence(
    qtbot: QtBot, context: AppContext
) -> None:
    def job(_control: WorkerControl) -> None:
        raise NotFound("There is no survey with id 7.")

    errors: list[TaskError] = []
    task = context.run(job, description="testing", on_error=errors.append)
    with qtbot.waitSignal(task.finished):
        pass

    assert errors == [
        TaskError("There is no survey with id 7.", "NotFound: There is no survey with id 7.")
    ]


def test_an_unexpected_error_becomes_a_sentence_without_a_traceback(
    qtbot: QtBot, context: AppContext
) -> None:
    def job(_control: WorkerControl) -> None:
        {}["missing"]

    task = context.run(job, description="reading the queue")
    with qtbot.waitSignal(task.finished):
        pass

    [error] = context.reported_errors  # type: ignore[attr-defined]
    assert error.sentence.startswith("Something went wrong while reading the queue")
    assert "Traceback" not in error.sentence + error.details
    assert "KeyError" in error.details


def test_progress_is_delivered_and_cancel_is_seen_by_the_job(
    qtbot: QtBot, context: AppContext
) -> None:
    started = threading.Event()
    progress: list[object] = []

    def job(control: WorkerControl) -> str:
        control.report("first", force=True)
        started.set()
        while not control.cancelled:
            threading.Event().wait(0.001)
        control.check_cancelled()
        return "not reached"

    errors: list[TaskError] = []
    task = context.run(
        job, description="testing", on_progress=progress.append, on_error=errors.append
    )
    qtbot.waitUntil(lambda: progress == ["first"])
    task.cancel()
    with qtbot.waitSignal(task.finished):
        pass

    assert started.is_set()
    assert errors == [TaskError("Stopped at your request.", "Cancelled: Stopped at your request.")]
    assert context.active_tasks() == []
