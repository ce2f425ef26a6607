"""Time the queue's core queries over a generated profile of a million surveys.

    .venv/bin/python bench/queue_queries_bench.py [--surveys N] [--keep FILE]

Generates N surveys (0.8 N customers, one identify record per survey, statuses
mixed like a busy account: 55 % sent, 33 % scheduled, 5 % cancelled, 4 % failed,
3 % held) straight into a fresh database with SQL, then times what the window
and the command line ask of ``core/queue.py``: counts, a 200-row page at the
start, middle and end in every order and filter, text search, streaming, and a
re-plan preview and apply. Each figure is the best of a few runs, in milliseconds.
With ``--keep FILE`` the database is kept (and reused when it exists).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callexa_desktop.core.database import open_database
from callexa_desktop.core.queue import (
    SORT_KEYS,
    apply_replan,
    count_surveys,
    iter_surveys,
    list_surveys,
    plan_replan,
)
from callexa_desktop.core.settings import Settings

NOW = datetime(2026, 7, 1, tzinfo=UTC)
PAGE = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the generated database here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="callexa-queue-bench-"))
    path = args.keep or folder / "queue.sqlite3"
    try:
        if not path.exists():
            started = time.perf_counter()
            generate(path, args.surveys)
            print(f"generated {args.surveys:,} surveys in {time.perf_counter() - started:.0f} s")
        database = open_database(f"sqlite:///{path}")
        with database.session() as session:
            time_listing(session)
            time_replan(session)
            session.rollback()  # leave a kept database as generated
        database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def time_listing(session: Any) -> None:
    print(f"\n{'query':58s} {'ms':>8s}")
    for status in (None, "scheduled", "due", "held"):
        total = count_surveys(session, status=status, now=NOW)
        label = status or "all"
        report(f"count {label} ({total:,})", counting(session, status=status, now=NOW))
        for order_by in SORT_KEYS:
            for where, offset in (("start", 0), ("middle", total // 2), ("end", total - PAGE)):
                report(
                    f"  page {label:9s} by {order_by:7s} at {where:6s} (offset {offset:,})",
                    paging(session, status=status, now=NOW, order_by=order_by, offset=offset),
                    runs=2 if order_by in ("email", "name") else 3,
                )
    for text in ("olsen12", "@acme.test"):
        total = count_surveys(session, text=text)
        report(f"count text {text!r} ({total:,})", counting(session, text=text))
        report(f"  last page text {text!r}", paging(session, text=text, offset=total - PAGE))
    report(
        "stream 100,000 rows (iter_surveys)",
        lambda: sum(1 for _ in islice(iter_surveys(session), 100_000)),
        runs=1,
    )


def counting(session: Any, **filters: Any) -> Callable[[], object]:
    return lambda: count_surveys(session, **filters)


def paging(session: Any, *, offset: int, **filters: Any) -> Callable[[], object]:
    return lambda: list_surveys(session, offset=max(offset, 0), limit=PAGE, **filters)


def time_replan(session: Any) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    settings = replace(Settings(), min_delay_days=3, max_delay_days=20)
    started = time.perf_counter()
    plan = plan_replan(session, settings, NOW)
    planned = time.perf_counter() - started
    grown = (process.memory_info().rss - before) / 1e6
    print(
        f"\nre-plan preview: {planned:.1f} s for {plan.checked:,} waiting surveys, "
        f"{len(plan.changes):,} changes; memory +{grown:.0f} MB\n  {plan.in_words()}"
    )
    started = time.perf_counter()
    applied = apply_replan(session, plan)
    print(f"re-plan apply: {time.perf_counter() - started:.1f} s for {applied:,} changes")


def report(label: str, action: Callable[[], object], runs: int = 3) -> None:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    print(f"{label:58s} {best * 1000:8.1f}", flush=True)


def generate(path: Path, surveys: int) -> None:
    """Customers, identify records and surveys written with SQL, in the storage's text form."""
    open_database(f"sqlite:///{path}").dispose()  # the schema at the newest revision
    customers = int(surveys * 0.8)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    time_text = "strftime('%Y-%m-%d %H:%M:%S', '2026-06-01', ({}) || ' seconds') || '.000000'"
    connection.executescript(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {customers})
        INSERT INTO customer (id, email, user_id, anonymous_id, first_name, last_name, name,
                              created_at, last_identified_at, last_decision)
        SELECT i,
               printf('%s.%s%d@%s', f, l, i, d),
               CASE WHEN i % 10 THEN 'u' || i END, 'a' || i, f, l, f || ' ' || l,
               {time_text.format("-(i * 7919 % 34560000)")},
               {time_text.format("-(i * 7919 % 34560000) + (i % 60) * 86400")},
               'scheduled'
        FROM (SELECT i,
                     json_extract('["ann","bob","carla","dmitri","eve","farah","georg","hana"]',
                                  '$[' || (i % 8) || ']') AS f,
                     json_extract('["smith","jones","garcia","rossi","dubois","olsen","tanaka"]',
                                  '$[' || (i * 3 % 7) || ']') AS l,
                     json_extract('["example.com","acme.test","shop.example","mail.test"]',
                                  '$[' || (i * 5 % 4) || ']') AS d
              FROM n);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {surveys})
        INSERT INTO identify_event (id, message_key, email, customer_id, event_at, created_at,
                                    source, decision, survey_id)
        SELECT i, 'm' || i, 'x', c,
               {time_text.format("(i * 104729 % 32832000) - 17280000")},
               {time_text.format("(i * 104729 % 32832000) - 17280000 - (i % 30) * 86400")},
               'bench', 'scheduled', i
        FROM (SELECT i, CASE WHEN i <= {customers} THEN i
                             ELSE 1 + (i * 48271 % {customers}) END AS c FROM n);
        INSERT INTO survey (id, key, customer_id, status, send_at, reason, planned_at,
                            identify_id, sent_at, attempts)
        SELECT id, 'k' || id, customer_id, st,
               strftime('%Y-%m-%d %H:%M:%S', event_at, ((id % 6) * 86400) || ' seconds')
                   || '.000000',
               CASE st WHEN 'held' THEN 'monthly_budget'
                       WHEN 'cancelled' THEN 'cancelled_by_operator' ELSE 'scheduled' END,
               event_at, id,
               CASE st WHEN 'sent' THEN event_at END, 0
        FROM (SELECT id, customer_id, event_at,
                     CASE WHEN id * 37 % 100 < 55 THEN 'sent'
                          WHEN id * 37 % 100 < 88 THEN 'scheduled'
                          WHEN id * 37 % 100 < 93 THEN 'cancelled'
                          WHEN id * 37 % 100 < 97 THEN 'failed'
                          ELSE 'held' END AS st
              FROM identify_event);
        """
    )
    connection.commit()
    connection.close()


if __name__ == "__main__":
    sys.exit(main())
