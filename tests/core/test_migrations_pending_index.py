"""Migration 0004: the sync outbox indexes its pending rows only, and a sync reads through it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

from callexa_desktop.core.database import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade_to,
)
from callexa_desktop.core.models import SyncOutbox
from callexa_desktop.core.sync_outbox import _WIRE_PAGE


def _outbox_indexes(connection: Connection) -> dict[str, str | None]:
    rows = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sync_outbox'"
            " AND name NOT LIKE 'sqlite_autoindex_%'"
        )
    ).all()
    return {name: sql for name, sql in rows}


def _fill_outbox(connection: Connection) -> None:
    """Three customers: pending, delivered, pending again (the schema of revision 0003)."""
    answered = datetime(2026, 10, 5, 9, 30)
    for n, status in ((1, "pending"), (2, "delivered"), (3, "pending")):
        connection.execute(
            text("INSERT INTO customer (id, email) VALUES (:n, :email)"),
            {"n": n, "email": f"customer{n}@example.com"},
        )
        connection.execute(
            text(
                "INSERT INTO response (id, dedupe_key, customer_id, rating, comment, answered_at,"
                " source, received_at) VALUES (:n, :key, :n, 9, '', :at, 'x.csv', :at)"
            ),
            {"n": n, "key": f"key{n}", "at": answered},
        )
        connection.execute(
            text(
                "INSERT INTO sync_outbox (customer_id, response_id, message_id, status, attempts,"
                " queued_at) VALUES (:n, :n, :message, :status, 0, :at)"
            ),
            {"n": n, "message": f"message-{n}", "status": status, "at": answered},
        )


def test_upgrade_replaces_the_status_index_with_one_over_the_pending_rows_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade_to(engine, "0003")
    with engine.begin() as connection:
        before = _outbox_indexes(connection)
        _fill_outbox(connection)
    engine.dispose()

    database = open_database(url, backup_dir=tmp_path / "backups")
    with database.engine.connect() as connection:
        after = _outbox_indexes(connection)
        # INDEXED BY fails outright if the index cannot answer the query.
        indexed = connection.execute(
            text(
                "SELECT customer_id FROM sync_outbox INDEXED BY ix_sync_outbox_pending"
                " WHERE status = 'pending' ORDER BY customer_id"
            )
        ).all()
        statuses = connection.execute(
            text("SELECT customer_id, status FROM sync_outbox ORDER BY customer_id")
        ).all()
    assert current_revision(database.engine) == head_revision()
    database.dispose()

    assert list(before) == ["ix_sync_outbox_status"]
    assert list(after) == ["ix_sync_outbox_pending"]
    assert after["ix_sync_outbox_pending"] == (
        "CREATE INDEX ix_sync_outbox_pending ON sync_outbox (customer_id) WHERE status = 'pending'"
    )
    assert [row[0] for row in indexed] == [1, 3]
    assert [tuple(row) for row in statuses] == [(1, "pending"), (2, "delivered"), (3, "pending")]


def test_the_model_declares_the_pending_index_the_migrations_create(tmp_path: Path) -> None:
    # compare_metadata matches indexes by name and columns only, not by their WHERE clause.
    (index,) = [i for i in SyncOutbox.__table__.indexes if i.name == "ix_sync_outbox_pending"]
    declared = str(CreateIndex(index).compile(dialect=sqlite.dialect())).strip()
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with database.engine.connect() as connection:
        created = _outbox_indexes(connection)["ix_sync_outbox_pending"]
    database.dispose()

    assert declared == created


def test_a_sync_reads_its_page_of_pending_rows_through_the_pending_index(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with database.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {_WIRE_PAGE}", {"after": -1, "rows": 2000}
        ).all()
    database.dispose()

    steps = [row[3] for row in plan]
    assert "SEARCH o USING INDEX ix_sync_outbox_pending (customer_id>?)" in steps
    assert not [step for step in steps if step.startswith("SCAN o")]


def test_downgrade_brings_back_the_status_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade_to(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    with engine.connect() as connection:
        indexes = _outbox_indexes(connection)
    assert current_revision(engine) == "0003"
    engine.dispose()

    assert indexes == {
        "ix_sync_outbox_status": "CREATE INDEX ix_sync_outbox_status ON sync_outbox (status)"
    }
