"""The Activity history: one row per import, send, sync, responses or poll run."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
