"""Bringing identify records in: store them, then decide who is surveyed and when.

An import runs in two passes so that a file of any size keeps memory flat:

1. *reading*: each file is streamed and its accepted records are inserted into
   ``identify_event`` in batches, one transaction per file, so a file refused
   midway (or a cancel) leaves none of its rows behind. A record whose message
   key is already stored is a duplicate: the unique index ignores it and it is
   counted. Rejected records are stored in ``rejection`` as they stream.
2. *deciding*: every undecided record -- this import's, and any left by an import
   that was interrupted between the passes -- is read back in event-time order
   and decided with ``decision.decide`` in one transaction, chunk by chunk:
   customers are created or updated, surveys scheduled, each record marked with
   its decision and survey.

A process killed during pass 1 keeps the files it finished (undecided, picked up
by the next import); one killed during pass 2 keeps nothing of that pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.decision import Outcome, Rules
from callexa_desktop.core.errors import DatabaseProblem, UnreadableFile
from callexa_desktop.core.import_storage import (
    Decider,
    Intake,
    advance_undecided_from,
    any_undecided,
    claim_undecided_from,
    fill_decision_order,
    larger_page_cache,
)
from callexa_desktop.core.models import Rejection
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.reading import read_identify_file
from callexa_desktop.core.records import IdentifyRecord, ReadItem, ReadNotice, RecordRejected

log = logging.getLogger(__name__)

# Rows per executemany in pass 1, and records per chunk in pass 2.
READ_BATCH = 5000
DECIDE_CHUNK = 5000
# Customers kept in memory while deciding (a few hundred bytes each).
CACHED_CUSTOMERS = 50_000
PROGRESS_INTERVAL = 0.1  # seconds between progress reports


@dataclass
class ImportProgress:
    """Where an import is, for a progress bar. ``phase`` is "reading" or "deciding"."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    records_read: int
    phase: str
    records_decided: int = 0
    records_to_decide: int = 0


