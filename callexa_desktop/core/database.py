"""Opening the database: engine set-up, WAL mode, migrations with a backup first.

The URL is configurable (``paths.database_url``) so a server database can be
used later; SQLite in the profile folder is the default.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlmodel import Session

from callexa_desktop.core.clock import utc_now
from callexa_desktop.core.errors import DatabaseProblem, DatabaseTooNew

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Database:
    """An engine plus the way to get sessions from it. One per profile."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, backup_dir: Path | None = None, upgrade: bool = True) -> Database:
    """Connect to ``url``, bring the schema to the newest revision and return the Database.

    Before an existing database is upgraded a copy is written to ``backup_dir``.
    Raises DatabaseTooNew for a database from a newer program, DatabaseProblem
    when the file is not a database or cannot be opened.
    """
    engine = make_engine(url)
    try:
        if upgrade:
            _migrate(engine, backup_dir)
    except (DatabaseTooNew, DatabaseProblem):
        engine.dispose()
        raise
    except SADatabaseError as error:
        engine.dispose()
        raise DatabaseProblem(
            f"The database at {_describe(url)} could not be opened; "
            "it may be damaged or not a Callexa Desktop database."
        ) from error
    return Database(engine)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Worker threads use their own sessions; connections come from the pool.
        connect_args = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, connect_args=connect_args)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the window read while a worker writes; NORMAL is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (tests use this to start from an old schema)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _migrate(engine: Engine, backup_dir: Path | None) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(engine)
    head = script.get_current_head()
    if current == head:
        return
    if current is not None:
        try:
            script.get_revision(current)
        except CommandError as error:
            raise DatabaseTooNew(
                f"This database was written by a newer version of Callexa Desktop "
                f"(schema {current}); please install that version or newer to open it."
            ) from error
        if backup_dir is not None:
            backup = backup_database(engine, backup_dir, current)
            if backup:
                log.info("Backed up the database to %s before upgrading", backup)
    log.info("Upgrading the database schema from %s to %s", current, head)
    upgrade_to(engine)


def backup_database(engine: Engine, backup_dir: Path, label: str) -> Path | None:
    """Copy a SQLite database with SQLite's online backup; other databases are left to their DBA."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"callexa-before-upgrade-{label}-{stamp}.sqlite3"
    with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    copy.close()
    source.close()
    return target


def _describe(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    # Never echo credentials from a server URL.
    return parsed.render_as_string(hide_password=True)
