"""The watched folder: import export files that are new or changed since the last check.

Each file's size and modification time are remembered in the ``cursor`` table
(``poll.folder:<path>``): what was seen at the previous check and what was last
imported. A file is imported when it differs from what was imported and is
*complete*: unchanged since the previous check, or untouched for
``SETTLE_SECONDS``. A file still being written is left for the next check.

A file that grew (records appended) is imported again whole; records already
stored are duplicates and change nothing, so only the new ones count.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from callexa_desktop.core.activity import RunKind
from callexa_desktop.core.importing import ImportSummary, import_files
from callexa_desktop.core.models import Cursor
from callexa_desktop.core.profile import Profile

log = logging.getLogger(__name__)

CURSOR_PREFIX = "poll.folder:"
# A file nobody has touched for this long is complete even on its first sighting.
SETTLE_SECONDS = 120
# Files that may hold identify records; anything else in the folder is left alone.
IDENTIFY_SUFFIXES = (".json", ".ndjson", ".jsonl", ".csv", ".tsv", ".txt")
# Partial downloads and office lock files, never complete.
TEMPORARY_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp")

Importer = Callable[[Profile, Sequence[Path]], ImportSummary]


@dataclass(frozen=True)
class FileState:
    """What the file system says about one file: size and modification/change times."""

    size: int
    mtime_ns: int
    touched_at: datetime  # the latest of modification and status change, aware UTC

    @property
    def version(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


@dataclass(frozen=True)
class Remembered:
    """What the cursor table says about one file."""

    seen: tuple[int, int] | None = None  # (size, mtime_ns) at the previous check
    imported: tuple[int, int] | None = None  # (size, mtime_ns) when last imported


@dataclass
class FolderPlan:
    """The outcome of comparing the folder with what was remembered."""

    ready: list[str] = field(default_factory=list)  # complete, new or changed: import now
    waiting: list[str] = field(default_factory=list)  # changed, maybe still being written


@dataclass
class FolderPoll:
    """What one check of the watched folder did."""

    folder: str
    imported_files: list[str] = field(default_factory=list)
    waiting_files: list[str] = field(default_factory=list)
    summary: ImportSummary | None = None
    problem: str | None = None  # a sentence when the folder could not be checked

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "imported_files": list(self.imported_files),
            "waiting_files": list(self.waiting_files),
            "import": self.summary.as_dict() if self.summary else None,
            "problem": self.problem,
        }


def poll_folder(profile: Profile, folder: Path, *, importer: Importer | None = None) -> FolderPoll:
    """Check ``folder`` once and import its complete new or changed files in one import run.

    ``importer(profile, paths)`` defaults to ``import_files(..., kind=poll)``.
    Never raises for a missing or unreadable folder: ``problem`` says why.
    """
    folder = folder.expanduser()
    result = FolderPoll(folder=str(folder))
    try:
        observed = observe_folder(folder)
    except OSError as error:
        result.problem = _folder_problem(folder, error)
        return result
    now = profile.clock()
    with profile.database.session() as session:
        remembered = load_remembered(session)
        plan = plan_folder(observed, remembered, now=now)
        # Remember this sighting first, so the next check can tell a settled file.
        save_seen(session, observed, remembered, now=now)
    result.waiting_files = plan.waiting
    if not plan.ready:
        return result
    run_import = importer or _import_as_poll
    result.summary = run_import(profile, [Path(name) for name in plan.ready])
    if not result.summary.cancelled:
        with profile.database.session() as session:
            mark_imported(session, {name: observed[name] for name in plan.ready}, now=now)
        result.imported_files = plan.ready
    return result


def plan_folder(
    observed: Mapping[str, FileState], remembered: Mapping[str, Remembered], *, now: datetime
) -> FolderPlan:
    """Which observed files to import now and which to leave for the next check (pure)."""
    plan = FolderPlan()
    settled_before = now - timedelta(seconds=SETTLE_SECONDS)
    for name in sorted(observed, key=lambda n: (observed[n].mtime_ns, n)):
        state = observed[name]
        memory = remembered.get(name, Remembered())
        if memory.imported == state.version:
            continue
        if memory.seen == state.version or state.touched_at <= settled_before:
            plan.ready.append(name)
        else:
            plan.waiting.append(name)
    return plan


def observe_folder(folder: Path) -> dict[str, FileState]:
    """The identify files directly in ``folder`` (not in subfolders), by full path.

    Raises OSError when the folder cannot be listed.
    """
    found: dict[str, FileState] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if not _looks_like_identify_file(entry.name):
                continue
            try:
                if not entry.is_file():
                    continue
                info = entry.stat()
            except OSError:  # vanished or unreadable between listing and looking
                continue
            touched_ns = max(info.st_mtime_ns, info.st_ctime_ns)
            found[str(Path(folder, entry.name))] = FileState(
                size=info.st_size,
                mtime_ns=info.st_mtime_ns,
                touched_at=datetime.fromtimestamp(touched_ns / 1e9, UTC),
            )
    return found


def load_remembered(session: Session) -> dict[str, Remembered]:
    """Every watched file the cursor table remembers, by full path."""
    rows = session.exec(select(Cursor).where(col(Cursor.name).startswith(CURSOR_PREFIX)))
    remembered: dict[str, Remembered] = {}
    for row in rows:
        try:
            value = json.loads(row.value)
            remembered[row.name[len(CURSOR_PREFIX) :]] = Remembered(
                seen=_version(value.get("seen")), imported=_version(value.get("imported"))
            )
        except (ValueError, AttributeError):  # a damaged row: the file counts as new
            log.warning("Ignoring an unreadable cursor %s", row.name)
    return remembered


def save_seen(
    session: Session,
    observed: Mapping[str, FileState],
    remembered: Mapping[str, Remembered],
    *,
    now: datetime,
) -> None:
    """Record this sighting of every file, and forget files that are no longer there."""
    for name, state in observed.items():
        memory = remembered.get(name, Remembered())
        if memory.seen != state.version:
            _store(session, name, Remembered(seen=state.version, imported=memory.imported), now)
    for name in set(remembered) - set(observed):
        row = session.get(Cursor, CURSOR_PREFIX + name)
        if row is not None:
            session.delete(row)


def mark_imported(session: Session, files: Mapping[str, FileState], *, now: datetime) -> None:
    """Remember that these files were imported as they are now."""
    for name, state in files.items():
        _store(session, name, Remembered(seen=state.version, imported=state.version), now)


def _store(session: Session, name: str, memory: Remembered, now: datetime) -> None:
    value = json.dumps({"seen": memory.seen, "imported": memory.imported})
    session.merge(Cursor(name=CURSOR_PREFIX + name, value=value, updated_at=now))


def _version(value: Any) -> tuple[int, int] | None:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[0], value[1])
    return None


def _looks_like_identify_file(name: str) -> bool:
    lowered = name.lower()
    if lowered.startswith((".", "~$")) or lowered.endswith(TEMPORARY_SUFFIXES):
        return False
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    return lowered.endswith(IDENTIFY_SUFFIXES)


def _import_as_poll(profile: Profile, paths: Sequence[Path]) -> ImportSummary:
    return import_files(profile, paths, kind=RunKind.POLL)


def _folder_problem(folder: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"The watched folder {folder} does not exist; check the setting or create it."
    if isinstance(error, NotADirectoryError):
        return f"The watched folder {folder} is a file, not a folder."
    if isinstance(error, PermissionError):
        return f"The watched folder {folder} cannot be read: permission denied."
    return f"The watched folder {folder} cannot be read: {error.strerror or error}."
