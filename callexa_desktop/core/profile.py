"""The profile: one explicit context (data folder, database, clock) handed to
the command line, the window and every core function that needs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callexa_desktop.core.clock import Clock, utc_now
from callexa_desktop.core.database import Database, open_database
from callexa_desktop.core.paths import database_url, default_data_dir
from callexa_desktop.core.settings import Settings, load_settings


@dataclass
class Profile:
    data_dir: Path
    database: Database
    clock: Clock = field(default=utc_now)
    demo: bool = False

    @classmethod
    def open(
        cls,
        data_dir: Path | None = None,
        *,
        clock: Clock = utc_now,
        demo: bool = False,
        url: str | None = None,
    ) -> Profile:
        """Open (creating and upgrading if needed) the profile in ``data_dir``."""
        folder = (data_dir or default_data_dir()).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        database = open_database(url or database_url(folder), backup_dir=folder / "backups")
        return cls(data_dir=folder, database=database, clock=clock, demo=demo)

    def settings(self) -> Settings:
        with self.database.session() as session:
            return load_settings(session)

    def close(self) -> None:
        self.database.dispose()
