"""Migration 0003: follow-up columns on responses, detractors already stored become open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from callexa_desktop.core.database import (
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade_to,
)


def test_upgrade_opens_a_follow_up_for_each_detractor_and_keeps_the_responses(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade_to(engine, "0002")
    answered = datetime(2026, 10, 5, 9, 30)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO customer (id, email) VALUES (1, 'ann@example.com')"))
        for key, rating, comment in (("d", 6, "Too slow"), ("p", 9, ""), ("q", 7, "ok")):
            connection.execute(
                text(
                    "INSERT INTO response (dedupe_key, customer_id, rating, comment, answered_at,"
                    " source, received_at) VALUES (:key, 1, :rating, :comment, :at, 'x.csv', :at)"
                ),
                {"key": key, "rating": rating, "comment": comment, "at": answered},
            )
    engine.dispose()

    database = open_database(url, backup_dir=tmp_path / "backups")
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT dedupe_key, rating, comment, answered_at, follow_up, follow_up_note,"
                " follow_up_changed_at FROM response ORDER BY dedupe_key"
            )
        ).all()
    assert current_revision(database.engine) == head_revision()
    database.dispose()

    assert [(r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows] == [
        ("d", 6, "Too slow", "open", "", None),
        ("p", 9, "", None, "", None),
        ("q", 7, "ok", None, "", None),
    ]
    assert all(str(r[3]).startswith("2026-10-05 09:30:00") for r in rows)
