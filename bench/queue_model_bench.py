"""Queue view benchmark: 1,000,000 surveys, opened and scrolled to the end, offscreen.

A temporary profile is filled with one million customers, each with one survey
(scheduled, held, sent and cancelled, send times spread over a year), by plain
``executemany`` on the SQLite file. Then the real ``QueueView`` is created on the
offscreen platform and timed:

- open: from creating the view (model + table) to the first paint with every
  visible row filled with data (the count and the first block of rows);
- scroll to the end: from ``scrollToBottom()`` to a paint of the last rows with
  their data (the block at the far end, read from that end);
- the same two for the other orders and filters an operator uses (email order,
  "due" filter, a text search), for information.

Each of "open" and "scroll to the end" must be under one second; the script exits
with status 1 otherwise.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/queue_model_bench.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.paged_model import PLACEHOLDER
from callexa_desktop.app.queue_model import QueueModel, QueueQuery
from callexa_desktop.app.queue_view import QueueView
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.paths import database_path
from callexa_desktop.core.profile import Profile

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMIT_SECONDS = 1.0
# How the generated surveys are spread over the states (the rest are scheduled).
STATE_SHARES = (
    (SurveyStatus.SENT, 0.15),
    (SurveyStatus.HELD, 0.05),
    (SurveyStatus.CANCELLED, 0.05),
)
FIRST_NAMES = ("Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal", "Ida", "Jon")
LAST_NAMES = ("Archer", "Baker", "Carter", "Dyer", "Evans", "Fisher", "Gray", "Hunt")


def _stamp(moment: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime stores (naive UTC).
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def fill_database(path: Path, rows: int, *, seed: int = 7) -> float:
    """Insert ``rows`` customers with one survey each; returns the seconds it took."""
    started = time.perf_counter()
    chooser = random.Random(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    planned = _stamp(NOW - timedelta(days=30))
    chunk = 50_000
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        customers = []
        surveys = []
        for number in range(start + 1, stop + 1):
            first = FIRST_NAMES[number % len(FIRST_NAMES)]
            last = LAST_NAMES[(number // 10) % len(LAST_NAMES)]
            customers.append(
                (number, f"customer{number:07d}@example.com", f"u{number}", first, last, planned)
            )
            draw = chooser.random()
            status = SurveyStatus.SCHEDULED
            for state, share in STATE_SHARES:
                if draw < share:
                    status = state
                    break
                draw -= share
            send_at = NOW + timedelta(minutes=chooser.randint(-180 * 24 * 60, 180 * 24 * 60))
            sent_at = _stamp(send_at) if status == SurveyStatus.SENT else None
            surveys.append(
                (
                    number,
                    f"bench-{number}",
                    number,
                    status,
                    _stamp(send_at),
                    "scheduled",
                    planned,
                    sent_at,
                )
            )
        connection.executemany(
            "INSERT INTO customer (id, email, user_id, first_name, last_name, last_identified_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            customers,
        )
        connection.executemany(
            "INSERT INTO survey (id, key, customer_id, status, send_at, reason, planned_at,"
            " sent_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            surveys,
        )
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def visible_rows_loaded(view: QueueView) -> bool:
    """True when every row in the viewport shows data, not the placeholder."""
    table = view.table
    first = table.rowAt(0)
    last = table.rowAt(table.viewport().height() - 1)
    if first < 0:
        return view.model.rowCount() == 0
    if last < 0:
        last = view.model.rowCount() - 1
    model = view.model
    return all(
        model.data(model.index(row, QueueModel.EMAIL)) not in (None, PLACEHOLDER)
        for row in range(first, last + 1)
    )


def paint_until_loaded(app: QApplication, view: QueueView, timeout: float = 30.0) -> None:
    """Paint the table (as the screen would) until the visible rows have their data."""
    deadline = time.perf_counter() + timeout
    while True:
        view.table.viewport().repaint()
        app.processEvents()
        if not view.model.busy and visible_rows_loaded(view):
            view.table.viewport().repaint()
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the visible rows never loaded")


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="callexa-queue-bench-") as folder:
        data_dir = Path(folder)
        profile = Profile.open(data_dir, clock=lambda: NOW)
        print(f"Generating {args.rows:,} surveys…", flush=True)
        fill_seconds = fill_database(database_path(data_dir), args.rows)
        size_mb = database_path(data_dir).stat().st_size / 1e6
        print(f"  generated in {fill_seconds:.1f} s ({size_mb:,.0f} MB)", flush=True)

        app = QApplication.instance() or QApplication([])
        context = AppContext(profile)
        results: dict[str, float] = {}
        holder: dict[str, QueueView] = {}

        def open_view() -> None:
            view = QueueView(context)
            view.resize(1200, 800)
            view.show()
            view.model.refresh()
            paint_until_loaded(app, view)
            holder["view"] = view

        results["open"] = timed(open_view)
        view = holder["view"]
        assert view.model.rowCount() == args.rows, view.model.rowCount()

        def scroll_to_end() -> None:
            view.table.scrollToBottom()
            paint_until_loaded(app, view)

        results["scroll to the end"] = timed(scroll_to_end)
        last_row = view.model.rowCount() - 1
        assert view.table.rowAt(view.table.viewport().height() - 1) in (last_row, -1)

        def middle() -> None:
            view.table.scrollTo(view.model.index(args.rows // 2, 0))
            paint_until_loaded(app, view)

        results["jump to the middle"] = timed(middle)

        for label, query in (
            ("open sorted by email (descending)", QueueQuery(order_by="email", descending=True)),
            ("open filtered to due", QueueQuery(status="due")),
            ("open with a text search", QueueQuery(text="customer00042")),
        ):

            def reopen(query: QueueQuery = query) -> None:
                view.table.scrollToTop()
                view.model.set_query(query)
                paint_until_loaded(app, view)

            results[label] = timed(reopen)

            def to_end() -> None:
                view.table.scrollToBottom()
                paint_until_loaded(app, view)

            results[f"{label}, scroll to the end"] = timed(to_end)

        view.close()
        context.shutdown()
        profile.close()

    print()
    print(f"| {args.rows:,} surveys | seconds |")
    print("|---|---|")
    for label, seconds in results.items():
        print(f"| {label} | {seconds:.3f} |")
    slow = [k for k in ("open", "scroll to the end") if results[k] >= LIMIT_SECONDS]
    if slow:
        print(f"\nOver {LIMIT_SECONDS:.0f} s: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
