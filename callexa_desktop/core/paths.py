"""Where a profile keeps its files: the platform data folder unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_DIR_NAME = "CallexaDesktop"
HOME_ENV = "CALLEXA_DESKTOP_HOME"
DATABASE_URL_ENV = "CALLEXA_DESKTOP_DATABASE_URL"


def default_data_dir() -> Path:
    """The data folder: ``CALLEXA_DESKTOP_HOME`` if set, else the platform's user data folder."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def log_dir(data_dir: Path) -> Path:
    """Log files live inside the profile so a throwaway profile leaves nothing behind."""
    return data_dir / "logs"


def database_path(data_dir: Path) -> Path:
    return data_dir / "callexa.sqlite3"


def database_url(data_dir: Path) -> str:
    """``CALLEXA_DESKTOP_DATABASE_URL`` if set (a server database), else SQLite in the profile."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{database_path(data_dir)}"