@dataclass
class ImportSummary:
    """What an import did: counts, decisions per outcome, notices and refused files."""

    run_id: int
    files: list[str]
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Outcome.ALL, 0))
    notices: list[str] = field(default_factory=list)
    refused_files: list[tuple[str, str]] = field(default_factory=list)  # (file, sentence)
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (the ``import --json`` fields, without rejections)."""
        return {
            "run_id": self.run_id,
            "files": list(self.files),
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "decisions": dict(self.decisions),
            "notices": list(self.notices),
            "refused_files": [{"file": f, "message": m} for f, m in self.refused_files],
            "cancelled": self.cancelled,
        }


ProgressCallback = Callable[[ImportProgress], None]
CancelCheck = Callable[[], bool]


def import_files(
    profile: Profile,
    paths: Sequence[Path],
    *,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    kind: str = RunKind.IMPORT,
) -> ImportSummary:
    """Import identify files of any supported format and decide their records.

    A file that cannot be read at all is listed in ``refused_files`` and the
    others still import. Returns the summary; the run is in the Activity history.
    """
    files = [Path(p) for p in paths]
    job = _ImportJob(
        profile,
        kind=kind,
        names=[str(p) for p in files],
        source_text=", ".join(p.name for p in files),
        progress=progress,
        should_cancel=should_cancel,
        bytes_total=sum(_file_size(p) for p in files),
    )

    def opener(path: Path) -> Callable[[], Iterable[ReadItem]]:
        return lambda: read_identify_file(
            path, import_time=job.import_time, progress=job.on_file_bytes
        )

    return job.run([(str(p), opener(p)) for p in files])


def import_items(
    profile: Profile,
    items: Iterable[ReadItem],
    *,
    source: str,
    kind: str = RunKind.POLL,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> ImportSummary:
    """Import already-read items (a feed, a test) as one source named ``source``.

    ``items`` may raise ``UnreadableFile`` midway; that source is then refused
    and nothing of it is kept.
    """
    job = _ImportJob(
        profile,
        kind=kind,
        names=[source],
        source_text=source,
        progress=progress,
        should_cancel=should_cancel,
        bytes_total=0,
    )
    return job.run([(source, lambda: items)])


def iter_rejections(session: Session, run_id: int) -> Iterator[Rejection]:
    """The records an import rejected (file, line, reason, detail), in the order read."""
    query = (
        sqlmodel_select(Rejection)
        .where(Rejection.run_id == run_id)
        .order_by(col(Rejection.id))
        .execution_options(yield_per=1000)
    )
    yield from session.exec(query)


class _Cancelled(Exception):
    """Raised between batches when the operator asked to stop; rolls back the transaction."""


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _ImportJob:
    """One import: its run, its counts, its progress reports."""

    def __init__(
        self,
        profile: Profile,
        *,
        kind: str,
        names: list[str],
        source_text: str,
        progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
        bytes_total: int,
    ) -> None:
        self.profile = profile
        self.engine = profile.database.engine
        self.kind = kind
        self.names = names
        self.source_text = source_text
        self.import_time = profile.clock()
        self._progress = progress
        self._should_cancel = should_cancel
        self._last_report = 0.0
        self.files_done = 0
        self.bytes_total = bytes_total
        self.bytes_before = 0  # bytes of files already finished
        self.bytes_current = 0
        self.records_live = 0  # records read so far, including the current file's
        # The file being read: its records not written yet count in the progress too.
        self._intake: Intake | None = None
        self.decided = 0
        self.to_decide = 0
        self.phase = "reading"
        self.summary = ImportSummary(run_id=0, files=list(names))

    # Running

    def run(self, sources: Sequence[tuple[str, Callable[[], Iterable[ReadItem]]]]) -> ImportSummary:
        clock = self.profile.clock
        run_id = start_run(self.profile.database, self.kind, source=self.source_text, clock=clock)
        self.summary.run_id = run_id
        try:
            for name, open_items in sources:
                if self.summary.cancelled:
                    break
                self._read_source(name, open_items)
                self.files_done += 1
                self.bytes_before += self.bytes_current
                self.bytes_current = 0
            if self.summary.cancelled:
                self._note_left_undecided()
            else:
                self._decide_all()
        except SQLAlchemyError as error:
            reason = getattr(error, "orig", None) or type(error).__name__
            sentence = (
                f"The import could not write to the database ({reason}); the files read "
                "completely are kept and the next import decides their records."
            )
            self._record_failure(sentence)
            raise DatabaseProblem(sentence) from error
        except BaseException as error:
            self._record_failure(
                f"The import stopped because of an unexpected problem "
                f"({type(error).__name__}); nothing half-decided was kept."
            )
            raise
        self._report(force=True)
        status, message = self._outcome()
        finish_run(
            self.profile.database,
            run_id,
            status=status,
            summary=self.summary.as_dict(),
            message=message,
            clock=clock,
        )
        return self.summary

    def _record_failure(self, message: str) -> None:
        try:
            finish_run(
                self.profile.database,
                self.summary.run_id,
                status=RunStatus.FAILED,
                summary=self.summary.as_dict(),
                message=message,
                clock=self.profile.clock,
            )
        except SQLAlchemyError:  # the database is what failed; the caller reports that
            log.exception("could not record the failed import run %s", self.summary.run_id)

    def _outcome(self) -> tuple[str, str]:
        summary = self.summary
        if summary.cancelled:
            return RunStatus.CANCELLED, "The import was cancelled."
        if summary.refused_files and len(summary.refused_files) == len(self.names):
            return RunStatus.FAILED, " ".join(sentence for _, sentence in summary.refused_files)
        scheduled = summary.decisions[Outcome.SCHEDULED]
        message = (
            f"{summary.accepted} new records, {summary.duplicates} duplicates, "
            f"{summary.rejected} rejected; {scheduled} surveys scheduled."
        )
        if summary.refused_files:
            message += f" {len(summary.refused_files)} file(s) could not be read."
        return RunStatus.OK, message

    # Pass 1: reading

    def _read_source(self, name: str, open_items: Callable[[], Iterable[ReadItem]]) -> None:
        records_before = self.records_live
        notices: list[str] = []
        try:
            with (
                self.engine.connect() as connection,
                larger_page_cache(connection),
                connection.begin(),
            ):
                intake = self._intake = Intake(connection, self.summary.run_id)
                for item in open_items():
                    if isinstance(item, IdentifyRecord):
                        intake.add_record(item)
                    elif isinstance(item, RecordRejected):
                        intake.add_rejection(item)
                    elif isinstance(item, ReadNotice):
                        notices.append(item.message)
                    if intake.waiting >= READ_BATCH:
                        intake.flush()
                        self.records_live = records_before + intake.read
                        self._between_batches()
                intake.flush()
        except UnreadableFile as error:
            self._refuse(name, str(error), records_before)
            return
        except OSError as error:  # a reader should say UnreadableFile; never crash on it anyway
            reason = error.strerror or type(error).__name__
            self._refuse(name, f"The file {name} could not be read ({reason}).", records_before)
            return
        except _Cancelled:
            self.records_live = records_before
            self.summary.cancelled = True
            return
        finally:
            self._intake = None
        summary = self.summary
        summary.read += intake.read
        summary.accepted += intake.accepted
        summary.duplicates += intake.duplicates
        summary.rejected += intake.rejected
        summary.notices.extend(notices)
        self.records_live = records_before + intake.read
        self._report()

    def _refuse(self, name: str, sentence: str, records_before: int) -> None:
        log.warning("Import refused %s: %s", name, sentence)
        self.summary.refused_files.append((name, sentence))
        self.records_live = records_before

    def on_file_bytes(self, done: int, total: int) -> None:
        """Reader callback: raw bytes of the current file read so far."""
        self.bytes_current = done
        self._report()

    # Pass 2: deciding

    def _decide_all(self) -> None:
        self.phase = "deciding"
        with self.engine.connect() as connection:
            if not any_undecided(connection):
                return  # nothing new (a re-import, an empty poll): no write at all
        rules = Rules.from_settings(self.profile.settings())
        now = self.profile.clock()
        try:
            with (
                self.engine.connect() as connection,
                larger_page_cache(connection),
                connection.begin(),
            ):
                start = claim_undecided_from(connection, now)
                self.to_decide = fill_decision_order(connection, start)
                self._report(force=True)
                decider = Decider(
                    connection,
                    rules,
                    now,
                    self.summary.run_id,
                    chunk=DECIDE_CHUNK,
                    cached_customers=CACHED_CUSTOMERS,
                )
                while decided := decider.decide_next_chunk():
                    self.decided += decided
                    self._between_batches()
                decider.finish()
                advance_undecided_from(connection, start, now)
        except _Cancelled:
            self.summary.cancelled = True
            self._note_left_undecided()
            return
        for outcome, count in decider.decisions.items():
            self.summary.decisions[outcome] += count
        if decider.earlier_records:
            self.summary.notices.append(
                f"{decider.earlier_records} records left undecided by an earlier, interrupted "
                "import were decided now."
            )

    def _note_left_undecided(self) -> None:
        if self.summary.accepted:
            self.summary.notices.append(
                "The import was cancelled before its records were decided; the records already "
                "read are kept and the next import decides them."
            )

    # Progress and cancel

    def _between_batches(self) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise _Cancelled
        self._report()

    def _records_read(self) -> int:
        """Records read so far, with those of the current file still waiting to be written."""
        return self.records_live + (0 if self._intake is None else self._intake.waiting)

    def _report(self, *, force: bool = False) -> None:
        if self._progress is None:
            return
        moment = time.monotonic()
        if not force and moment - self._last_report < PROGRESS_INTERVAL:
            return
        self._last_report = moment
        self._progress(
            ImportProgress(
                files_done=self.files_done,
                files_total=len(self.names),
                bytes_done=min(self.bytes_before + self.bytes_current, self.bytes_total),
                bytes_total=self.bytes_total,
                records_read=self._records_read(),
                phase=self.phase,
                records_decided=self.decided,
                records_to_decide=self.to_decide,
            )
        )
