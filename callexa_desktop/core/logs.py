"""Logging set-up: a rotating log file in the profile's log folder."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from callexa_desktop.core.paths import log_dir


def setup_logging(data_dir: Path, *, level: int = logging.INFO) -> Path:
    """Send log records to ``<data_dir>/logs/callexa-desktop.log`` (rotated at 1 MB)."""
    folder = log_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "callexa-desktop.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_callexa", False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler._callexa = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return path
