"""The Activity history: recording a run around a block of work."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from callexa_desktop.core.activity import RunKind, RunRecord, RunStatus, recorded_run
from callexa_desktop.core.models import ActivityRun
from callexa_desktop.core.profile import Profile
from tests.conftest import FakeClock


class Boom(Exception):
    pass


def stored(profile: Profile, run_id: int) -> ActivityRun:
    with profile.database.session() as session:
        run = session.get(ActivityRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def test_run_row_is_committed_as_running_while_the_block_runs(
    profile: Profile, clock: FakeClock
) -> None:
    started = clock()
    with recorded_run(profile.database, RunKind.SYNC, source="here", clock=clock) as run:
        during = stored(profile, run.run_id)
        clock.advance(minutes=5)
    assert during.status == RunStatus.RUNNING
    assert during.kind == RunKind.SYNC
    assert during.source == "here"
    assert during.started_at == started
    assert during.finished_at is None


def test_a_block_that_sets_nothing_ends_ok_with_no_counts_at_the_clock_time(
    profile: Profile, clock: FakeClock
) -> None:
    with recorded_run(profile.database, RunKind.IMPORT, clock=clock) as run:
        clock.advance(minutes=3)
    row = stored(profile, run.run_id)
    assert row.status == RunStatus.OK
    assert row.finished_at == clock()
    assert json.loads(row.summary) == {}
    assert row.message == ""


def test_a_normal_exit_records_the_status_counts_and_sentence_the_block_set(
    profile: Profile, clock: FakeClock
) -> None:
    counts: dict[str, Any] = {"sent": 0}
    with recorded_run(profile.database, RunKind.SEND, clock=clock) as run:
        run.counts = lambda: dict(counts)
        counts["sent"] = 4  # counts are read when the run ends, not when they are handed over
        run.status = RunStatus.CANCELLED
        run.message = "Cancelled after 4 surveys."
    row = stored(profile, run.run_id)
    assert row.status == RunStatus.CANCELLED
    assert json.loads(row.summary) == {"sent": 4}
    assert row.message == "Cancelled after 4 surveys."


def test_an_exception_finishes_the_run_failed_with_the_counts_so_far_and_is_raised_again(
    profile: Profile, clock: FakeClock
) -> None:
    counts = {"delivered": 0}
    error = Boom("disk on fire")

    def work(run: RunRecord) -> None:
        run.counts = lambda: dict(counts)
        run.message = "never recorded"
        counts["delivered"] = 7
        raise error

    run, raised = run_until_it_raises(
        profile, work, kind=RunKind.SYNC, clock=clock, failure_message="The sync stopped."
    )
    assert raised is error
    row = stored(profile, run.run_id)
    assert row.status == RunStatus.FAILED
    assert row.finished_at == clock()
    assert json.loads(row.summary) == {"delivered": 7}
    assert row.message == "The sync stopped."


def test_a_failure_message_can_be_made_from_the_exception(profile: Profile) -> None:
    run, _ = run_until_it_raises(
        profile,
        raising(Boom("Callexa refused the key.")),
        kind=RunKind.RESPONSES,
        failure_message=lambda error: str(error) or "Stopped part-way.",
    )
    assert stored(profile, run.run_id).message == "Callexa refused the key."


def test_a_status_set_before_an_interrupt_is_overruled_by_failed(profile: Profile) -> None:
    def work(run: RunRecord) -> None:
        run.status = RunStatus.OK
        raise KeyboardInterrupt

    run, raised = run_until_it_raises(profile, work, kind=RunKind.SEND)
    assert isinstance(raised, KeyboardInterrupt)
    assert stored(profile, run.run_id).status == RunStatus.FAILED


def test_an_escaping_exception_is_logged_with_its_run_when_a_log_is_given(
    profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("tests.activity")
    with caplog.at_level(logging.ERROR, logger="tests.activity"):
        run, _ = run_until_it_raises(profile, raising(Boom("x")), kind=RunKind.SEND, log=log)
    [record] = caplog.records
    assert record.getMessage() == f"send run {run.run_id} ended unexpectedly"
    assert record.exc_info is not None
    assert record.exc_info[0] is Boom


def raising(error: BaseException) -> Callable[[RunRecord], None]:
    def work(run: RunRecord) -> None:
        raise error

    return work


def run_until_it_raises(
    profile: Profile, work: Callable[[RunRecord], None], **options: Any
) -> tuple[RunRecord, BaseException]:
    """Run ``work`` inside a recorded run; return the run and the exception that came out."""
    seen: list[RunRecord] = []
    try:
        with recorded_run(profile.database, **options) as run:
            seen.append(run)
            work(run)
    except BaseException as raised:
        return seen[0], raised
    raise AssertionError("recorded_run swallowed the exception")
