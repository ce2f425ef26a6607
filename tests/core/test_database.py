"""Opening, migrating, backing up and refusing databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from callexa_desktop.core.database import (
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade_to,
)
from callexa_desktop.core.errors import DatabaseProblem, DatabaseTooNew


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_new_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    database = open_database(_url(tmp_path / "db.sqlite3"))
    assert current_revision(database.engine) == head_revision()
    database.dispose()


def test_migrations_match_the_models(tmp_path: Path) -> None:
    database = open_database(_url(tmp_path / "db.sqlite3"))
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    database.dispose()
    assert differences == []


def test_database_uses_write_ahead_logging(tmp_path: Path) -> None:
    database = open_database(_url(tmp_path / "db.sqlite3"))
    with database.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    database.dispose()
    assert mode == "wal"


def test_upgrade_from_the_first_revision_keeps_data_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    engine = make_engine(_url(path))
    upgrade_to(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO customer (email, created_at) VALUES ('ann@example.com', :created)"),
            {"created": datetime(2026, 1, 2, 3, 4, 5)},
        )
        connection.execute(text("INSERT INTO setting (key, value) VALUES ('min_delay_days', '3')"))
    engine.dispose()

    backups = tmp_path / "backups"
    database = open_database(_url(path), backup_dir=backups)
    with database.engine.connect() as connection:
        email, created = connection.execute(text("SELECT email, created_at FROM customer")).one()
        setting = connection.execute(text("SELECT value FROM setting")).scalar()
        outbox = connection.execute(text("SELECT count(*) FROM sync_outbox")).scalar()
    assert current_revision(database.engine) == head_revision()
    database.dispose()
    assert (email, setting, outbox) == ("ann@example.com", "3", 0)
    assert created.startswith("2026-01-02 03:04:05")
    copies = list(backups.glob("callexa-before-upgrade-0001-*.sqlite3"))
    assert len(copies) == 1
    backup_engine = make_engine(_url(copies[0]))
    assert current_revision(backup_engine) == "0001"
    backup_engine.dispose()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    open_database(_url(path)).dispose()
    engine = make_engine(_url(path))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(DatabaseTooNew, match="newer version of Callexa Desktop"):
        open_database(_url(path))


def test_a_file_that_is_not_a_database_is_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(DatabaseProblem, match="could not be opened"):
        open_database(_url(path))


def test_utc_columns_round_trip_as_aware_utc(tmp_path: Path) -> None:
    from callexa_desktop.core.models import Customer

    database = open_database(_url(tmp_path / "db.sqlite3"))
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with database.session() as session:
        session.add(Customer(email="a@example.com", created_at=moment))
    with database.session() as session:
        stored = session.get(Customer, 1)
    database.dispose()
    assert stored is not None
    assert stored.created_at == moment
    assert stored.created_at.tzinfo is not None
