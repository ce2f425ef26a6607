"""The Activity history: one row per import, send, sync, responses or poll run."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from callexa_desktop.core.clock import Clock, utc_now
from callexa_desktop.core.database import Database
from callexa_desktop.core.models import ActivityRun


class RunKind:
    IMPORT = "import"
    SEND = "send"
    SYNC = "sync"
    RESPONSES = "responses"
    POLL = "poll"


class RunStatus:
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


def start_run(database: Database, kind: str, *, source: str = "", clock: Clock = utc_now) -> int:
    """Record that a run began (committed at once, so a crash still leaves a trace)."""
    with database.session() as session:
        run = ActivityRun(kind=kind, started_at=clock(), source=source)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def finish_run(
    database: Database,
    run_id: int,
    *,
    status: str,
    summary: Mapping[str, Any] | None = None,
    message: str = "",
    clock: Clock = utc_now,
) -> None:
    """Record how a run ended: its status, counts and a sentence for the operator."""
    with database.session() as session:
        run = session.get(ActivityRun, run_id)
        if run is None:
            return
        run.status = status
        run.finished_at = clock()
        run.summary = json.dumps(dict(summary or {}), default=str)
        run.message = message
        session.add(run)


@dataclass
class RunRecord:
    """The run being recorded; the caller sets how it ends before its block does.

    ``counts`` is called when the run ends (also when it fails), so the Activity row keeps
    the counts known at that moment; pass e.g. ``summary.as_dict``.
    """

    run_id: int
    status: str = RunStatus.OK
    message: str = ""
    counts: Callable[[], Mapping[str, Any]] = dict


@contextmanager
def recorded_run(
    database: Database,
    kind: str,
    *,
    source: str = "",
    clock: Clock = utc_now,
    failure_message: str | Callable[[BaseException], str] = (
        "The run stopped because of an unexpected problem."
    ),
    log: logging.Logger | None = None,
) -> Iterator[RunRecord]:
    """Record one run around a block: started at once, finished when the block ends.

    Yields a RunRecord whose ``status`` (default OK), ``message`` and ``counts`` the block
    sets. An exception escaping the block finishes the run FAILED with ``failure_message``
    (a sentence, or a function of the exception giving one) and the counts so far, is
    logged to ``log`` when given, and is raised again.
    """
    run = RunRecord(run_id=start_run(database, kind, source=source, clock=clock))
    try:
        yield run
    except BaseException as error:
        if log is not None:
            log.exception("%s run %s ended unexpectedly", kind, run.run_id)
        message = failure_message if isinstance(failure_message, str) else failure_message(error)
        finish_run(
            database,
            run.run_id,
            status=RunStatus.FAILED,
            summary=run.counts(),
            message=message,
            clock=clock,
        )
        raise
    finish_run(
        database,
        run.run_id,
        status=run.status,
        summary=run.counts(),
        message=run.message,
        clock=clock,
    )


def recent_runs(
    session: Session, *, kind: str | None = None, limit: int = 200
) -> list[ActivityRun]:
    """Newest first."""
    query = select(ActivityRun).order_by(
        col(ActivityRun.started_at).desc(), col(ActivityRun.id).desc()
    )
    if kind:
        query = query.where(ActivityRun.kind == kind)
    return list(session.exec(query.limit(limit)))


def last_successful(session: Session, kind: str) -> ActivityRun | None:
    """The most recent run of ``kind`` that ended well (the daily sync schedule needs it)."""
    query = (
        select(ActivityRun)
        .where(ActivityRun.kind == kind, ActivityRun.status == RunStatus.OK)
        .order_by(col(ActivityRun.started_at).desc())
        .limit(1)
    )
    return session.exec(query).first()
